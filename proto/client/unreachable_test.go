package client_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/client/testserver"
)

// syncBuffer is a bytes.Buffer klog may write to while the test reads it.
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
	klog.Flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureKlog sends klog's output to a buffer until the test ends.
func captureKlog(t *testing.T) *syncBuffer {
	buf := &syncBuffer{}
	klog.LogToStderr(false)
	klog.SetOutputBySeverity("INFO", buf) // INFO gets every severity; the others would repeat lines
	t.Cleanup(func() {
		klog.SetOutput(os.Stderr)
		klog.LogToStderr(true)
	})
	return buf
}

// closedPort returns a loopback address nothing listens on (it did a moment ago).
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachableReported: a daemon's client (ServerFlag set) pointed at an apiserver
// that is not up logs, at its first request, the address, the cause and the flag to
// check; repeats nothing while the failures go on within the quiet interval; and says
// so once the apiserver is up and answering, with no help from the caller.
func TestUnreachableReported(t *testing.T) {
	logs := captureKlog(t)
	addr := closedPort(t)
	c, err := client.New(client.Config{Server: "http://" + addr, ServerFlag: "--master", Timeout: 5 * time.Second,
		DialOptions: []grpc.DialOption{fastReconnect}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for range 20 {
		_, err = c.Pods("default").Get(ctx, "a")
		if !client.IsUnreachable(err) {
			t.Fatalf("get while the apiserver is down: IsUnreachable(%v) = false", err)
		}
	}
	if _, err := c.Pods("default").Watch(ctx, client.ListOptions{}); !client.IsUnreachable(err) {
		t.Fatalf("watch while the apiserver is down: IsUnreachable(%v) = false", err)
	}
	want := "Cannot reach the apiserver at http://" + addr + " (connection refused); is kube-apiserver running? Check --master. Retrying."
	if got := logs.String(); strings.Count(got, "Cannot reach the apiserver") != 1 || !strings.Contains(got, want) {
		t.Fatalf("want exactly one line %q; log:\n%s", want, got)
	}

	srv := testserver.New()
	if err := srv.Listen(addr); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Pods("default").Get(ctx, "a")
		if apierrors.IsNotFound(err) {
			if client.IsUnreachable(err) {
				t.Fatalf("IsUnreachable(%v) = true for the server's answer", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("apiserver up for 10s, the client still fails: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := logs.String(); !strings.Contains(got, "Reached the apiserver at http://"+addr) {
		t.Fatalf("no recovery line; log:\n%s", got)
	}

	// Down again: a new outage is news, logged at once, here through a watch.
	srv.Stop()
	for deadline := time.Now().Add(10 * time.Second); strings.Count(logs.String(), "Cannot reach the apiserver") < 2; {
		if w, err := c.Pods("").Watch(ctx, client.ListOptions{}); err == nil {
			w.Stop()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second outage is not logged; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUnreachableSilentWithoutFlag: kubectl's client (no ServerFlag) logs nothing; the
// error it returns names the address, and kubectl prints it.
func TestUnreachableSilentWithoutFlag(t *testing.T) {
	logs := captureKlog(t)
	addr := closedPort(t)
	c, err := client.New(client.Config{Server: "http://" + addr, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Pods("default").Get(context.Background(), "a")
	if !client.IsUnreachable(err) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("want an unreachable error naming %s, got %v", addr, err)
	}
	if got := logs.String(); got != "" {
		t.Fatalf("a client without ServerFlag logged:\n%s", got)
	}
}

func TestIsUnreachable(t *testing.T) {
	for _, err := range []error{nil, apierrors.NewServiceUnavailable("etcd is unavailable"),
		apierrors.NewNotFound(apierrors.GroupResource{Resource: "pods"}, "a"), context.Canceled} {
		if client.IsUnreachable(err) {
			t.Errorf("IsUnreachable(%v) = true", err)
		}
	}
}
