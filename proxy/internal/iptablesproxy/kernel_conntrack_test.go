package iptablesproxy

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"kube5/proxy/internal/conntrack"
)

// udpAsk sends one datagram from pc (always the same source port) and returns the
// answer, or an error after timeout.
func udpAsk(pc net.PacketConn, addr string, timeout time.Duration) (string, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return "", err
	}
	if _, err := pc.WriteTo([]byte("who"), ua); err != nil {
		return "", err
	}
	pc.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 100)
	n, _, err := pc.ReadFrom(buf)
	return string(buf[:n]), err
}

// conntrackFlows lists the IPv4 conntrack entries of the namespace at nsPath.
func conntrackFlows(t *testing.T, nsPath string) []*netlink.ConntrackFlow {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	flows, err := h.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	return flows
}

// udpEntries lists the UDP conntrack entries of the namespace at nsPath whose original
// destination is ip:port.
func udpEntries(t *testing.T, nsPath, ip string, port uint16) []*netlink.ConntrackFlow {
	t.Helper()
	var out []*netlink.ConntrackFlow
	for _, f := range conntrackFlows(t, nsPath) {
		if f.Forward.Protocol == unix.IPPROTO_UDP && f.Forward.DstIP.Equal(net.ParseIP(ip)) && f.Forward.DstPort == port {
			out = append(out, f)
		}
	}
	return out
}

// waitFor polls ask until it returns want or the deadline passes.
func waitFor(t *testing.T, what, want string, ask func() (string, error)) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	var got string
	var err error
	for time.Now().Before(deadline) {
		if got, err = ask(); err == nil && got == want {
			return
		}
	}
	t.Fatalf("%s: still answered %q (%v) after 3s, want %q", what, got, err, want)
}

