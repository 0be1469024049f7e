package iptablesproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/netnstest"
	"kube5/proxy/internal/podnet"
	"kube5/proxy/internal/proxy"
)

// kernelNode is a node namespace with a pod bridge, pods serving their own IP on TCP
// 8080 and UDP 5353, the service CIDR guard, and a proxier programming the namespace.
type kernelNode struct {
	node *netnstest.NS
	pods []*netnstest.Pod
	p    *Proxier
	ipt  iptables.Interface
	dial func(network, addr string, timeout time.Duration) (net.Conn, error)
}

func newKernelNode(t *testing.T, pods int) *kernelNode {
	node := netnstest.New(t, "node")
	node.NewBridge(t, "cbr0", "10.244.1.1/24")
	if err := podnet.EnsureServiceGuard(context.Background(), node.Exec(), "kube5-svc", "10.0.0.0/24"); err != nil {
		t.Fatal(err)
	}
	k := &kernelNode{node: node}
	for i := range pods {
		pod := node.AddPod(t, "cbr0", fmt.Sprintf("10.244.1.%d/24", i+2), "10.244.1.1")
		pod.ServeIP(t)
		k.pods = append(k.pods, pod)
	}
	k.ipt = iptables.New(node.Exec())
	k.p = New(Config{IPTables: k.ipt, ClusterCIDR: "10.244.0.0/16", SyncPeriod: time.Hour, ChainsPerTransaction: 2})
	k.p.Tracker.SetSynced(true, true)
	k.dial = node.Dialer(t)
	return k
}

func (k *kernelNode) podIPs(n int) []string {
	var ips []string
	for _, p := range k.pods[:n] {
		ips = append(ips, p.IP)
	}
	return ips
}

