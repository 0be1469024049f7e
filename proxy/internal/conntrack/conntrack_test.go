package conntrack

import (
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"kube5/proxy/internal/proxy"
)

func sp(proto, clusterIP string, port, nodePort int32) *proxy.ServicePort {
	return &proxy.ServicePort{
		Name:      proxy.ServicePortName{NamespacedName: proxy.NamespacedName{Namespace: "default", Name: "dns"}, Protocol: proto},
		ClusterIP: clusterIP, Port: port, NodePort: nodePort,
	}
}

func eps(ips ...string) []proxy.Endpoint {
	var out []proxy.Endpoint
	for _, ip := range ips {
		out = append(out, proxy.Endpoint{IP: ip, Port: 5353})
	}
	return out
}

func TestStaleFilters(t *testing.T) {
	udp := sp("UDP", "10.0.0.10", 53, 0)
	udpNP := sp("UDP", "10.0.0.10", 53, 30053)
	cluster := func(ip string) Filter {
		return Filter{Protocol: "UDP", OrigDstIP: "10.0.0.10", OrigDstPort: 53, ReplySrcIP: ip}
	}
	node := func(ip string) Filter { return Filter{Protocol: "UDP", OrigDstPort: 30053, ReplySrcIP: ip} }
	for _, c := range []struct {
		name          string
		before, after Proxied
		want          []Filter
	}{
		{"unchanged", Proxied{udp, eps("10.244.1.2")}, Proxied{udp, eps("10.244.1.2")}, nil},
		{"endpoint removed", Proxied{udp, eps("10.244.1.2", "10.244.1.3")}, Proxied{udp, eps("10.244.1.3")},
			[]Filter{cluster("10.244.1.2")}},
		{"endpoint added to a served port", Proxied{udp, eps("10.244.1.2")}, Proxied{udp, eps("10.244.1.2", "10.244.1.3")}, nil},
		{"endpoint replaced", Proxied{udp, eps("10.244.1.2")}, Proxied{udp, eps("10.244.1.3")},
			[]Filter{cluster("10.244.1.2")}},
		{"endpoint changed port", Proxied{udp, eps("10.244.1.2")}, Proxied{udp, []proxy.Endpoint{{IP: "10.244.1.2", Port: 5354}}},
			[]Filter{cluster("10.244.1.2")}},
		{"last endpoint removed", Proxied{udp, eps("10.244.1.2")}, Proxied{udp, nil},
			[]Filter{cluster("10.244.1.2")}},
		{"first endpoint", Proxied{udp, nil}, Proxied{udp, eps("10.244.1.2")},
			[]Filter{cluster("")}},
		{"new service with endpoints", Proxied{}, Proxied{udp, eps("10.244.1.2")},
			[]Filter{cluster("")}},
		{"new service without endpoints", Proxied{}, Proxied{udp, nil}, nil},
		{"service deleted", Proxied{udpNP, eps("10.244.1.2", "10.244.1.3")}, Proxied{},
			[]Filter{cluster("10.244.1.2"), cluster("10.244.1.3"), node("10.244.1.2"), node("10.244.1.3")}},
		{"nodeport endpoint removed", Proxied{udpNP, eps("10.244.1.2", "10.244.1.3")}, Proxied{udpNP, eps("10.244.1.3")},
			[]Filter{cluster("10.244.1.2"), node("10.244.1.2")}},
		{"nodeport first endpoint", Proxied{udpNP, nil}, Proxied{udpNP, eps("10.244.1.2")},
			[]Filter{cluster(""), node("")}},
		{"nodeport added to a served port", Proxied{udp, eps("10.244.1.2")}, Proxied{udpNP, eps("10.244.1.2")},
			[]Filter{node("")}},
		{"nodeport moved", Proxied{udpNP, eps("10.244.1.2")}, Proxied{sp("UDP", "10.0.0.10", 53, 30054), eps("10.244.1.2")},
			[]Filter{node("10.244.1.2"), {Protocol: "UDP", OrigDstPort: 30054}}},
		{"cluster IP moved", Proxied{udp, eps("10.244.1.2")}, Proxied{sp("UDP", "10.0.0.11", 53, 0), eps("10.244.1.2")},
			[]Filter{cluster("10.244.1.2"), {Protocol: "UDP", OrigDstIP: "10.0.0.11", OrigDstPort: 53}}},
		{"duplicate endpoint IPs once", Proxied{udp, []proxy.Endpoint{{IP: "10.244.1.2", Port: 1}, {IP: "10.244.1.2", Port: 2}}}, Proxied{udp, nil},
			[]Filter{cluster("10.244.1.2")}},
		{"sctp", Proxied{sp("SCTP", "10.0.0.10", 53, 0), eps("10.244.1.2")}, Proxied{sp("SCTP", "10.0.0.10", 53, 0), nil},
			[]Filter{{Protocol: "SCTP", OrigDstIP: "10.0.0.10", OrigDstPort: 53, ReplySrcIP: "10.244.1.2"}}},
		{"ipv6", Proxied{sp("UDP", "fd00::a", 53, 0), eps("fd00:1::2")}, Proxied{sp("UDP", "fd00::a", 53, 0), nil},
			[]Filter{{Protocol: "UDP", IPv6: true, OrigDstIP: "fd00::a", OrigDstPort: 53, ReplySrcIP: "fd00:1::2"}}},
		{"tcp endpoint removed: nothing", Proxied{sp("TCP", "10.0.0.10", 80, 30080), eps("10.244.1.2")}, Proxied{sp("TCP", "10.0.0.10", 80, 30080), nil}, nil},
		{"tcp first endpoint: nothing", Proxied{sp("TCP", "10.0.0.10", 80, 30080), nil}, Proxied{sp("TCP", "10.0.0.10", 80, 30080), eps("10.244.1.2")}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := StaleFilters(c.before, c.after)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("StaleFilters:\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

func flow(proto uint8, src, dst string, dport uint16, replySrc string) *netlink.ConntrackFlow {
	f := &netlink.ConntrackFlow{}
	f.Forward.Protocol, f.Reverse.Protocol = proto, proto
	f.Forward.SrcIP, f.Forward.DstIP, f.Forward.SrcPort, f.Forward.DstPort = net.ParseIP(src), net.ParseIP(dst), 40000, dport
	f.Reverse.SrcIP, f.Reverse.DstIP, f.Reverse.SrcPort, f.Reverse.DstPort = net.ParseIP(replySrc), net.ParseIP(src), 5353, 40000
	return f
}

func TestMatcher(t *testing.T) {
	byFam, errs := compile([]Filter{
		{Protocol: "UDP", OrigDstIP: "10.0.0.10", OrigDstPort: 53, ReplySrcIP: "10.244.1.2"},
		{Protocol: "UDP", OrigDstIP: "10.0.0.11", OrigDstPort: 53},
		{Protocol: "UDP", OrigDstPort: 30053, ReplySrcIP: "10.244.1.2"},
		{Protocol: "SCTP", OrigDstIP: "10.0.0.12", OrigDstPort: 99},
		{Protocol: "UDP", IPv6: true, OrigDstIP: "fd00::a", OrigDstPort: 53},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	v4, v6 := byFam[unix.AF_INET], byFam[unix.AF_INET6]
	if v4 == nil || v6 == nil {
		t.Fatalf("families: %v", byFam)
	}
	for _, c := range []struct {
		name string
		m    *matcher
		flow *netlink.ConntrackFlow
		want bool
	}{
		{"to the removed endpoint", v4, flow(unix.IPPROTO_UDP, "10.244.1.50", "10.0.0.10", 53, "10.244.1.2"), true},
		{"to a live endpoint", v4, flow(unix.IPPROTO_UDP, "10.244.1.50", "10.0.0.10", 53, "10.244.1.3"), false},
		{"other port", v4, flow(unix.IPPROTO_UDP, "10.244.1.50", "10.0.0.10", 54, "10.244.1.2"), false},
		{"TCP is never matched", v4, flow(unix.IPPROTO_TCP, "10.244.1.50", "10.0.0.10", 53, "10.244.1.2"), false},
		{"any reply source, NATed", v4, flow(unix.IPPROTO_UDP, "10.244.1.50", "10.0.0.11", 53, "10.244.1.9"), true},
		{"any reply source, not NATed", v4, flow(unix.IPPROTO_UDP, "10.244.1.50", "10.0.0.11", 53, "10.0.0.11"), true},
		{"nodeport on any address", v4, flow(unix.IPPROTO_UDP, "192.168.1.5", "192.168.1.1", 30053, "10.244.1.2"), true},
		{"nodeport to a live endpoint", v4, flow(unix.IPPROTO_UDP, "192.168.1.5", "192.168.1.1", 30053, "10.244.1.3"), false},
		{"sctp", v4, flow(unix.IPPROTO_SCTP, "10.244.1.50", "10.0.0.12", 99, "10.244.1.3"), true},
		{"udp filter ignores sctp", v4, flow(unix.IPPROTO_SCTP, "10.244.1.50", "10.0.0.11", 53, "10.244.1.3"), false},
		{"ipv6", v6, flow(unix.IPPROTO_UDP, "fd00:1::50", "fd00::a", 53, "fd00:1::2"), true},
	} {
		if got := c.m.MatchConntrackFlow(c.flow); got != c.want {
			t.Errorf("%s: match %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCompileRejectsBadFilters(t *testing.T) {
	for _, c := range []struct {
		f    Filter
		want string
	}{
		{Filter{Protocol: "TCP", OrigDstIP: "10.0.0.10", OrigDstPort: 80}, "TCP connections end by themselves"},
		{Filter{Protocol: "UDP", OrigDstIP: "10.0.0.10"}, "port 0 is not in 1-65535"},
		{Filter{Protocol: "UDP", OrigDstIP: "10.0.0.300", OrigDstPort: 53}, `"10.0.0.300" is not an IP address`},
		{Filter{Protocol: "UDP", OrigDstIP: "fd00::a", OrigDstPort: 53}, "not of the filter's address family"},
	} {
		byFam, errs := compile([]Filter{c.f, {Protocol: "UDP", OrigDstIP: "10.0.0.10", OrigDstPort: 53}})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%v: errors %v, want one containing %q", c.f, errs, c.want)
		}
		if m := byFam[unix.AF_INET]; m == nil || len(m.byDst) != 1 {
			t.Errorf("%v: the valid filter beside it was not kept", c.f)
		}
	}
}
