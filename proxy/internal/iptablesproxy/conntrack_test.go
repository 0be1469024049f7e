package iptablesproxy

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"kube5/proxy/internal/conntrack"
	ctfake "kube5/proxy/internal/conntrack/fake"
)

// TestConntrackCleanupRequests checks which conntrack deletions syncs ask for as
// Services and Endpoints change.
func TestConntrackCleanupRequests(t *testing.T) {
	p, ipt := newTestProxier(t)
	ct := &ctfake.Conntrack{}
	p.cfg.Conntrack = ct

	cluster := func(ip, replySrc string, port int32) conntrack.Filter {
		return conntrack.Filter{Protocol: "UDP", OrigDstIP: ip, OrigDstPort: port, ReplySrcIP: replySrc}
	}
	node := func(port int32, replySrc string) conntrack.Filter {
		return conntrack.Filter{Protocol: "UDP", OrigDstPort: port, ReplySrcIP: replySrc}
	}
	// sorted makes a comparison independent of the order of service ports in a sync.
	sorted := func(calls [][]conntrack.Filter) [][]conntrack.Filter {
		for _, c := range calls {
			slices.SortFunc(c, func(a, b conntrack.Filter) int { return strings.Compare(a.String(), b.String()) })
		}
		return calls
	}
	steps := []struct {
		name   string
		change func()
		fail   bool
		want   [][]conntrack.Filter
	}{
		{"first sync: UDP services with endpoints are newly active", func() {
			p.Tracker.ServiceChanged("default", "dns", svc("dns", "10.0.0.10", "ClusterIP", port("dns", "UDP", 53, 0), port("dns-tcp", "TCP", 53, 0)))
			p.Tracker.EndpointsChanged("default", "dns", eps("dns", []string{"10.244.1.2", "10.244.1.3"}, epPort("dns", "UDP", 5353), epPort("dns-tcp", "TCP", 5353)))
			p.Tracker.ServiceChanged("default", "web", svc("web", "10.0.0.11", "NodePort", port("", "TCP", 80, 30080)))
			p.Tracker.EndpointsChanged("default", "web", eps("web", []string{"10.244.1.2"}, epPort("", "TCP", 8080)))
			p.Tracker.ServiceChanged("default", "np", svc("np", "10.0.0.12", "NodePort", port("", "UDP", 53, 30053)))
		}, false, [][]conntrack.Filter{{cluster("10.0.0.10", "", 53)}}},
		{"UDP endpoint removed", func() {
			p.Tracker.EndpointsChanged("default", "dns", eps("dns", []string{"10.244.1.3"}, epPort("dns", "UDP", 5353), epPort("dns-tcp", "TCP", 5353)))
		}, false, [][]conntrack.Filter{{cluster("10.0.0.10", "10.244.1.2", 53)}}},
		{"UDP NodePort service gets its first endpoint", func() {
			p.Tracker.EndpointsChanged("default", "np", eps("np", []string{"10.244.1.4"}, epPort("", "UDP", 5353)))
		}, false, [][]conntrack.Filter{{node(30053, ""), cluster("10.0.0.12", "", 53)}}},
		{"UDP NodePort endpoint replaced", func() {
			p.Tracker.EndpointsChanged("default", "np", eps("np", []string{"10.244.1.5"}, epPort("", "UDP", 5353)))
		}, false, [][]conntrack.Filter{{node(30053, "10.244.1.4"), cluster("10.0.0.12", "10.244.1.4", 53)}}},
		{"TCP endpoints removed: nothing", func() {
			p.Tracker.EndpointsChanged("default", "web", eps("web", nil, epPort("", "TCP", 8080)))
		}, false, nil},
		{"restore fails: nothing deleted yet", func() {
			p.Tracker.EndpointsChanged("default", "dns", eps("dns", []string{"10.244.1.6"}, epPort("dns", "UDP", 5353), epPort("dns-tcp", "TCP", 5353)))
		}, true, nil},
		{"the retry deletes what the failed sync left stale", func() {}, false,
			[][]conntrack.Filter{{cluster("10.0.0.10", "10.244.1.3", 53)}}},
		{"full sync without changes: nothing", func() { p.needFullSync = true }, false, nil},
		{"UDP service deleted", func() {
			p.Tracker.ServiceChanged("default", "np", nil)
		}, false, [][]conntrack.Filter{{node(30053, "10.244.1.5"), cluster("10.0.0.12", "10.244.1.5", 53)}}},
	}
	for _, s := range steps {
		s.change()
		if s.fail {
			ipt.RestoreErr = errors.New("iptables-restore: line 3 failed")
		}
		p.SyncOnce()
		ipt.RestoreErr = nil
		if s.fail != p.needFullSync {
			t.Fatalf("%s: sync failed=%v, want %v", s.name, p.needFullSync, s.fail)
		}
		if got := sorted(ct.Calls()); !reflect.DeepEqual(got, sorted(s.want)) {
			t.Errorf("%s: deletions\n got %v\nwant %v", s.name, got, s.want)
		}
	}
}