// get connects to addr and returns what the backend said.
func (k *kernelNode) get(network, addr string) (string, error) {
	c, err := k.dial(network, addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if network == "udp" {
		if _, err := c.Write([]byte("who")); err != nil {
			return "", err
		}
		buf := make([]byte, 100)
		n, err := c.Read(buf)
		return string(buf[:n]), err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// chiSquareOK tests counts against equal shares; the threshold has a false-alarm rate of
// 1e-6 with 2 degrees of freedom (for which the chi-square tail is exp(-x/2)), so the
// test does not flake while a 50/25/25 split (chi-square 75 at 600 samples) fails it.
func chiSquareOK(t *testing.T, counts map[string]int, backends []string, total int) {
	t.Helper()
	expected := float64(total) / float64(len(backends))
	chi := 0.0
	for _, b := range backends {
		d := float64(counts[b]) - expected
		chi += d * d / expected
	}
	limit := -2 * math.Log(1e-6) * float64(len(backends)-1) / 2
	t.Logf("shares over %d connections: %v (chi-square %.2f, limit %.1f)", total, counts, chi, limit)
	if chi > limit {
		t.Errorf("connections not spread equally: %v (chi-square %.1f > %.1f)", counts, chi, limit)
	}
	if len(counts) != len(backends) {
		t.Errorf("connections reached %v, want exactly %v", counts, backends)
	}
}

func TestKernelClusterIP(t *testing.T) {
	k := newKernelNode(t, 3)
	// Rules of others (Docker's shape, a user's) must survive syncs and --cleanup.
	k.node.MustRun(t, "iptables", "-t", "nat", "-N", "DOCKER")
	k.node.MustRun(t, "iptables", "-t", "nat", "-A", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER")
	k.node.MustRun(t, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE")
	k.node.MustRun(t, "iptables", "-t", "filter", "-A", "FORWARD", "-i", "cbr0", "-j", "ACCEPT")
	before := saveAll(t, k.node)

	sticky := svc("sticky", "10.0.0.11", "ClusterIP", port("", "TCP", 80, 0))
	sticky.Spec.SessionAffinity = "ClientIP"
	for _, s := range []*corev1.Service{
		svc("web", "10.0.0.10", "ClusterIP", port("", "TCP", 80, 0)),
		sticky,
		svc("empty", "10.0.0.12", "ClusterIP", port("", "TCP", 80, 0)),
		svc("dns", "10.0.0.13", "ClusterIP", port("dns", "UDP", 53, 0)),
	} {
		k.p.Tracker.ServiceChanged("default", s.Metadata.Name, s)
	}
	k.p.Tracker.EndpointsChanged("default", "web", eps("web", k.podIPs(3), epPort("", "TCP", 8080)))
	k.p.Tracker.EndpointsChanged("default", "sticky", eps("sticky", k.podIPs(3), epPort("", "TCP", 8080)))
	k.p.Tracker.EndpointsChanged("default", "dns", eps("dns", k.podIPs(3), epPort("dns", "UDP", 5353)))
	k.p.SyncOnce()
	if k.p.needFullSync {
		t.Fatal("sync failed")
	}

	t.Run("equal shares", func(t *testing.T) {
		counts := map[string]int{}
		const total = 600
		for range total {
			got, err := k.get("tcp", "10.0.0.10:80")
			if err != nil {
				t.Fatal(err)
			}
			counts[got]++
		}
		chiSquareOK(t, counts, k.podIPs(3), total)
	})
	t.Run("session affinity", func(t *testing.T) {
		first, err := k.get("tcp", "10.0.0.11:80")
		if err != nil {
			t.Fatal(err)
		}
		for range 50 {
			if got, err := k.get("tcp", "10.0.0.11:80"); err != nil || got != first {
				t.Fatalf("affinity broken: got %q (%v), want %q", got, err, first)
			}
		}
	})
	t.Run("no endpoints rejects", func(t *testing.T) {
		start := time.Now()
		_, err := k.get("tcp", "10.0.0.12:80")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial to a service without endpoints: %v, want connection refused", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("refusal took %s", d)
		}
	})
	t.Run("udp", func(t *testing.T) {
		seen := map[string]int{}
		for range 60 { // each new client socket is a new conntrack flow
			got, err := k.get("udp", "10.0.0.13:53")
			if err != nil {
				t.Fatal(err)
			}
			seen[got]++
		}
		if len(seen) != 3 {
			t.Fatalf("UDP reached %v, want all three pods", seen)
		}
	})
	t.Run("nodeport", func(t *testing.T) {
		k.p.Tracker.ServiceChanged("default", "np", svc("np", "10.0.0.20", "NodePort", port("", "TCP", 80, 30080)))
		k.p.Tracker.EndpointsChanged("default", "np", eps("np", k.podIPs(3), epPort("", "TCP", 8080)))
		k.p.SyncOnce()
		seen := map[string]bool{}
		for range 60 { // a backend missed by 60 random picks: 3*(2/3)^60, 1e-10
			got, err := k.get("tcp", "10.244.1.1:30080")
			if err != nil {
				t.Fatal(err)
			}
			seen[got] = true
		}
		if len(seen) != 3 {
			t.Fatalf("NodePort reached %v, want all three pods", seen)
		}
	})
	t.Run("from a pod", func(t *testing.T) {
		// A client pod reaches the ClusterIP through the node's PREROUTING; the reply
		// from a backend on the same bridge is un-DNATed because bridged traffic passes
		// iptables (br_netfilter, which Docker and the kubelet enable).
		if _, err := k.node.Run("sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"); err != nil {
			t.Skipf("br_netfilter unavailable: %v", err)
		}
		client := k.node.AddPod(t, "cbr0", "10.244.1.100/24", "10.244.1.1")
		dial := client.Dialer(t)
		seen := map[string]bool{}
		for range 60 { // a backend missed by 60 random picks: 3*(2/3)^60, 1e-10
			c, err := dial("tcp", "10.0.0.10:80", 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(3 * time.Second))
			b, err := io.ReadAll(c)
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			seen[string(b)] = true
		}
		if len(seen) != 3 {
			t.Fatalf("pod client reached %v, want all three pods", seen)
		}
	})
	t.Run("partial sync follows changes", func(t *testing.T) {
		// web loses a pod, empty gets one, sticky goes away, a new service comes.
		k.p.Tracker.EndpointsChanged("default", "web", eps("web", k.podIPs(2), epPort("", "TCP", 8080)))
		k.p.Tracker.EndpointsChanged("default", "empty", eps("empty", k.podIPs(1), epPort("", "TCP", 8080)))
		k.p.Tracker.ServiceChanged("default", "sticky", nil)
		k.p.Tracker.ServiceChanged("default", "new", svc("new", "10.0.0.14", "ClusterIP", port("", "TCP", 80, 0)))
		k.p.Tracker.EndpointsChanged("default", "new", eps("new", k.podIPs(3)[2:], epPort("", "TCP", 8080)))
		k.p.SyncOnce()
		if k.p.needFullSync || k.p.lastPlan.topEdits == 0 {
			t.Fatalf("partial sync failed or did not edit: %d chains written, %d deleted, %d top-level edits", k.p.lastPlan.chainsWritten, k.p.lastPlan.chainsDeleted, k.p.lastPlan.topEdits)
		}
		for range 30 {
			got, err := k.get("tcp", "10.0.0.10:80")
			if err != nil || got == k.pods[2].IP {
				t.Fatalf("web answered %q (%v) after losing %s", got, err, k.pods[2].IP)
			}
		}
		if got, err := k.get("tcp", "10.0.0.12:80"); err != nil || got != k.pods[0].IP {
			t.Fatalf("empty answered %q (%v) after getting an endpoint", got, err)
		}
		if got, err := k.get("tcp", "10.0.0.14:80"); err != nil || got != k.pods[2].IP {
			t.Fatalf("new answered %q (%v)", got, err)
		}
		if strings.Contains(k.node.MustRun(t, "iptables-save"), "default/sticky") {
			t.Fatalf("rules of the deleted service remain")
		}
	})
	t.Run("full sync repairs outside edits", func(t *testing.T) {
		k.node.MustRun(t, "iptables", "-t", "nat", "-F", string(svcChain(proxy.ServicePortName{NamespacedName: proxy.NamespacedName{Namespace: "default", Name: "web"}, Protocol: "TCP"})))
		k.node.MustRun(t, "iptables", "-t", "nat", "-D", "OUTPUT", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES")
		k.p.needFullSync = true
		k.p.SyncOnce()
		if got, err := k.get("tcp", "10.0.0.10:80"); err != nil || got == "" {
			t.Fatalf("after a full sync: %q, %v", got, err)
		}
	})
	t.Run("cleanup restores the tables", func(t *testing.T) {
		if err := Cleanup(k.ipt, nil, nil); err != nil {
			t.Fatal(err)
		}
		if after := saveAll(t, k.node); after != before {
			t.Fatalf("tables after cleanup differ from before:\n%s\n--- before:\n%s", after, before)
		}
	})
}

var saveNoise = regexp.MustCompile(`(?m)^#.*\n|\[\d+:\d+\]`)

// saveAll is iptables-save without comments and counters.
func saveAll(t *testing.T, n *netnstest.NS) string {
	return saveNoise.ReplaceAllString(n.MustRun(t, "iptables-save"), "")
}
