// Package nsdial connects to a TCP address from inside another network namespace (a
// pod's), the way upstream's dockershim reached a pod's localhost with nsenter for
// port-forward: the socket is created in the pod's namespace and then works from any
// thread, so only its creation needs the namespace switch.
package nsdial

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netns"
	"k8s.io/klog/v2"
)

// Dial connects to addr (an IPv4 literal with a port, e.g. "127.0.0.1:8080") from the
// network namespace at nsPath (e.g. /proc/<pid>/ns/net).
func Dial(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("opening the network namespace %s: %w", nsPath, err)
	}
	defer target.Close()
	type result struct {
		conn net.Conn
		err  error
	}
	res := make(chan result, 1)
	// A goroutine of its own: should the thread fail to get its namespace back, it must
	// stay locked so that it ends with this goroutine, instead of running other
	// goroutines inside the pod's network.
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			res <- result{nil, fmt.Errorf("reading the kubelet's own network namespace: %w", err)}
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			// setns failed: the thread is still in its own namespace.
			runtime.UnlockOSThread()
			res <- result{nil, fmt.Errorf("entering the network namespace %s (the kubelet needs CAP_SYS_ADMIN): %w", nsPath, err)}
			return
		}
		// "tcp4" and a literal address: one socket, created by this goroutine on this
		// thread (no resolver, no parallel dials on other goroutines).
		var d net.Dialer
		conn, derr := d.DialContext(ctx, "tcp4", addr)
		if err := netns.Set(orig); err != nil {
			klog.ErrorS(err, "Could not restore a thread's network namespace after dialing into a pod; the thread is discarded", "netns", nsPath)
			res <- result{conn, derr}
			return // still locked: the runtime ends the thread with this goroutine
		}
		runtime.UnlockOSThread()
		res <- result{conn, derr}
	}()
	r := <-res
	return r.conn, r.err
}
