package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
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

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/portforward"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPortForward forwards a local port to an httpenv pod's 8888 the way a user does:
// the kubectl binary, through the real apiserver, to the kubelet, which connects to
// 127.0.0.1:8888 inside the pod's network namespace (nothing listens there on the
// host, so an answer proves the connection was made inside the pod).
func TestPortForward(t *testing.T) {
	requireDocker(t)
	kubectl := filepath.Join(t.TempDir(), "kubectl")
	if out, err := exec.Command("go", "build", "-o", kubectl, "kube5/kubectl").CombinedOutput(); err != nil {
		t.Fatalf("go build kube5/kubectl: %v\n%s", err, out)
	}
	api := apiservertest.Start(t)
	cs := api.Client
	const node = "kubelet-portforward-test"
	cleanupNode(t, node)
	startKubelet(t, api, node, t.TempDir(), "")
	waitFor(t, "the node registered", 30*time.Second, func() (bool, error) {
		_, err := cs.Nodes().Get(context.Background(), node)
		return err == nil, err
	})
	createPod(t, cs, newPod("httpenv", node, &corev1.Container{Name: "httpenv", Image: "kube5/httpenv:1.0"}))
	pod := waitPod(t, cs, "default", "httpenv", "Running", 60*time.Second, running)

	cmd := exec.Command(kubectl, "--server="+api.URL, "port-forward", "pod/httpenv", ":8888")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	re := regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+) -> 8888\n`)
	var local string
	waitFor(t, "kubectl's Forwarding line", 30*time.Second, func() (bool, error) {
		m := re.FindStringSubmatch(stdout.String())
		if m != nil {
			local = m[1]
		}
		return m != nil, errors.New("stdout: " + stdout.String() + " stderr: " + stderr.String())
	})

	// Two connections open at once, each gets the pod's JSON.
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", local)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: httpenv\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v (kubectl stderr %q)", i, err, stderr.String())
		}
		var env map[string]string
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || env["HOSTNAME"] != "httpenv" {
			t.Fatalf("connection %d: %v %v", i, env, err)
		}
	}

	// A port nobody listens on in the pod: the kubelet's refusal, through the apiserver.
	_, err := portforward.Dial(context.Background(), api.URL+"/api/v1/namespaces/default/pods/httpenv/portforward?ports=9", nil)
	var ue *portforward.UpgradeError
	want := "error forwarding port 9 to pod httpenv, uid " + pod.GetMetadata().GetUid() + ": dial tcp4 127.0.0.1:9: connect: connection refused"
	if !errors.As(err, &ue) || !strings.Contains(string(ue.Body), want) {
		t.Fatalf("refused port: %v, want %q", err, want)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("kubectl port-forward after Ctrl-C: %v (stderr %q)", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("kubectl port-forward did not end on Ctrl-C")
	}
}