// TestKernelUDPConntrackCleanup runs a UDP client that keeps one source port, as DNS
// resolvers and streaming clients do, against services whose endpoints change. Each
// case runs twice: on a service synced without conntrack cleanup, to show the kernel
// keeps the client's flow where it was (so the check can fail), and on one synced with
// it, where the client's next datagrams follow the new rules.
func TestKernelUDPConntrackCleanup(t *testing.T) {
	k := newKernelNode(t, 2)
	ct := conntrack.NewAt(k.node.Path)
	t.Cleanup(ct.Close)
	pod0, pod1 := k.pods[0].IP, k.pods[1].IP
	udpSvc := func(name, ip string) {
		k.p.Tracker.ServiceChanged("default", name, svc(name, ip, "ClusterIP", port("dns", "UDP", 53, 0)))
	}
	udpEps := func(name string, ips ...string) {
		k.p.Tracker.EndpointsChanged("default", name, eps(name, ips, epPort("dns", "UDP", 5353)))
	}
	sync := func(cleanup bool) {
		t.Helper()
		k.p.cfg.Conntrack = nil
		if cleanup {
			k.p.cfg.Conntrack = ct
		}
		k.p.SyncOnce()
		if k.p.needFullSync {
			t.Fatal("sync failed")
		}
	}
	client := func() net.PacketConn {
		// One socket, so every datagram has the same source port: one conntrack flow.
		return k.node.ListenPacket(t, "udp", "0.0.0.0:0")
	}

	t.Run("endpoint replaced", func(t *testing.T) {
		const stale, fresh = "10.0.0.30", "10.0.0.31"
		udpSvc("stale", stale)
		udpSvc("fresh", fresh)
		udpEps("stale", pod0)
		udpEps("fresh", pod0)
		sync(true)
		cStale, cFresh := client(), client()
		for _, c := range []struct {
			pc   net.PacketConn
			addr string
		}{{cStale, stale + ":53"}, {cFresh, fresh + ":53"}} {
			if got, err := udpAsk(c.pc, c.addr, 3*time.Second); err != nil || got != pod0 {
				t.Fatalf("%s answered %q (%v), want %s", c.addr, got, err, pod0)
			}
		}

		// Without cleanup the flow stays DNATed to the removed endpoint.
		udpEps("stale", pod1)
		sync(false)
		for range 5 {
			if got, err := udpAsk(cStale, stale+":53", 3*time.Second); err != nil || got != pod0 {
				t.Fatalf("without conntrack cleanup the client reached %q (%v); want the removed %s, or this test cannot tell the cleanup works", got, err, pod0)
			}
		}

		udpEps("fresh", pod1)
		sync(true)
		for _, f := range udpEntries(t, k.node.Path, fresh, 53) {
			if f.Reverse.SrcIP.Equal(net.ParseIP(pod0)) {
				t.Fatalf("the entry to the removed endpoint survived the sync: %s", f)
			}
		}
		waitFor(t, "client of the service whose endpoint was replaced", pod1, func() (string, error) {
			return udpAsk(cFresh, fresh+":53", 300*time.Millisecond)
		})
	})

	t.Run("first endpoint", func(t *testing.T) {
		// Datagrams sent before the service is proxied die on the service guard bridge,
		// and their flow is recorded without a DNAT.
		const stale, fresh = "10.0.0.40", "10.0.0.41"
		cStale, cFresh := client(), client()
		for _, c := range []struct {
			pc   net.PacketConn
			addr string
		}{{cStale, stale + ":53"}, {cFresh, fresh + ":53"}} {
			if got, err := udpAsk(c.pc, c.addr, 100*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("%s answered %q (%v) before it was a service", c.addr, got, err)
			}
		}

		udpSvc("stale2", stale)
		udpEps("stale2", pod0)
		sync(false)
		entries := udpEntries(t, k.node.Path, stale, 53)
		if len(entries) != 1 || !entries[0].Reverse.SrcIP.Equal(net.ParseIP(stale)) {
			t.Fatalf("without conntrack cleanup want the client's un-NATed entry to remain, got %v", entries)
		}
		if got, err := udpAsk(cStale, stale+":53", 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("without conntrack cleanup the client got %q (%v); want no answer, or this test cannot tell the cleanup works", got, err)
		}

		udpSvc("fresh2", fresh)
		udpEps("fresh2", pod0)
		sync(true)
		waitFor(t, "client of the service that got its first endpoint", pod0, func() (string, error) {
			return udpAsk(cFresh, fresh+":53", 300*time.Millisecond)
		})
	})

	t.Run("tcp flows untouched", func(t *testing.T) {
		// A TCP connection to an endpoint that goes away is not cut by kube-proxy.
		k.p.Tracker.ServiceChanged("default", "web", svc("web", "10.0.0.50", "ClusterIP", port("", "TCP", 80, 0)))
		k.p.Tracker.EndpointsChanged("default", "web", eps("web", []string{pod0}, epPort("", "TCP", 8080)))
		udpEps("fresh", pod0) // and a UDP change in the same sync, so a cleanup runs
		sync(true)
		if got, err := k.get("tcp", "10.0.0.50:80"); err != nil || got != pod0 {
			t.Fatalf("web answered %q (%v)", got, err)
		}
		before := tcpEntries(t, k.node.Path, "10.0.0.50")
		if before == 0 {
			t.Fatal("no TCP conntrack entry for the connection just made")
		}
		k.p.Tracker.EndpointsChanged("default", "web", eps("web", []string{pod1}, epPort("", "TCP", 8080)))
		udpEps("fresh", pod1)
		sync(true)
		if after := tcpEntries(t, k.node.Path, "10.0.0.50"); after != before {
			t.Fatalf("TCP conntrack entries to the service went from %d to %d across the sync", before, after)
		}
	})
}

// tcpEntries counts the TCP conntrack entries to ip in the namespace.
func tcpEntries(t *testing.T, nsPath, ip string) int {
	t.Helper()
	n := 0
	for _, f := range conntrackFlows(t, nsPath) {
		if f.Forward.Protocol == unix.IPPROTO_TCP && f.Forward.DstIP.Equal(net.ParseIP(ip)) {
			n++
		}
	}
	return n
}
