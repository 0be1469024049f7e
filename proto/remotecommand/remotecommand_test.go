package remotecommand

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestRequestQueryRoundTrip(t *testing.T) {
	r := Request{Command: []string{"sh", "-c", "echo a&b"}, Stdin: true, Stdout: true, TTY: true}
	got := ParseRequest(r.Query(url.Values{"container": {"c"}}))
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip: %+v, want %+v", got, r)
	}
	// Absent stdout/stderr mean on (a bare ?command=x shows output); a tty merges stderr.
	if d := ParseRequest(url.Values{"command": {"x"}}); !d.Stdout || !d.Stderr || d.Stdin || d.TTY {
		t.Fatalf("defaults: %+v", d)
	}
	if d := ParseRequest(url.Values{"command": {"x"}, "tty": {"1"}, "stderr": {"1"}}); d.Stderr {
		t.Fatalf("stderr with a tty: %+v", d)
	}
}

// Writes larger than a frame are split, and frames of both channels stay whole.
func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	big := bytes.Repeat([]byte("x"), MaxFrame+10)
	if n, err := fw.ChannelWriter(ChannelStdout).Write(big); err != nil || n != len(big) {
		t.Fatal(n, err)
	}
	if err := fw.Write(ChannelStderr, []byte("e")); err != nil {
		t.Fatal(err)
	}
	var got []int
	for {
		ch, p, err := ReadFrame(&buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, int(ch), len(p))
	}
	if want := []int{ChannelStdout, MaxFrame, ChannelStdout, 10, ChannelStderr, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("frames %v, want %v", got, want)
	}
	if err := fw.Write(ChannelStdout, big); err == nil {
		t.Fatal("an oversized frame was written")
	}
}

// Accept and Exec against each other: stdin, stdout, stderr, resize, exit code, and a
// refusal before the upgrade.
func TestSession(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsUpgrade(r) {
			http.Error(w, "no upgrade", http.StatusBadRequest)
			return
		}
		req := ParseRequest(r.URL.Query())
		s, err := Accept(w, req)
		if err != nil {
			t.Error(err)
			return
		}
		sz := <-s.Resize
		in, _ := io.ReadAll(s.Stdin)
		io.WriteString(s.Stdout, strings.ToUpper(string(in)))
		if s.Stderr != nil {
			t.Error("stderr with a tty")
		}
		s.Finish(int(sz.Width), nil)
	}))
	defer ts.Close()
	resize := make(chan Resize, 1)
	resize <- Resize{Width: 9, Height: 1}
	var out bytes.Buffer
	q := Request{Command: []string{"up"}, Stdin: true, Stdout: true, TTY: true}.Query(nil)
	code, err := Exec(context.Background(), ts.URL+"/?"+q.Encode(), StreamOptions{Stdin: strings.NewReader("abc"), Stdout: &out, Resize: resize})
	close(resize)
	if err != nil || code != 9 || out.String() != "ABC" {
		t.Fatalf("exec: %q %d %v", out.String(), code, err)
	}
	resp, err := http.Post(ts.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("plain POST: %d", resp.StatusCode)
	}
}
