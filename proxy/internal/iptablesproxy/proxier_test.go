package iptablesproxy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/iptables/fake"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func svc(name, ip, typ string, ports ...*corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:     &corev1.ServiceSpec{ClusterIp: ip, Type: typ, Ports: ports},
	}
}

func port(name, proto string, p, nodePort int32) *corev1.ServicePort {
	return &corev1.ServicePort{Name: name, Protocol: proto, Port: p, NodePort: nodePort}
}

func eps(name string, ips []string, ports ...*corev1.EndpointPort) *corev1.Endpoints {
	ss := &corev1.EndpointSubset{Ports: ports}
	for _, ip := range ips {
		ss.Addresses = append(ss.Addresses, &corev1.EndpointAddress{Ip: ip})
	}
	return &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name}, Subsets: []*corev1.EndpointSubset{ss}}
}

func epPort(name, proto string, p int32) *corev1.EndpointPort {
	return &corev1.EndpointPort{Name: name, Protocol: proto, Port: p}
}

func newTestProxier(t *testing.T) (*Proxier, *fake.IPTables) {
	ipt := fake.New()
	p := New(Config{IPTables: ipt, ClusterCIDR: "10.244.0.0/16", SyncPeriod: time.Hour, ChainsPerTransaction: 4})
	p.Tracker.SetSynced(true, true)
	return p, ipt
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	affinity := svc("sticky", "10.0.0.12", "ClusterIP", port("", "TCP", 80, 0))
	affinity.Spec.SessionAffinity = "ClientIP"
	timeout := int32(60)
	affinity.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIp: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
	for _, c := range []struct {
		name string
		svcs []*corev1.Service
		eps  []*corev1.Endpoints
	}{
		{"clusterip", []*corev1.Service{svc("web", "10.0.0.10", "ClusterIP", port("", "TCP", 80, 0))},
			[]*corev1.Endpoints{eps("web", []string{"10.244.1.2", "10.244.2.3", "10.244.1.3"}, epPort("", "TCP", 8080))}},
		{"nodeport", []*corev1.Service{svc("web", "10.0.0.11", "NodePort", port("http", "TCP", 80, 30080))},
			[]*corev1.Endpoints{eps("web", []string{"10.244.1.2", "10.244.2.3"}, epPort("http", "TCP", 8888))}},
		{"affinity", []*corev1.Service{affinity},
			[]*corev1.Endpoints{eps("sticky", []string{"10.244.1.2", "10.244.2.3"}, epPort("", "TCP", 80))}},
		{"no-endpoints", []*corev1.Service{svc("empty", "10.0.0.13", "NodePort", port("", "TCP", 80, 30013))},
			[]*corev1.Endpoints{eps("empty", nil, epPort("", "TCP", 80))}},
		{"named-ports", []*corev1.Service{svc("multi", "10.0.0.14", "ClusterIP", port("http", "TCP", 80, 0), port("metrics", "TCP", 9090, 0), port("dns", "UDP", 53, 0))},
			[]*corev1.Endpoints{eps("multi", []string{"10.244.1.7"}, epPort("http", "TCP", 8080), epPort("metrics", "TCP", 9100))}},
		{"udp", []*corev1.Service{svc("dns", "10.0.0.15", "ClusterIP", port("dns", "UDP", 53, 0), port("dns-tcp", "TCP", 53, 0))},
			[]*corev1.Endpoints{eps("dns", []string{"10.244.1.8", "10.244.2.8"}, epPort("dns", "UDP", 5353), epPort("dns-tcp", "TCP", 5353))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, ipt := newTestProxier(t)
			for _, s := range c.svcs {
				p.Tracker.ServiceChanged(s.Metadata.Namespace, s.Metadata.Name, s)
			}
			for _, e := range c.eps {
				p.Tracker.EndpointsChanged(e.Metadata.Namespace, e.Metadata.Name, e)
			}
			p.SyncOnce()
			restores := ipt.Restores()
			if len(restores) != 1 {
				t.Fatalf("got %d restores, want 1", len(restores))
			}
			checkGolden(t, c.name, restores[0])
		})
	}
}

