package etcdserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"kube5/apiserver/internal/etcdserver"
	"kube5/apiserver/internal/etcdserver/etcdtest"
)

func TestStartPutGet(t *testing.T) {
	client, eps := etcdtest.Start(t)
	if len(eps) != 1 || !strings.HasPrefix(eps[0], "http://127.0.0.1:") || strings.HasSuffix(eps[0], ":0") {
		t.Fatalf("endpoints = %v, want one resolved loopback URL", eps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(ctx, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("got %v", resp.Kvs)
	}
}

// TestRestartKeepsData: the data directory survives a restart, as --data-dir promises.
func TestRestartKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	start := func() (*etcdserver.Server, *clientv3.Client) {
		t.Helper()
		s, err := etcdserver.Start(ctx, etcdserver.Config{
			DataDir: dir, ListenClientURL: "http://127.0.0.1:0", ListenPeerURL: "http://127.0.0.1:0",
			ElectionTimeout: 100 * time.Millisecond, HeartbeatInterval: 10 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		c, err := clientv3.New(clientv3.Config{Endpoints: s.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		return s, c
	}
	s, c := start()
	if _, err := c.Put(ctx, "/k", "persisted"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.Close()
	s.Close() // idempotent

	s, c = start()
	defer s.Close()
	defer c.Close()
	resp, err := c.Get(ctx, "/k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "persisted" {
		t.Fatalf("after restart: %v %v", resp, err)
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := etcdserver.Start(ctx, etcdserver.Config{}); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("no data dir: %v", err)
	}
	if _, err := etcdserver.Start(ctx, etcdserver.Config{DataDir: t.TempDir(), ListenClientURL: "127.0.0.1:2379"}); err == nil || !strings.Contains(err.Error(), "client URL") {
		t.Fatalf("bad URL: %v", err)
	}
}
