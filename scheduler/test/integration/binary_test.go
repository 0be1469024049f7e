package integration

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kube5/proto/apiservertest"
)

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kube-scheduler")
	if out, err := exec.Command("go", "build", "-o", bin, "kube5/scheduler").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinary: the built kube-scheduler names the flag to fix on a bad start, serves
// /healthz on --port, schedules, and exits 0 on SIGTERM.
func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--master"},
		{[]string{"--master=http://127.0.0.1:1", "--bind-address=nowhere"}, "--bind-address"},
		{[]string{"--master=http://127.0.0.1:1", "--leader-elect-lease-duration=1s"}, "--leader-elect-lease-duration"},
	} {
		out, err := exec.Command(bin, c.args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: err %v, output %q; want exit 2 naming %s", c.args, err, out, c.want)
		}
	}

	s := apiservertest.Start(t)
	createNodes(t, s.Client, node("node-1", "2", "4Gi"))
	port := apiservertest.FreePort(t)
	var log syncBuffer
	cmd := exec.Command(bin, "--master="+s.URL, "--port="+strconv.Itoa(port), "--bind-address=127.0.0.1",
		"--leader-elect-lease-duration=2s", "--leader-elect-renew-deadline=1500ms", "--leader-elect-retry-period=250ms", "-v=2")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	defer func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	waitFor(t, 30*time.Second, "/healthz", func() (bool, string) {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	createPods(t, s.Client, pod("web", "100m"))
	waitBound(t, s.Client, "web")
	// The watch can show the pod bound before the binding call returns to the scheduler.
	waitFor(t, 10*time.Second, "the -v=2 binding log line", func() (bool, string) {
		return strings.Contains(log.String(), "Successfully bound pod to node"), log.String()
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("exit after SIGTERM: %v; log:\n%s", waitErr, log.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20s after SIGTERM; log:\n%s", log.String())
	}
}

// syncBuffer is a bytes.Buffer safe to read while the process writes to it.
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

// TestLeaderTakeoverAfterKill: two kube-scheduler processes; the leader is killed with
// SIGKILL (no lease release), and the standby takes over once the lease expires.
func TestLeaderTakeoverAfterKill(t *testing.T) {
	bin := buildBinary(t)
	s := apiservertest.Start(t)
	createNodes(t, s.Client, node("node-1", "2", "4Gi"))
	type proc struct {
		cmd  *exec.Cmd
		log  *syncBuffer
		done chan struct{}
	}
	var procs []*proc
	for i := 0; i < 2; i++ {
		p := &proc{log: &syncBuffer{}, done: make(chan struct{})}
		p.cmd = exec.Command(bin, "--master="+s.URL, "--port=0", "--bind-address=127.0.0.1",
			"--leader-elect-lease-duration=2s", "--leader-elect-renew-deadline=1500ms", "--leader-elect-retry-period=250ms")
		p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			_ = p.cmd.Wait()
			close(p.done)
		}()
		t.Cleanup(func() {
			_ = p.cmd.Process.Kill()
			<-p.done
		})
		procs = append(procs, p)
	}
	leads := func(p *proc) bool { return strings.Contains(p.log.String(), "Started leading") }
	var leader, standby *proc
	waitFor(t, 30*time.Second, "a leader", func() (bool, string) {
		switch {
		case leads(procs[0]) && leads(procs[1]):
			t.Fatal("both lead")
		case leads(procs[0]):
			leader, standby = procs[0], procs[1]
		case leads(procs[1]):
			leader, standby = procs[1], procs[0]
		}
		return leader != nil, "no leader yet"
	})
	createPods(t, s.Client, pod("before", "100m"))
	waitBound(t, s.Client, "before")

	if err := leader.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-leader.done
	killed := time.Now()
	createPods(t, s.Client, pod("after", "100m"))
	waitBound(t, s.Client, "after")
	if !leads(standby) {
		t.Fatalf("pod bound but the standby never led; its log:\n%s", standby.log.String())
	}
	t.Logf("standby took over and bound a pod %v after the leader was killed (lease 2s)", time.Since(killed).Round(10*time.Millisecond))
}