func TestPartialSync(t *testing.T) {
	p, ipt := newTestProxier(t)
	for i, name := range []string{"a", "b", "c"} {
		ip := "10.0.0." + string(rune('1'+i))
		p.Tracker.ServiceChanged("default", name, svc(name, ip, "NodePort", port("", "TCP", 80, int32(30001+i))))
		p.Tracker.EndpointsChanged("default", name, eps(name, []string{"10.244.1." + string(rune('1'+i))}, epPort("", "TCP", 80)))
	}
	p.SyncOnce()
	full := ipt.Restores()
	if len(full) != 1 || !strings.Contains(full[0], ":KUBE-SERVICES - [0:0]") {
		t.Fatalf("first sync is not a full one: %q", full)
	}
	// One more endpoint for b: only b's KUBE-SVC chain and the new KUBE-SEP chain.
	p.Tracker.EndpointsChanged("default", "b", eps("b", []string{"10.244.1.2", "10.244.2.2"}, epPort("", "TCP", 80)))
	p.SyncOnce()
	rs := ipt.Restores()
	if len(rs) != 1 {
		t.Fatalf("got %d restores, want 1", len(rs))
	}
	checkGolden(t, "partial-endpoint-added", rs[0])

	// c loses its endpoints: its nat rules go, a filter REJECT comes, its chains are deleted.
	p.Tracker.EndpointsChanged("default", "c", nil)
	p.SyncOnce()
	rs = ipt.Restores()
	checkGolden(t, "partial-endpoints-removed", rs[0])

	// Nothing changed: nothing written.
	p.SyncOnce()
	if rs := ipt.Restores(); len(rs) != 0 {
		t.Fatalf("sync without changes wrote %q", rs)
	}

	// The fake's tables now equal what a full sync from scratch would produce.
	q, qipt := newTestProxier(t)
	q.Tracker.ServiceChanged("default", "a", svc("a", "10.0.0.1", "NodePort", port("", "TCP", 80, 30001)))
	q.Tracker.ServiceChanged("default", "b", svc("b", "10.0.0.2", "NodePort", port("", "TCP", 80, 30002)))
	q.Tracker.ServiceChanged("default", "c", svc("c", "10.0.0.3", "NodePort", port("", "TCP", 80, 30003)))
	q.Tracker.EndpointsChanged("default", "a", eps("a", []string{"10.244.1.1"}, epPort("", "TCP", 80)))
	q.Tracker.EndpointsChanged("default", "b", eps("b", []string{"10.244.1.2", "10.244.2.2"}, epPort("", "TCP", 80)))
	q.SyncOnce()
	for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		for _, c := range qipt.Chains(table) {
			want, _ := qipt.Rules(table, c)
			got, ok := ipt.Rules(table, c)
			if !ok || !sameSet(got, want) {
				t.Errorf("%s %s after partial syncs:\n%s\nwant (full sync):\n%s", table, c, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
		if len(qipt.Chains(table)) != len(ipt.Chains(table)) {
			t.Errorf("%s: %d chains after partial syncs, %d after a full sync", table, len(ipt.Chains(table)), len(qipt.Chains(table)))
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestFailedRestoreForcesFullSync(t *testing.T) {
	p, ipt := newTestProxier(t)
	p.Tracker.ServiceChanged("default", "a", svc("a", "10.0.0.1", "ClusterIP", port("", "TCP", 80, 0)))
	p.Tracker.EndpointsChanged("default", "a", eps("a", []string{"10.244.1.1"}, epPort("", "TCP", 80)))
	p.SyncOnce()
	ipt.Restores()
	ipt.RestoreErr = os.ErrInvalid
	p.Tracker.EndpointsChanged("default", "a", eps("a", []string{"10.244.1.2"}, epPort("", "TCP", 80)))
	p.SyncOnce()
	ipt.RestoreErr = nil
	ipt.Restores()
	p.SyncOnce()
	rs := ipt.Restores()
	if len(rs) != 1 || !strings.Contains(rs[0], ":KUBE-SERVICES - [0:0]") || !strings.Contains(rs[0], "10.244.1.2:80") {
		t.Fatalf("sync after a failure is not a full sync with the new state: %q", rs)
	}
}

func TestCleanup(t *testing.T) {
	p, ipt := newTestProxier(t)
	p.Tracker.ServiceChanged("default", "a", svc("a", "10.0.0.1", "NodePort", port("", "TCP", 80, 30001)))
	p.Tracker.EndpointsChanged("default", "a", eps("a", []string{"10.244.1.1"}, epPort("", "TCP", 80)))
	p.SyncOnce()
	if err := Cleanup(ipt, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		for _, c := range ipt.Chains(table) {
			if strings.HasPrefix(string(c), "KUBE-") {
				t.Errorf("chain %s %s left", table, c)
			}
			rules, _ := ipt.Rules(table, c)
			if len(rules) > 0 {
				t.Errorf("rules left in %s %s: %q", table, c, rules)
			}
		}
	}
}
