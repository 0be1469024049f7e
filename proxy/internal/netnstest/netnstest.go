// Package netnstest gives proxy tests network namespaces of their own, so they run real
// iptables, routes and traffic without touching the host: everything a test programs
// lives in a namespace it created, and deleting the namespace at the end of the test
// removes every rule, route, bridge and veth in it, even when the test failed.
package netnstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kube5/proxy/internal/iptables"
)

// NS is a network namespace made by a test.
type NS struct {
	Name string
	Path string
}

// Available reports why namespaces with iptables cannot be used here ("" if they can).
func Available() string {
	if os.Geteuid() != 0 {
		return "not root: network namespace tests need CAP_SYS_ADMIN and CAP_NET_ADMIN"
	}
	for _, bin := range []string{"ip", "nsenter", "iptables", "iptables-restore", "iptables-save"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Sprintf("%s not installed (apt-get install -y iptables iproute2 util-linux)", bin)
		}
	}
	return ""
}

// New creates a namespace with loopback up; it is deleted when the test ends. The test
// is skipped, saying why, when namespaces or iptables are unavailable.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip(why)
	}
	name := fmt.Sprintf("k5t-%s-%06d", prefix, rand.IntN(1000000))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	n := &NS{Name: name, Path: "/var/run/netns/" + name}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("deleting namespace %s: %v: %s", name, err, out)
		}
	})
	n.MustRun(t, "ip", "link", "set", "lo", "up")
	if out, err := n.Exec()(context.Background(), "iptables-save", []string{"-t", "nat"}, nil); err != nil {
		t.Skipf("iptables does not work in a namespace here: %v: %s", err, out)
	}
	return n
}

// Exec runs commands inside the namespace.
func (n *NS) Exec() iptables.Exec {
	return iptables.HostExec("nsenter", "--net="+n.Path)
}

// Run runs a command inside the namespace.
func (n *NS) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := n.Exec()(ctx, args[0], args[1:], nil)
	if err != nil {
		return string(out), fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// MustRun runs a command inside the namespace and fails the test on error.
func (n *NS) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := n.Run(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Do runs fn on an OS thread that has entered the namespace: sockets fn creates belong
// to the namespace and keep working from any goroutine afterwards. The thread is never
// returned to the Go scheduler (the goroutine exits locked, which ends the thread), so
// no other goroutine ever runs in the namespace by accident.
func (n *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(n.Path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %v", n.Path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Listen opens a listener inside the namespace, closed when the test ends.
func (n *NS) Listen(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := n.Do(func() (err error) { ln, err = net.Listen(network, addr); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// ListenPacket opens a packet listener inside the namespace, closed when the test ends.
func (n *NS) ListenPacket(t testing.TB, network, addr string) net.PacketConn {
	t.Helper()
	var pc net.PacketConn
	if err := n.Do(func() (err error) { pc, err = net.ListenPacket(network, addr); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// Dial connects from inside the namespace.
func (n *NS) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() (err error) { c, err = net.DialTimeout(network, addr, timeout); return })
	return c, err
}

// Dialer returns a dialer whose sockets are created inside the namespace; unlike Dial it
// needs one thread for its lifetime (close stop to end it), which makes it cheap for
// hundreds of connections.
func (n *NS) Dialer(t testing.TB) (dial func(network, addr string, timeout time.Duration) (net.Conn, error)) {
	t.Helper()
	type req struct {
		network, addr string
		timeout       time.Duration
		res           chan dialRes
	}
	reqs := make(chan req)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	ready := make(chan error, 1)
	go func() {
		_ = n.Do(func() error {
			ready <- nil
			for {
				select {
				case <-stop:
					return nil
				case r := <-reqs:
					c, err := net.DialTimeout(r.network, r.addr, r.timeout)
					r.res <- dialRes{c, err}
				}
			}
		})
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	return func(network, addr string, timeout time.Duration) (net.Conn, error) {
		res := make(chan dialRes, 1)
		reqs <- req{network, addr, timeout, res}
		r := <-res
		return r.c, r.err
	}
}

type dialRes struct {
	c   net.Conn
	err error
}

// Pod is a namespace attached to a bridge in the node namespace by a veth, like a
// container on the kubelet's bridge.
type Pod struct {
	*NS
	IP string
}

// NewBridge creates a bridge in n with gateway/prefix as its address (e.g. 10.244.1.1/24),
// enables forwarding, and returns it for AddPod.
func (n *NS) NewBridge(t testing.TB, name, gatewayCIDR string) {
	t.Helper()
	n.MustRun(t, "ip", "link", "add", name, "type", "bridge")
	n.MustRun(t, "ip", "addr", "add", gatewayCIDR, "dev", name)
	n.MustRun(t, "ip", "link", "set", name, "up")
	n.MustRun(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
}

// AddPod creates a pod namespace with ipCIDR (e.g. 10.244.1.2/24) on bridge, default
// route via gateway.
func (n *NS) AddPod(t testing.TB, bridge, ipCIDR, gateway string) *Pod {
	t.Helper()
	pod := New(t, "pod")
	ip, _, _ := strings.Cut(ipCIDR, "/")
	host := fmt.Sprintf("vh%06d", rand.IntN(1000000))
	n.MustRun(t, "ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", pod.Name)
	n.MustRun(t, "ip", "link", "set", host, "master", bridge, "up")
	pod.MustRun(t, "ip", "addr", "add", ipCIDR, "dev", "eth0")
	pod.MustRun(t, "ip", "link", "set", "eth0", "up")
	pod.MustRun(t, "ip", "route", "add", "default", "via", gateway)
	return &Pod{NS: pod, IP: ip}
}

// ServeIP answers every TCP connection on 8080 and every datagram on 5353 with the
// pod's IP, so a client sees which backend it reached.
func (p *Pod) ServeIP(t testing.TB) {
	t.Helper()
	ln := p.Listen(t, "tcp", p.IP+":8080")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, p.IP)
			c.Close()
		}
	}()
	pc := p.ListenPacket(t, "udp", p.IP+":5353")
	go func() {
		buf := make([]byte, 1500)
		for {
			_, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(p.IP), addr)
		}
	}()
}
