package podnet

import (
	"context"
	"strings"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/netnstest"
)

func node(name, cidr, ip string) *corev1.Node {
	return &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: name},
		Spec:     &corev1.NodeSpec{PodCidr: cidr},
		Status:   &corev1.NodeStatus{Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: ip}}},
	}
}

func TestKernelRoutesFollowNodes(t *testing.T) {
	ns := netnstest.New(t, "routes")
	// The nodes' network: a bridge standing for the LAN between nodes.
	ns.NewBridge(t, "lan0", "192.168.77.1/24")
	ctx := context.Background()
	r := NewRoutes(Config{Exec: ns.Exec(), NodeName: "node-1"})
	r.NodeChanged("node-1", node("node-1", "10.244.1.0/24", "192.168.77.1"))
	r.NodeChanged("node-2", node("node-2", "10.244.2.0/24", "192.168.77.2"))
	r.NodeChanged("node-3", node("node-3", "10.244.3.0/24", "192.168.77.3"))
	r.NodeChanged("no-cidr", node("no-cidr", "", "192.168.77.4"))
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	routes := func() string { return ns.MustRun(t, "ip", "-4", "route", "show", "proto", RouteProto) }
	got := routes()
	for _, want := range []string{"10.244.2.0/24 via 192.168.77.2", "10.244.3.0/24 via 192.168.77.3"} {
		if !strings.Contains(got, want) {
			t.Fatalf("routes %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "10.244.1.0/24") {
		t.Fatalf("route to the own podCIDR: %q", got)
	}
	// node-3 moves, node-2 goes; a route someone else added stays.
	ns.MustRun(t, "ip", "route", "add", "10.99.0.0/24", "via", "192.168.77.9")
	r.NodeChanged("node-3", node("node-3", "10.244.3.0/24", "192.168.77.33"))
	r.NodeChanged("node-2", nil)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got = routes()
	if strings.Contains(got, "10.244.2.0/24") || !strings.Contains(got, "10.244.3.0/24 via 192.168.77.33") {
		t.Fatalf("routes after changes: %q", got)
	}
	if !strings.Contains(ns.MustRun(t, "ip", "route"), "10.99.0.0/24 via 192.168.77.9") {
		t.Fatal("a foreign route was removed")
	}

	if err := EnsureServiceGuard(ctx, ns.Exec(), "kube5-svc", "10.0.0.0/24"); err != nil {
		t.Fatal(err)
	}
	if err := EnsureServiceGuard(ctx, ns.Exec(), "kube5-svc", "10.0.0.0/24"); err != nil {
		t.Fatalf("second EnsureServiceGuard: %v", err)
	}
	if got := ns.MustRun(t, "ip", "route", "get", "10.0.0.77"); !strings.Contains(got, "dev kube5-svc") {
		t.Fatalf("service CIDR not routed to the guard bridge: %q", got)
	}
	ipt := iptables.New(ns.Exec())
	if err := EnsureRules(Config{IPTables: ipt, ClusterCIDR: "10.244.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	save := ns.MustRun(t, "iptables-save")
	for _, want := range []string{"-A POSTROUTING -m comment --comment \"kube5 pod network masquerade\" -j KUBE-POD-MASQ",
		"-A KUBE-POD-MASQ -s 10.244.0.0/16 -m comment --comment \"pod traffic leaving the cluster CIDR\" -j MASQUERADE",
		"-A FORWARD -m comment --comment \"kube5 pod network forwarding\" -j KUBE-POD-FORWARD"} {
		if !strings.Contains(save, want) {
			t.Errorf("iptables lacks %q:\n%s", want, save)
		}
	}
	if err := Cleanup(ctx, ns.Exec(), "kube5-svc"); err != nil {
		t.Fatal(err)
	}
	if got := routes(); strings.TrimSpace(got) != "" {
		t.Fatalf("routes left after cleanup: %q", got)
	}
	if _, err := ns.Run("ip", "link", "show", "kube5-svc"); err == nil {
		t.Fatal("guard bridge left after cleanup")
	}
}
