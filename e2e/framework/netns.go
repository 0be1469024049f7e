package framework

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
	"time"
)

// NetNS is a network namespace the harness made (`ip netns add`): a node of a multi-node
// cluster, or the hub that holds the nodes' bridge.
type NetNS struct {
	Name string
	// Path is /var/run/netns/<Name>, what `nsenter --net=` and setns take.
	Path string
}

// newNetNS creates the namespace name with loopback up.
func newNetNS(name string) (*NetNS, error) {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	ns := &NetNS{Name: name, Path: "/var/run/netns/" + name}
	if _, err := ns.Run("ip", "link", "set", "lo", "up"); err != nil {
		_ = ns.delete()
		return nil, err
	}
	return ns, nil
}

// delete removes the namespace's name; the kernel frees it (and every link, route and
// rule in it) once no process is left inside.
func (ns *NetNS) delete() error {
	if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", ns.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Command is name with args run inside the namespace. It enters with nsenter --net only:
// `ip netns exec` would also remount /sys, which hides the cgroups dockerd needs.
func (ns *NetNS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + ns.Path, "--", name}, args...)...)
}

// Run runs a command inside the namespace (at most two minutes) and returns its
// combined output; the error holds the output too.
func (ns *NetNS) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := ns.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s %s: %v: %s", ns.Name, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// DialContext connects from inside the namespace: the socket is made on an OS thread
// that entered the namespace (setns), and a socket stays in the namespace it was made in
// whatever thread uses it later. The thread goes back to the test's namespace before it
// is given back to the Go scheduler, and is never ended: a daemon started with
// Pdeathsig (StartProcess) gets its signal when the thread that forked it ends, not the
// process, so a goroutine ending while locked to a thread may stop a daemon of the test.
func (ns *NetNS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			res <- result{err: err}
			return
		}
		defer home.Close()
		target, err := os.Open(ns.Path)
		if err != nil {
			runtime.UnlockOSThread()
			res <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			res <- result{err: fmt.Errorf("setns %s: %v", ns.Path, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		res <- result{c, err}
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread is stuck in the node's namespace: it must run nothing else,
			// and ending it could signal a daemon (see above). Park it for good.
			fmt.Fprintf(os.Stderr, "e2e: a thread could not leave the network namespace %s (%v): parking it\n", ns.Path, err)
			select {}
		}
		runtime.UnlockOSThread()
	}()
	r := <-res
	return r.c, r.err
}

// HTTPClient is a client whose connections start inside the namespace, one connection
// per request (no keep-alive: every request is a new connection, so kube-proxy picks
// a backend for each), each bounded by timeout.
func (ns *NetNS) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: ns.DialContext, DisableKeepAlives: true}}
}
