// Package testing starts kube-controller-manager in-process for tests (the kubelet
// stand-ins are in internal/controller/controllertest).
package testing

import (
	"context"
	"testing"

	"kube5/controller-manager/app"
	"kube5/controller-manager/app/options"
)

// TestServer is a controller-manager running in this process.
type TestServer struct {
	Server *app.Server
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, valid once done is closed
}

// Start runs a controller-manager against master, with leader election off, no HTTP
// port and all controllers, unless customize changes the options. It is stopped when the
// test ends.
func Start(t testing.TB, master string, customize func(*options.Options)) *TestServer {
	t.Helper()
	o := options.New()
	o.Master.Master = master
	o.LeaderElect = false
	o.Port = 0
	if customize != nil {
		customize(o)
	}
	o.Complete()
	if errs := o.Validate(app.KnownControllers()); len(errs) > 0 {
		t.Fatalf("invalid options: %v", errs)
	}
	s, err := app.Setup(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &TestServer{Server: s, cancel: cancel, done: make(chan struct{})}
	go func() {
		ts.err = s.Run(ctx)
		close(ts.done)
	}()
	t.Cleanup(func() { ts.Stop() })
	return ts
}

// Stop cancels the controller-manager and waits for it to stop; it returns Run's error.
// Stopping twice is harmless.
func (ts *TestServer) Stop() error {
	ts.cancel()
	<-ts.done
	return ts.err
}

// Done is closed when Run has returned (Err then holds its result).
func (ts *TestServer) Done() <-chan struct{} { return ts.done }

// Err is Run's result, once Done is closed.
func (ts *TestServer) Err() error { return ts.err }
