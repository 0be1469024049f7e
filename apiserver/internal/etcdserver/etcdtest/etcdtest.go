// Package etcdtest starts a real embedded etcd for a test: storage is never mocked
// (design.md §3).
package etcdtest

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"kube5/apiserver/internal/etcdserver"
)

// Start runs etcd on t.TempDir() and free loopback ports, and returns a client to it and
// its endpoints. Both are closed on t.Cleanup.
func Start(t testing.TB) (*clientv3.Client, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := etcdserver.Start(ctx, etcdserver.Config{
		DataDir:         t.TempDir(),
		ListenClientURL: "http://127.0.0.1:0",
		ListenPeerURL:   "http://127.0.0.1:0",
		UnsafeNoFsync:   true,
		// A single member elects itself after about one election timeout: keep it short.
		HeartbeatInterval: 10 * time.Millisecond,
		ElectionTimeout:   100 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	eps := srv.Endpoints()
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   eps,
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		srv.Close()
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() {
		client.Close()
		srv.Close()
	})
	return client, eps
}
