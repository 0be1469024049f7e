package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kube5/proto/portforward"
)

var (
	pfAppOnce sync.Once
	pfAppAddr string
)

// pfApp is what listens on port 80 of every fake pod: an HTTP server answering
// "hello from port 80". Shared by the tests of this binary.
func pfApp() string {
	pfAppOnce.Do(func() {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "hello from port 80")
		}))
		pfAppAddr = s.Listener.Addr().String()
	})
	return pfAppAddr
}

// portForward is the kubelet's /portForward/{ns}/{pod}?ports=N: port 80 reaches pfApp,
// others are refused in the real kubelet's words.
func (k *fakeKubelet) portForward(w http.ResponseWriter, r *http.Request) {
	pod := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	port, err := portforward.ParsePort(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	k.mu.Lock()
	k.queries = append(k.queries, fmt.Sprintf("portforward %s %d", pod, port))
	k.mu.Unlock()
	if port != 80 {
		http.Error(w, fmt.Sprintf("error forwarding port %d to pod %s, uid u: dial tcp4 127.0.0.1:%d: connect: connection refused", port, pod, port), http.StatusInternalServerError)
		return
	}
	conn, err := net.Dial("tcp", pfApp())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	s, err := portforward.Accept(w)
	if err != nil {
		return
	}
	if err := portforward.Splice(conn, s); err != nil {
		s.Fail(err)
		return
	}
	s.Close()
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// forwarding is a `kubectl port-forward` running in the background.
type forwarding struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	// local maps each "-> REMOTE" of the Forwarding lines to the local address.
	local map[string]string
}

var forwardingRE = regexp.MustCompile(`(?m)^Forwarding from (\S+) -> (\d+)$`)

// startPortForward runs kubectl port-forward and waits for want Forwarding lines.
func (e *env) startPortForward(want int, args ...string) *forwarding {
	e.t.Helper()
	cmd := exec.Command(kubectlBin, append([]string{"--server=" + e.server, "port-forward"}, args...)...)
	cmd.Env = []string{"HOME=" + e.home, "PATH=" + os.Getenv("PATH")}
	f := &forwarding{cmd: cmd, out: &syncBuffer{}, err: &syncBuffer{}, local: map[string]string{}}
	cmd.Stdout, cmd.Stderr = f.out, f.err
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := forwardingRE.FindAllStringSubmatch(f.out.String(), -1)
		if len(m) >= want {
			for _, l := range m {
				f.local[l[2]] = l[1]
			}
			return f
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("kubectl port-forward %v: no %d Forwarding lines after 30s\nstdout:\n%s\nstderr:\n%s", args, want, f.out, f.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends Ctrl-C and returns the exit code.
func (f *forwarding) stop(t *testing.T) int {
	t.Helper()
	_ = f.cmd.Process.Signal(syscall.SIGINT)
	return f.wait(t)
}

// wait returns the exit code once kubectl ends (within 30s).
func (f *forwarding) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f.cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("kubectl port-forward did not end within 30s\nstdout:\n%s\nstderr:\n%s", f.out, f.err)
		return -1
	}
}

// httpOver sends a GET on an open connection and returns the body.
func httpOver(c net.Conn) (string, error) {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestPortForward(t *testing.T) {
	t.Parallel()
	e, fk := streamsCluster(t)

	// A pod by name: a free local port per remote one, on 127.0.0.1 (--address default
	// localhost), until Ctrl-C.
	f := e.startPortForward(2, "web-1", ":80", ":81")
	l80, l81 := f.local["80"], f.local["81"]
	if !strings.HasPrefix(l80, "127.0.0.1:") || !strings.HasPrefix(l81, "127.0.0.1:") || l80 == l81 {
		t.Fatalf("forwarding lines: %q", f.out)
	}
	// Two connections open at once, each answered through its own stream.
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", l80)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		if body, err := httpOver(c); err != nil || body != "hello from port 80" {
			t.Fatalf("connection %d: %q %v", i, body, err)
		}
	}
	_, port80, _ := net.SplitHostPort(l80)
	wantContains(t, "handling lines", f.out.String(), "Handling connection for "+port80+"\n")

	// A port nobody listens on in the pod: the local connection is closed and the error
	// said, and kubectl goes on forwarding.
	c, err := net.Dial("tcp", l81)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Fatalf("refused port answered %q", b)
	}
	c.Close()
	_, port81, _ := net.SplitHostPort(l81)
	want := "an error occurred forwarding " + port81 + " -> 81: error forwarding port 81 to pod web-1, uid u: dial tcp4 127.0.0.1:81: connect: connection refused"
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(f.err.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr %q lacks %q", f.err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, err = net.Dial("tcp", l80)
	if err != nil {
		t.Fatal(err)
	}
	if body, err := httpOver(c); err != nil || body != "hello from port 80" {
		t.Fatalf("after an error: %q %v", body, err)
	}
	c.Close()
	if code := f.stop(t); code != 0 {
		t.Fatalf("exit code %d after Ctrl-C; stderr %q", code, f.err)
	}

	// A service forwards to its targetPort on a pod it selects; without a local port
	// given, the local one is the service's (here a free one, ":8080").
	e.ok("create", "service", "clusterip", "web", "--tcp=8080:80")
	f = e.startPortForward(1, "svc/web", ":8080", "--address", "127.0.0.1")
	if !strings.HasPrefix(f.local["80"], "127.0.0.1:") {
		t.Fatalf("svc: %q", f.out)
	}
	c, err = net.Dial("tcp", f.local["80"])
	if err != nil {
		t.Fatal(err)
	}
	if body, err := httpOver(c); err != nil || body != "hello from port 80" {
		t.Fatalf("svc: %q %v", body, err)
	}
	c.Close()
	f.stop(t)
	fk.mu.Lock()
	q := strings.Join(fk.queries, "\n")
	fk.mu.Unlock()
	if !regexp.MustCompile(`portforward web-[12] 80`).MatchString(q) {
		t.Errorf("the kubelet was not asked for a web pod's port 80: %q", q)
	}
	// deployment/NAME: one of its pods.
	e.ok("create", "deployment", "web", "--image=kube5/httpenv:1.0")
	f = e.startPortForward(1, "deployment/web", ":80")
	f.stop(t)

	wantEqual(t, "no ports", e.fails("port-forward", "web-1"), "error: TYPE/NAME and list of ports are required for port-forward\n")
	wantEqual(t, "completed", e.fails("port-forward", "done", "80"), "error: unable to forward port because pod is not running. Current status=Succeeded\n")
	wantEqual(t, "bad local", e.fails("port-forward", "web-1", "x:80"), "error: error parsing local port 'x': strconv.ParseUint: parsing \"x\": invalid syntax\n")
	wantEqual(t, "zero remote", e.fails("port-forward", "web-1", "80:0"), "error: remote port cannot be zero\n")
	wantEqual(t, "bad address", e.fails("port-forward", "web-1", "80", "--address", "nowhere"), "error: nowhere is not a valid IP\n")
	wantEqual(t, "missing pod", e.fails("port-forward", "nope", "80"), "Error from server (NotFound): pods \"nope\" not found\n")
	wantEqual(t, "svc port", e.fails("port-forward", "svc/web", "9999"), "error: Service web does not have a service port 9999\n")
	wantEqual(t, "named port", e.fails("port-forward", "web-1", "8080:http"), "error: Pod 'web-1' does not have a named port 'http'\n")

	// The pod deleted under a port-forward: upstream's "lost connection to pod", exit 1.
	f = e.startPortForward(1, "web-2", ":80")
	e.ok("delete", "pod", "web-2", "--grace-period=0", "--force")
	if code := f.wait(t); code != 1 || f.err.String() != "error: lost connection to pod\n" {
		t.Fatalf("pod deleted under port-forward: exit %d, stderr %q; want 1 and upstream's error", code, f.err)
	}

	// A local port already taken: upstream's two lines, and no forwarding.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, bp, _ := net.SplitHostPort(busy.Addr().String())
	wantEqual(t, "busy port", e.fails("port-forward", "web-1", bp+":80"),
		"Unable to listen on port "+bp+": Listeners failed to create with the following errors: [unable to create listener: Error listen tcp 127.0.0.1:"+bp+": bind: address already in use]\n"+
			"error: unable to listen on any of the requested ports: [{"+bp+" 80}]\n")
}
