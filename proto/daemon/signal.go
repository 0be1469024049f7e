package daemon

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
)

// SignalContext returns a context cancelled on the first SIGINT or SIGTERM, so the daemon
// can stop cleanly; a second signal exits at once with code 1, for when the clean stop
// hangs. Call it once per process.
func SignalContext() context.Context {
	ctx, _ := signalContext(func(code int) {
		klog.Flush()
		os.Exit(code)
	})
	return ctx
}

// signalContext is SignalContext with the exit injected; stop undoes it (for tests).
func signalContext(exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	stopped := make(chan struct{})
	go func() {
		select {
		case sig := <-signals:
			klog.InfoS("Received signal, shutting down (send it again to exit at once)", "signal", sig.String())
			cancel()
		case <-stopped:
			return
		}
		select {
		case sig := <-signals:
			klog.InfoS("Received second signal, exiting immediately", "signal", sig.String())
			exit(1)
		case <-stopped:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(stopped)
	}
}
