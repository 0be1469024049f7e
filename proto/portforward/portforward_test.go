package portforward

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// upperServer is a pod's port: it reads until the client is done sending, then answers
// the bytes in upper case and closes; it needs the half-close to get through.
func upperServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				_, _ = c.Write([]byte(strings.ToUpper(string(b))))
			}()
		}
	}()
	return l.Addr().String()
}

// kubeletLike serves ?ports=1 by splicing to target, ?ports=2 by failing after the
// upgrade, and refuses anything else before it.
func kubeletLike(t *testing.T, target string) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		port, err := ParsePort(r.URL.Query())
		if err != nil || !IsUpgrade(r) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch port {
		case 1:
			conn, err := net.Dial("tcp", target)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer conn.Close()
			s, err := Accept(w)
			if err != nil {
				return
			}
			if err := Splice(conn, s); err != nil {
				s.Fail(err)
				return
			}
			s.Close()
		case 2:
			s, err := Accept(w)
			if err != nil {
				return
			}
			s.Fail(errors.New("error forwarding port 2 to pod p, uid u: connection reset by peer"))
		default:
			http.Error(w, "error forwarding port 3 to pod p, uid u: connection refused", 500)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestHalfCloseErrorsAndRefusals(t *testing.T) {
	ts := kubeletLike(t, upperServer(t))
	ctx := context.Background()

	// Data goes both ways and the client's half-close reaches the pod's port, whose
	// answer still comes back.
	s, err := Dial(ctx, ts.URL+"/portForward/ns/p?ports=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("abc", 1<<19) // over MaxFrame: split into several frames
	go func() {
		_, _ = s.Write([]byte(big))
		_ = s.CloseWrite()
	}()
	got, err := io.ReadAll(s)
	s.Close()
	if err != nil || string(got) != strings.ToUpper(big) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}

	// An error after the upgrade is the reader's error, with the kubelet's words.
	s, err = Dial(ctx, ts.URL+"/portForward/ns/p?ports=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(s)
	s.Close()
	if err == nil || err.Error() != "error forwarding port 2 to pod p, uid u: connection reset by peer" {
		t.Fatalf("error frame: %v", err)
	}

	// A refusal before the upgrade is an UpgradeError carrying the body.
	_, err = Dial(ctx, ts.URL+"/portForward/ns/p?ports=3", nil)
	var ue *UpgradeError
	if !errors.As(err, &ue) || ue.StatusCode != 500 || !strings.Contains(string(ue.Body), "connection refused") {
		t.Fatalf("refusal: %v", err)
	}
}

func TestParsePort(t *testing.T) {
	for q, want := range map[string]string{
		"":                  "a port is required",
		"ports=0":           `invalid port "0"`,
		"ports=70000":       `invalid port "70000"`,
		"ports=x":           `invalid port "x"`,
		"ports=80&ports=81": "one port per connection",
	} {
		v, _ := parseQuery(q)
		if _, err := ParsePort(v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", q, err, want)
		}
	}
	v, _ := parseQuery("ports=8080")
	if p, err := ParsePort(v); err != nil || p != 8080 {
		t.Errorf("8080: %d %v", p, err)
	}
}

func parseQuery(q string) (map[string][]string, error) {
	r, err := http.NewRequest("GET", "http://x/?"+q, nil)
	if err != nil {
		return nil, err
	}
	return r.URL.Query(), nil
}
