package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proxy/app/options"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/iptables/fake"
	"kube5/proxy/internal/netnstest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRulesFollowAPIObjects(t *testing.T) {
	api := apiservertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	ipt := fake.New()
	o := options.New()
	o.Master.Master = api.URL
	o.HostnameOverride = "node-1"
	o.MinSyncPeriod = 50 * time.Millisecond
	o.MetricsBindAddress = fmt.Sprintf("127.0.0.1:%d", apiservertest.FreePort(t))
	o.HealthzBindAddress = fmt.Sprintf("127.0.0.1:%d", apiservertest.FreePort(t))
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	s, err := Setup(ctx, o, Deps{IPTables: ipt, Client: api.Client})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	cs := api.Client
	svc, err := cs.Services("default").Create(ctx, &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "web"},
		Spec: &corev1.ServiceSpec{Type: "NodePort", Selector: map[string]string{"app": "web"},
			Ports: []*corev1.ServicePort{{Name: "http", Port: 80, Protocol: "TCP", TargetPort: metav1.FromInt(8080)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ip, nodePort := svc.Spec.ClusterIp, svc.Spec.Ports[0].NodePort
	has := func(table iptables.Table, chain iptables.Chain, substr string) bool {
		rules, _ := ipt.Rules(table, chain)
		return strings.Contains(strings.Join(rules, "\n"), substr)
	}
	waitFor(t, "a REJECT for the service without endpoints", func() bool {
		return has(iptables.TableFilter, "KUBE-SERVICES", "-d "+ip+"/32") &&
			has(iptables.TableFilter, "KUBE-EXTERNAL-SERVICES", fmt.Sprintf("--dport %d -j REJECT", nodePort))
	})
	if _, ok := ipt.Rules(iptables.TableNAT, "KUBE-SERVICES"); !ok {
		t.Fatal("no nat KUBE-SERVICES")
	}
	if rules, _ := ipt.Rules(iptables.TableNAT, "OUTPUT"); !strings.Contains(strings.Join(rules, "\n"), "-j KUBE-SERVICES") {
		t.Fatalf("no jump from nat OUTPUT: %q", rules)
	}

	_, err = cs.Endpoints("default").Create(ctx, &corev1.Endpoints{
		Metadata: &metav1.ObjectMeta{Name: "web"},
		Subsets: []*corev1.EndpointSubset{{
			Addresses: []*corev1.EndpointAddress{{Ip: "10.244.1.5"}, {Ip: "10.244.2.6"}},
			Ports:     []*corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: "TCP"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "DNAT rules for both endpoints", func() bool {
		save := saveAll(ipt)
		return strings.Contains(save, "--to-destination 10.244.1.5:8080") && strings.Contains(save, "--to-destination 10.244.2.6:8080") &&
			has(iptables.TableNAT, "KUBE-SERVICES", "-d "+ip+"/32") &&
			has(iptables.TableNAT, "KUBE-NODEPORTS", fmt.Sprintf("--dport %d", nodePort)) &&
			!has(iptables.TableFilter, "KUBE-SERVICES", ip)
	})

	// web's own chains (the apiserver's "kubernetes" service has chains too, and keeps them).
	webChains := chainsMentioning(ipt, "default/web")
	if len(webChains) < 4 { // KUBE-SVC, KUBE-EXT and two KUBE-SEP
		t.Fatalf("web's chains: %v, want its service, external and two endpoint chains", webChains)
	}
	if err := cs.Services("default").Delete(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the service's rules and chains to go", func() bool {
		save := saveAll(ipt)
		if strings.Contains(save, "default/web") {
			return false
		}
		for _, c := range webChains {
			if strings.Contains(save, ":"+c+"\n") || strings.HasSuffix(save, ":"+c) {
				return false
			}
		}
		return true
	})

	for _, url := range []string{"http://" + o.MetricsBindAddress + "/healthz", "http://" + o.HealthzBindAddress + "/healthz"} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
		}
		if strings.Contains(url, o.HealthzBindAddress) && !strings.Contains(string(b), `"lastUpdated"`) {
			t.Fatalf("%s: %s, want upstream's JSON", url, b)
		}
	}
	resp, err := http.Get("http://" + o.MetricsBindAddress + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"kubeproxy_sync_proxy_rules_duration_seconds_count", "kubeproxy_network_programming_duration_seconds_count", "kubeproxy_sync_proxy_rules_iptables_total{table=\"nat\"}"} {
		if !strings.Contains(string(b), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// chainsMentioning names the KUBE-SVC/-EXT/-SEP chains of the nat table with a rule
// containing substr.
func chainsMentioning(ipt *fake.IPTables, substr string) []string {
	var out []string
	for _, c := range ipt.Chains(iptables.TableNAT) {
		if !strings.HasPrefix(string(c), "KUBE-SVC-") && !strings.HasPrefix(string(c), "KUBE-EXT-") && !strings.HasPrefix(string(c), "KUBE-SEP-") {
			continue
		}
		rules, _ := ipt.Rules(iptables.TableNAT, c)
		if strings.Contains(strings.Join(rules, "\n"), substr) {
			out = append(out, string(c))
		}
	}
	return out
}

func saveAll(ipt *fake.IPTables) string {
	var out []string
	for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		for _, c := range ipt.Chains(table) {
			rules, _ := ipt.Rules(table, c)
			out = append(out, ":"+string(c))
			out = append(out, rules...)
		}
	}
	return strings.Join(out, "\n")
}

// TestKernelServer runs the whole daemon against a real apiserver with real iptables
// and routes inside a namespace: a ClusterIP answers from pods, other nodes' podCIDRs
// are routed, and Cleanup leaves the namespace's tables as they were.
func TestKernelServer(t *testing.T) {
	node := netnstest.New(t, "srv")
	node.NewBridge(t, "cbr0", "10.244.1.1/24")
	node.NewBridge(t, "lan0", "192.168.77.1/24")
	var ips []string
	for i := range 2 {
		pod := node.AddPod(t, "cbr0", fmt.Sprintf("10.244.1.%d/24", i+2), "10.244.1.1")
		pod.ServeIP(t)
		ips = append(ips, pod.IP)
	}
	// A user's rules in both tables: they must survive, and cleanup must restore exactly this.
	node.MustRun(t, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "-j", "MASQUERADE")
	node.MustRun(t, "iptables", "-t", "filter", "-A", "FORWARD", "-i", "cbr0", "-j", "ACCEPT")
	before := saveKernel(t, node)

	api := apiservertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	o := options.New()
	o.Master.Master = api.URL
	o.HostnameOverride = "node-1"
	o.MinSyncPeriod = 50 * time.Millisecond
	o.MetricsBindAddress = fmt.Sprintf("127.0.0.1:%d", apiservertest.FreePort(t))
	o.HealthzBindAddress = ""
	deps := Deps{IPTables: iptables.New(node.Exec()), Exec: node.Exec(), Client: api.Client}
	s, err := Setup(ctx, o, deps)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)

	cs := api.Client
	for _, n := range []*corev1.Node{
		{Metadata: &metav1.ObjectMeta{Name: "node-1"}, Spec: &corev1.NodeSpec{PodCidr: "10.244.1.0/24"},
			Status: &corev1.NodeStatus{Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: "192.168.77.1"}}}},
		{Metadata: &metav1.ObjectMeta{Name: "node-2"}, Spec: &corev1.NodeSpec{PodCidr: "10.244.2.0/24"},
			Status: &corev1.NodeStatus{Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: "192.168.77.2"}}}},
	} {
		if _, err := cs.Nodes().Create(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := cs.Services("default").Create(ctx, &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "web"},
		Spec:     &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80, Protocol: "TCP", TargetPort: metav1.FromInt(8080)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	addrs := []*corev1.EndpointAddress{}
	for _, ip := range ips {
		addrs = append(addrs, &corev1.EndpointAddress{Ip: ip})
	}
	if _, err := cs.Endpoints("default").Create(ctx, &corev1.Endpoints{
		Metadata: &metav1.ObjectMeta{Name: "web"},
		Subsets:  []*corev1.EndpointSubset{{Addresses: addrs, Ports: []*corev1.EndpointPort{{Port: 8080, Protocol: "TCP"}}}},
	}); err != nil {
		t.Fatal(err)
	}
	dial := node.Dialer(t)
	seen := map[string]bool{}
	waitFor(t, "the ClusterIP to answer from both pods", func() bool {
		c, err := dial("tcp", svc.Spec.ClusterIp+":80", time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		b, _ := io.ReadAll(c)
		seen[string(b)] = true
		return seen[ips[0]] && seen[ips[1]]
	})
	waitFor(t, "a route to node-2's podCIDR", func() bool {
		out, _ := node.Run("ip", "route", "show", "10.244.2.0/24")
		return strings.Contains(out, "via 192.168.77.2")
	})
	if out, _ := node.Run("ip", "route", "show", "10.244.1.0/24"); strings.Contains(out, "via") {
		t.Fatalf("route to the own podCIDR: %q", out)
	}
	if err := cs.Nodes().Delete(ctx, "node-2", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node-2's route to go", func() bool {
		out, _ := node.Run("ip", "route", "show", "10.244.2.0/24")
		return strings.TrimSpace(out) == ""
	})

	stop()
	if err := Cleanup(context.Background(), o, deps); err != nil {
		t.Fatal(err)
	}
	if after := saveKernel(t, node); after != before {
		t.Fatalf("after cleanup:\n%s\n--- before:\n%s", after, before)
	}
	if _, err := node.Run("ip", "link", "show", "kube5-svc"); err == nil {
		t.Fatal("guard bridge left after cleanup")
	}
}

var saveNoise = regexp.MustCompile(`(?m)^#.*\n|\[\d+:\d+\]`)

func saveKernel(t *testing.T, n *netnstest.NS) string {
	return saveNoise.ReplaceAllString(n.MustRun(t, "iptables-save"), "")
}
