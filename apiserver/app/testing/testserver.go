// Package testing starts a real kube-apiserver in-process on a real embedded etcd, for
// integration tests (design.md §7): free loopback ports, temp dirs, stopped on cleanup.
package testing

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"kube5/apiserver/app"
	"kube5/apiserver/app/options"
	"kube5/apiserver/internal/etcdserver/etcdtest"
	"kube5/proto/client"
)

// TestServer is a running apiserver.
type TestServer struct {
	// URL is http://127.0.0.1:PORT, for REST and for client.Config.Server.
	URL string
	// Client is a client of the server.
	Client *client.Clientset
	// EtcdEndpoints are the etcd client URLs.
	EtcdEndpoints []string

	opts   *options.Options
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts an apiserver on a fresh embedded etcd. customize may change the options
// before start (the port is chosen freely unless set).
func Start(t testing.TB, customize ...func(*options.Options)) *TestServer {
	t.Helper()
	_, endpoints := etcdtest.Start(t)
	return StartWithEtcd(t, endpoints, customize...)
}

// StartWithEtcd starts an apiserver on an etcd the caller runs (benchmarks use a durable
// one: etcdtest's skips fsync).
func StartWithEtcd(t testing.TB, endpoints []string, customize ...func(*options.Options)) *TestServer {
	t.Helper()
	o := options.New()
	o.EtcdServers = endpoints
	o.BindAddress = "127.0.0.1"
	o.Port = 0 // a free port, chosen by the listener: no race with parallel test processes
	o.EtcdCompactionInterval = 0
	o.SchedulerHealthURL = "http://127.0.0.1:1/healthz"
	o.ControllerManagerHealthURL = "http://127.0.0.1:1/healthz"
	for _, c := range customize {
		c(o)
	}
	ts := &TestServer{opts: o, EtcdEndpoints: endpoints}
	ts.start(t)
	cli, err := client.New(client.Config{Server: ts.URL, UserAgent: "integration-test"})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	ts.Client = cli
	t.Cleanup(func() {
		cli.Close()
		ts.Stop()
	})
	return ts
}

func (ts *TestServer) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := app.Setup(ctx, ts.opts)
	if err != nil {
		cancel()
		t.Fatalf("starting kube-apiserver: %v", err)
	}
	ts.cancel, ts.done = cancel, make(chan struct{})
	if ts.URL == "" {
		// Restarts come back on the same port, for the clients' sake.
		_, port, _ := net.SplitHostPort(s.Addr())
		ts.opts.Port, _ = strconv.Atoi(port)
		ts.URL = "http://127.0.0.1:" + port
	}
	go func() {
		defer close(ts.done)
		if err := s.Run(ctx); err != nil {
			t.Errorf("kube-apiserver: %v", err)
		}
	}()
	if err := waitHealthy(ts.URL, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Stop stops the apiserver (etcd keeps running); Restart starts it again on the same port.
func (ts *TestServer) Stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	<-ts.done
	ts.cancel = nil
}

// Restart stops and starts the apiserver on the same port and etcd.
func (ts *TestServer) Restart(t testing.TB) {
	t.Helper()
	ts.Stop()
	ts.start(t)
}

func waitHealthy(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz answered %d", resp.StatusCode)
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver at %s not ready after %v: %v", url, timeout, last)
}
