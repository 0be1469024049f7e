package conntrack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Netlink deletes entries through the kernel's conntrack netlink interface (what
// conntrack -D does), without the conntrack binary.
type Netlink struct {
	nsPath string // "" : the namespace kube-proxy runs in

	mu sync.Mutex
	h  *netlink.Handle
}

// New works on the network namespace of the calling process (the host's, for
// kube-proxy).
func New() *Netlink { return &Netlink{} }

// NewAt works on the network namespace at nsPath (e.g. /var/run/netns/NAME); tests use
// it to clean the namespace they program.
func NewAt(nsPath string) *Netlink { return &Netlink{nsPath: nsPath} }

// netlinkTimeout bounds one dump or delete, so a wedged kernel answer cannot stall the
// sync loop forever.
const netlinkTimeout = 10 * time.Second

// handle opens the netfilter netlink socket on first use. The socket is made in the
// target namespace and keeps working there from any thread.
func (n *Netlink) handle() (*netlink.Handle, error) {
	if n.h != nil {
		return n.h, nil
	}
	ns := netns.None()
	if n.nsPath != "" {
		var err error
		if ns, err = netns.GetFromPath(n.nsPath); err != nil {
			return nil, fmt.Errorf("opening network namespace %s: %w", n.nsPath, err)
		}
		defer ns.Close()
	}
	// The family list must name NETLINK_NETFILTER: a handle without that socket would
	// make the library open one in the calling thread's namespace instead.
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("opening a netfilter netlink socket (kube-proxy needs CAP_NET_ADMIN): %w", err)
	}
	if err := h.SetSocketTimeout(netlinkTimeout); err != nil {
		h.Close()
		return nil, fmt.Errorf("setting the netlink socket timeout: %w", err)
	}
	n.h = h
	return h, nil
}

// Close releases the netlink socket.
func (n *Netlink) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.h != nil {
		n.h.Close()
		n.h = nil
	}
}

// Delete removes the entries matching any filter, one table dump per address family.
func (n *Netlink) Delete(filters []Filter) (int, error) {
	byFamily, errs := compile(filters)
	if len(byFamily) == 0 {
		return 0, errors.Join(errs...)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h, err := n.handle()
	if err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	total := 0
	for _, fam := range []netlink.InetFamily{unix.AF_INET, unix.AF_INET6} {
		m := byFamily[fam]
		if m == nil {
			continue
		}
		deleted, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, fam, m)
		total += int(deleted)
		if err != nil {
			errs = append(errs, fmt.Errorf("deleting conntrack entries: %w", err))
		}
	}
	return total, errors.Join(errs...)
}

// matcher is every filter of one family as a netlink.CustomConntrackFilter that costs
// one map lookup per entry however many filters there are: the library tries each
// filter on each entry of the dump, and a full sync after a restart can bring a filter
// per UDP service port against a table of a hundred thousand entries.
type matcher struct {
	// byDst: protocol, original destination and port -> reply sources (nil set: any).
	byDst map[dstKey]*ipSet
	// byPort: protocol and original destination port on any address (NodePorts).
	byPort map[portKey]*ipSet
}

type dstKey struct {
	proto uint8
	ip    netip.Addr
	port  uint16
}

type portKey struct {
	proto uint8
	port  uint16
}

// ipSet is a set of reply-source IPs; any matches every address.
type ipSet struct {
	any bool
	ips map[netip.Addr]bool
}

func (s *ipSet) add(ip netip.Addr, valid bool) {
	if !valid {
		s.any = true
		return
	}
	if s.ips == nil {
		s.ips = map[netip.Addr]bool{}
	}
	s.ips[ip] = true
}

func (s *ipSet) has(ip net.IP) bool {
	if s == nil {
		return false
	}
	if s.any {
		return true
	}
	a, ok := netip.AddrFromSlice(ip)
	return ok && s.ips[a.Unmap()]
}

var protoNumbers = map[string]uint8{"UDP": unix.IPPROTO_UDP, "SCTP": unix.IPPROTO_SCTP}

// compile checks the filters and indexes them per address family.
func compile(filters []Filter) (map[netlink.InetFamily]*matcher, []error) {
	out := map[netlink.InetFamily]*matcher{}
	var errs []error
	for _, f := range filters {
		proto, ok := protoNumbers[f.Protocol]
		if !ok {
			errs = append(errs, fmt.Errorf("conntrack filter %q: protocol %q is not cleaned (only UDP and SCTP are; TCP connections end by themselves)", f, f.Protocol))
			continue
		}
		if f.OrigDstPort <= 0 || f.OrigDstPort > 65535 {
			errs = append(errs, fmt.Errorf("conntrack filter %q: destination port %d is not in 1-65535", f, f.OrigDstPort))
			continue
		}
		var dst, src netip.Addr
		var err error
		if f.OrigDstIP != "" {
			if dst, err = parseFamily(f.OrigDstIP, f.IPv6); err != nil {
				errs = append(errs, fmt.Errorf("conntrack filter %q: original destination: %w", f, err))
				continue
			}
		}
		if f.ReplySrcIP != "" {
			if src, err = parseFamily(f.ReplySrcIP, f.IPv6); err != nil {
				errs = append(errs, fmt.Errorf("conntrack filter %q: reply source: %w", f, err))
				continue
			}
		}
		fam := netlink.InetFamily(unix.AF_INET)
		if f.IPv6 {
			fam = unix.AF_INET6
		}
		m := out[fam]
		if m == nil {
			m = &matcher{byDst: map[dstKey]*ipSet{}, byPort: map[portKey]*ipSet{}}
			out[fam] = m
		}
		var set *ipSet
		if dst.IsValid() {
			k := dstKey{proto, dst, uint16(f.OrigDstPort)}
			if set = m.byDst[k]; set == nil {
				set = &ipSet{}
				m.byDst[k] = set
			}
		} else {
			k := portKey{proto, uint16(f.OrigDstPort)}
			if set = m.byPort[k]; set == nil {
				set = &ipSet{}
				m.byPort[k] = set
			}
		}
		set.add(src, src.IsValid())
	}
	return out, errs
}

// parseFamily parses an IP and checks it is of the filter's family.
func parseFamily(s string, v6 bool) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	if a.Is6() != v6 {
		return netip.Addr{}, fmt.Errorf("%s is not of the filter's address family (IPv6=%v)", s, v6)
	}
	return a, nil
}

// MatchConntrackFlow implements netlink.CustomConntrackFilter.
func (m *matcher) MatchConntrackFlow(flow *netlink.ConntrackFlow) bool {
	proto := flow.Forward.Protocol
	if proto != unix.IPPROTO_UDP && proto != unix.IPPROTO_SCTP {
		return false
	}
	port := flow.Forward.DstPort
	if dst, ok := netip.AddrFromSlice(flow.Forward.DstIP); ok {
		if m.byDst[dstKey{proto, dst.Unmap(), port}].has(flow.Reverse.SrcIP) {
			return true
		}
	}
	return m.byPort[portKey{proto, port}].has(flow.Reverse.SrcIP)
}
