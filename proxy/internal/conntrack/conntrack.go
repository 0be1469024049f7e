// Package conntrack removes the kernel's connection-tracking entries that a change of
// kube-proxy's rules left pointing at the wrong place, as upstream's pkg/proxy/conntrack.
//
// The kernel NATs only the first packet of a flow and replays that decision for every
// later packet of the same 5-tuple. A UDP client that keeps sending from one socket is
// one flow until it falls silent for the conntrack timeout, so after its endpoint is
// removed it keeps being DNATed to the dead pod, and after a service that had no
// endpoints gets one it keeps missing the new DNAT rule. Deleting the flow's entry makes
// the next datagram a new flow that the current rules decide. TCP is never touched: a
// TCP connection to a dead pod ends (RST or timeout) and the client reconnects, which
// is a new flow.
package conntrack

import (
	"fmt"
	"net/netip"
	"strings"

	"kube5/proxy/internal/proxy"
)

// Filter selects the entries of one protocol to one destination port; empty IP fields
// match any address.
type Filter struct {
	// Protocol is UDP or SCTP; TCP and anything else is refused.
	Protocol string
	// IPv6 selects the family of the entries (that of the service's ClusterIP).
	IPv6 bool
	// OrigDstIP is where the client sent to (a ClusterIP); "" matches every address, as
	// a NodePort filter must.
	OrigDstIP string
	// OrigDstPort is the port the client sent to (service port or NodePort); required.
	OrigDstPort int32
	// ReplySrcIP is where the entry was DNATed to (an endpoint's IP); "" matches any,
	// including entries that were never NATed.
	ReplySrcIP string
}

// String is in conntrack(8)'s terms, for logs.
func (f Filter) String() string {
	var b strings.Builder
	b.WriteString("-p " + strings.ToLower(f.Protocol))
	if f.IPv6 {
		b.WriteString(" -f ipv6")
	}
	if f.OrigDstIP != "" {
		b.WriteString(" --orig-dst " + f.OrigDstIP)
	}
	fmt.Fprintf(&b, " --dport %d", f.OrigDstPort)
	if f.ReplySrcIP != "" {
		b.WriteString(" --reply-src " + f.ReplySrcIP)
	}
	return b.String()
}

// Interface deletes conntrack entries.
type Interface interface {
	// Delete removes every entry that matches any of the filters and returns how many
	// it removed. Invalid filters are skipped and reported in the error; the valid ones
	// are still applied.
	Delete(filters []Filter) (int, error)
}

// Cleaned reports whether kube-proxy cleans conntrack entries of a protocol.
func Cleaned(protocol string) bool { return protocol == "UDP" || protocol == "SCTP" }

// Proxied is how one service port was, or is, proxied: Port nil means not at all.
type Proxied struct {
	Port      *proxy.ServicePort
	Endpoints []proxy.Endpoint
}

func (p Proxied) active() bool { return p.Port != nil && len(p.Endpoints) > 0 }

// FrontendFilters select every entry to a service port's ClusterIP:port and, when it has
// one, to its NodePort on any address.
func FrontendFilters(sp *proxy.ServicePort) []Filter {
	v6 := isIPv6(sp.ClusterIP)
	out := []Filter{{Protocol: sp.Protocol(), IPv6: v6, OrigDstIP: sp.ClusterIP, OrigDstPort: sp.Port}}
	if sp.NodePort != 0 {
		out = append(out, Filter{Protocol: sp.Protocol(), IPv6: v6, OrigDstPort: sp.NodePort})
	}
	return out
}

// StaleFilters returns the filters for the entries that the change of one service port
// from before to after leaves stale, as upstream computes from its change trackers
// (DeletedUDPEndpoints and NewlyActiveUDPServices):
//
//   - an endpoint that is gone (or a frontend, ClusterIP:port or NodePort, that is gone
//     or moved): entries to the old frontend DNATed to that endpoint's IP;
//   - a frontend that had no endpoints and now has some: every entry to it, since any
//     existing one was made without a DNAT (the datagrams died on the service guard
//     bridge or were rejected) and would keep the client's flow from being NATed.
//
// Only UDP and SCTP service ports yield filters.
func StaleFilters(before, after Proxied) []Filter {
	sp := before.Port
	if sp == nil {
		sp = after.Port
	}
	if sp == nil || !Cleaned(sp.Protocol()) {
		return nil
	}
	var out []Filter
	if b := before.Port; before.active() {
		v6 := isIPv6(b.ClusterIP)
		sameCluster := after.Port != nil && after.Port.ClusterIP == b.ClusterIP && after.Port.Port == b.Port
		for _, ip := range removedIPs(before.Endpoints, after.Endpoints, sameCluster) {
			out = append(out, Filter{Protocol: b.Protocol(), IPv6: v6, OrigDstIP: b.ClusterIP, OrigDstPort: b.Port, ReplySrcIP: ip})
		}
		if b.NodePort != 0 {
			sameNode := after.Port != nil && after.Port.NodePort == b.NodePort
			for _, ip := range removedIPs(before.Endpoints, after.Endpoints, sameNode) {
				out = append(out, Filter{Protocol: b.Protocol(), IPv6: v6, OrigDstPort: b.NodePort, ReplySrcIP: ip})
			}
		}
	}
	if a := after.Port; after.active() {
		v6 := isIPv6(a.ClusterIP)
		if !before.active() || before.Port.ClusterIP != a.ClusterIP || before.Port.Port != a.Port {
			out = append(out, Filter{Protocol: a.Protocol(), IPv6: v6, OrigDstIP: a.ClusterIP, OrigDstPort: a.Port})
		}
		if a.NodePort != 0 && (!before.active() || before.Port.NodePort != a.NodePort) {
			out = append(out, Filter{Protocol: a.Protocol(), IPv6: v6, OrigDstPort: a.NodePort})
		}
	}
	return out
}

// removedIPs returns the IPs of the endpoints in before that are not in after (all of
// them when the frontend did not survive), each once. An endpoint that only changed port
// counts as removed: an entry's reply source is its IP, so the filter takes the flows to
// the new port too, which costs those clients one re-balanced flow, as upstream.
func removedIPs(before, after []proxy.Endpoint, frontendSurvives bool) []string {
	kept := map[proxy.Endpoint]bool{}
	if frontendSurvives {
		for _, e := range after {
			kept[e] = true
		}
	}
	seen := map[string]bool{}
	var ips []string
	for _, e := range before {
		if !kept[e] && !seen[e.IP] {
			seen[e.IP] = true
			ips = append(ips, e.IP)
		}
	}
	return ips
}

func isIPv6(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Unmap().Is6()
}
