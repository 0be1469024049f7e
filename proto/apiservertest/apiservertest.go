// Package apiservertest runs a real kube-apiserver — the built binary, on its embedded
// etcd in a temp dir, on free loopback ports — for the tests of the other modules
// (kubectl, scheduler, controller-manager, kubelet, proxy). Modules import only
// kube5/proto (design.md §1), so they cannot start the apiserver in-process; a separate
// process is also what a user runs.
//
// The binary comes from $KUBE5_APISERVER when set (make test sets it to bin/), else it is
// built once per test process with `go build kube5/apiserver` (the workspace's go.work
// makes that work from any module).
package apiservertest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kube5/proto/client"
)

// Server is a running kube-apiserver process.
type Server struct {
	// URL is http://127.0.0.1:PORT (REST and gRPC).
	URL string
	// Client is a typed client of the server.
	Client *client.Clientset

	args []string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   sync.Mutex
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a kube-apiserver binary, building it if needed.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KUBE5_APISERVER"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kube5-apiservertest-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kube-apiserver")
		out, err := exec.Command("go", "build", "-o", binPath, "kube5/apiserver").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build kube5/apiserver: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// FreePort returns a loopback port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs a kube-apiserver with extra flags; it is stopped (and its etcd data removed)
// when the test ends. Its log is printed when the test failed.
func Start(t testing.TB, extraFlags ...string) *Server {
	t.Helper()
	// Port 0 everywhere: the processes pick free ports themselves, so parallel test
	// processes never race for one; the API's port is read from the log.
	s := &Server{}
	s.args = append([]string{
		"--data-dir=" + t.TempDir(),
		"--embedded-etcd-listen-client-url=http://127.0.0.1:0",
		"--embedded-etcd-listen-peer-url=http://127.0.0.1:0",
		"--etcd-compaction-interval=0",
		"--scheduler-health-url=http://127.0.0.1:1/healthz",
		"--controller-manager-health-url=http://127.0.0.1:1/healthz",
	}, extraFlags...)
	s.log = &bytes.Buffer{}
	s.start(t)
	cli, err := client.New(client.Config{Server: s.URL, UserAgent: "apiservertest"})
	if err != nil {
		t.Fatal(err)
	}
	s.Client = cli
	t.Cleanup(func() {
		cli.Close()
		s.Stop()
		if t.Failed() {
			t.Logf("kube-apiserver log:\n%s", s.Log())
		}
	})
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	port := "0"
	if s.URL != "" { // a restart comes back on the same port, for the clients' sake
		port = s.URL[strings.LastIndex(s.URL, ":")+1:]
	}
	cmd := exec.Command(Binary(t), append(s.args, "--insecure-port="+port)...)
	cmd.Stdout, cmd.Stderr = &lockedWriter{s}, &lockedWriter{s}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		t.Fatalf("starting kube-apiserver: %v", err)
	}
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if s.URL == "" {
			m := servingRE.FindStringSubmatch(s.Log())
			if m == nil {
				time.Sleep(25 * time.Millisecond)
				continue
			}
			s.URL = "http://" + m[1]
		}
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.Stop()
	t.Fatalf("kube-apiserver at %s not ready within 60s; log:\n%s", s.URL, s.Log())
}

// Stop stops the process with SIGTERM (its data stays until the test ends).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the process and starts it again on the same port and data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

// Log is what the process printed so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// servingRE finds the address in kube-apiserver's "Serving the API" log line.
var servingRE = regexp.MustCompile(`"Serving the API[^"]*" address="([^"]+)"`)

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(p)
}
