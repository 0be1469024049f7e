package app

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"kube5/apiserver/internal/etcdserver"
)

// lines collects what a reporter logs.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) log(failed bool, msg string, _ ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, fmt.Sprintf("%v %s", failed, msg))
}

func (l *lines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.all {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
	}
}

// TestEtcdUnreachable: an apiserver whose --etcd-servers does not answer says so within
// seconds, naming the address, the cause and the flag; it keeps waiting without a flood
// of lines; it goes on by itself once etcd is up; and a running apiserver's monitor
// reports etcd going away and coming back.
func TestEtcdUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	endpoints := []string{url}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{etcdReconnect}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var got lines
	r := newEtcdReporter(endpoints, false)
	r.Log = got.log

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- waitForEtcd(ctx, cli, endpoints, r, nil) }()
	want := "true Cannot reach etcd at " + url + " (connection refused); is etcd running? Check --etcd-servers, or omit it to run an embedded etcd. Retrying."
	waitFor(t, 10*time.Second, "line "+want, func() bool { return got.count(want) == 1 })

	startEtcd := func() *etcdserver.Server {
		srv, err := etcdserver.Start(ctx, etcdserver.Config{DataDir: t.TempDir(), ListenClientURL: url,
			ListenPeerURL: "http://127.0.0.1:0", UnsafeNoFsync: true,
			HeartbeatInterval: 10 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatalf("starting etcd on %s: %v", url, err)
		}
		return srv
	}
	srv := startEtcd()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("waitForEtcd: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("etcd up for 30s, still waiting; lines:\n%s", got.String())
	}
	if n := got.count("Cannot reach etcd"); n > 3 {
		t.Errorf("%d failure lines in a few seconds: a flood; lines:\n%s", n, got.String())
	}
	if got.count("false Reached etcd at "+url) != 1 {
		t.Fatalf("no recovery line; lines:\n%s", got.String())
	}

	// Running: etcd goes away, the monitor says so; it comes back, the monitor says so.
	mctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); monitorEtcd(mctx, cli, endpoints, r) }()
	defer func() { stop(); <-done }()
	srv.Close()
	waitFor(t, 30*time.Second, "failure line from the monitor", func() bool { return got.count("Cannot reach etcd") >= 2 })
	srv = startEtcd()
	defer srv.Close()
	waitFor(t, 30*time.Second, "recovery line from the monitor", func() bool { return got.count("Reached etcd") >= 2 })
}

// TestEtcdCause: the etcd client only says "deadline exceeded"; the cause comes from
// dialing the endpoints.
func TestEtcdCause(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	open := "http://" + l.Addr().String()
	c, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := c.Addr().String()
	c.Close()
	ctx := context.Background()
	if got := etcdCause(ctx, []string{closed}, context.DeadlineExceeded); got != "connection refused" {
		t.Errorf("closed port: %q", got)
	}
	if got := etcdCause(ctx, []string{open}, context.DeadlineExceeded); !strings.Contains(got, "accepts connections but gave no answer") {
		t.Errorf("silent listener: %q", got)
	}
	if got := etcdCause(ctx, []string{"unix:///run/etcd.sock"}, context.DeadlineExceeded); got != "no answer within 2s" {
		t.Errorf("unix socket: %q", got)
	}
}
