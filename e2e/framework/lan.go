package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// lan is the network the nodes of a multi-node cluster share: a bridge with a private
// /24, 10.99.N.0/24, that nothing on this host routes. The nodes are at .10, .11 ...; the
// host, where the control plane runs, at .1.
//
// The bridge lives in a namespace of its own (the hub), joined to the host by a veth
// pair, rather than in the host's namespace: with br_netfilter loaded (as Docker loads
// it), frames crossing a bridge in the host namespace go through the host's iptables,
// whose FORWARD policy Docker sets to DROP and whose nat table holds Docker's (and any
// other cluster's) rules. In the hub, whose tables are empty, node-to-node traffic is
// plain bridging, and the test touches no rule of the host.
type lan struct {
	n      int          // the N of 10.99.N.0/24, unique on this host while the lan exists
	prefix netip.Prefix // 10.99.N.0/24
	hub    *NetNS       // k5mn<N>-p<pid>-hub, holding the bridge "br0"
	// hostLink is the host's end of the veth to the hub (k5mn<N>), with address .1; its
	// peer in the hub is k5mn<N>h.
	hostLink string
}

// hostIP is the host's address on the lan.
func (l *lan) hostIP() netip.Addr { return l.prefix.Addr().Next() }

// nodeIP is the address of node i.
func (l *lan) nodeIP(i int) netip.Addr {
	a := l.prefix.Addr().As4()
	a[3] = byte(10 + i)
	return netip.AddrFrom4(a)
}

// claimLAN picks a free 10.99.N.0/24 and builds the hub, its bridge and the host's link.
// Creating the host's link k5mn<N> claims N: `ip link add` fails when another test (in
// this process or another) holds it. The namespaces are named after N and this process
// (k5mn<N>-p<pid>-...), so that sweepStale can tell a killed test's leftovers.
func claimLAN() (*lan, error) {
	used, err := hostPrefixes()
	if err != nil {
		return nil, err
	}
	start := os.Getpid() % 254
	var tried []string
	for k := range 254 {
		n := 1 + (start+k)%254
		pfx := netip.MustParsePrefix(fmt.Sprintf("10.99.%d.0/24", n))
		if overlapsAny(pfx, used) {
			continue
		}
		l := &lan{n: n, prefix: pfx, hostLink: fmt.Sprintf("k5mn%d", n)}
		if _, err := hostRun("ip", "link", "add", "name", l.hostLink, "type", "veth", "peer", "name", l.hostLink+"h"); err != nil {
			if len(tried) < 3 {
				tried = append(tried, err.Error())
			}
			continue
		}
		if err := l.build(); err != nil {
			return nil, errors.Join(err, l.remove())
		}
		return l, nil
	}
	return nil, fmt.Errorf("no free 10.99.N.0/24 for the nodes' bridge (every N is routed here or has a link k5mnN): %s",
		strings.Join(tried, "; "))
}

// nsName is the name of the lan's namespace called what (hub, n0, n1 ...).
func (l *lan) nsName(what string) string {
	return fmt.Sprintf("k5mn%d-p%d-%s", l.n, os.Getpid(), what)
}

func (l *lan) build() error {
	hub, err := newNetNS(l.nsName("hub"))
	if err != nil {
		return err
	}
	l.hub = hub
	peer := l.hostLink + "h"
	hostCIDR := netip.PrefixFrom(l.hostIP(), l.prefix.Bits()).String()
	steps := []func() (string, error){
		func() (string, error) { return l.hub.Run("ip", "link", "add", "name", "br0", "type", "bridge") },
		func() (string, error) { return l.hub.Run("ip", "link", "set", "br0", "up") },
		func() (string, error) { return hostRun("ip", "link", "set", peer, "netns", l.hub.Name) },
		func() (string, error) { return l.hub.Run("ip", "link", "set", peer, "master", "br0", "up") },
		func() (string, error) { return hostRun("ip", "addr", "add", hostCIDR, "dev", l.hostLink) },
		func() (string, error) { return hostRun("ip", "link", "set", l.hostLink, "up") },
	}
	for _, s := range steps {
		if _, err := s(); err != nil {
			return err
		}
	}
	return nil
}

// addNode makes node i's namespace, plugs it into the bridge (veth n<i> in the hub, eth0
// in the node) with its address, and turns forwarding on: the node routes for its pods,
// and Docker, finding forwarding on, leaves the FORWARD policy alone.
func (l *lan) addNode(i int) (*NetNS, error) {
	ns, err := newNetNS(l.nsName(fmt.Sprintf("n%d", i)))
	if err != nil {
		return nil, err
	}
	port := fmt.Sprintf("n%d", i)
	cidr := netip.PrefixFrom(l.nodeIP(i), l.prefix.Bits()).String()
	for _, s := range [][]string{
		{"hub", "ip", "link", "add", "name", port, "type", "veth", "peer", "name", "eth0", "netns", ns.Name},
		{"hub", "ip", "link", "set", port, "master", "br0", "up"},
		{"node", "ip", "addr", "add", cidr, "dev", "eth0"},
		{"node", "ip", "link", "set", "eth0", "up"},
		{"node", "sysctl", "-qw", "net.ipv4.ip_forward=1"},
	} {
		in := l.hub
		if s[0] == "node" {
			in = ns
		}
		if _, err := in.Run(s[1], s[2:]...); err != nil {
			return ns, err
		}
	}
	return ns, nil
}

// remove deletes the hub (the bridge and every veth end in it go with it, and so do
// their peers: the host's link and the nodes' eth0) and the host's link if left.
func (l *lan) remove() error {
	var errs []error
	if l.hub != nil {
		if err := l.hub.delete(); err != nil {
			errs = append(errs, err)
		}
	}
	// The kernel frees the hub asynchronously; delete the host's end now so that the
	// address and route are gone when teardown returns.
	if _, err := hostRun("ip", "link", "show", "dev", l.hostLink); err == nil {
		if _, err := hostRun("ip", "link", "del", l.hostLink); err != nil {
			if _, stillThere := hostRun("ip", "link", "show", "dev", l.hostLink); stillThere == nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// hostPrefixes lists the IPv4 prefixes this host has routes or addresses in (all tables).
func hostPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	routes, err := hostRun("ip", "-4", "-j", "route", "show", "table", "all")
	if err != nil {
		return nil, err
	}
	var rs []struct {
		Dst string `json:"dst"`
	}
	if err := json.Unmarshal([]byte(routes), &rs); err != nil {
		return nil, fmt.Errorf("ip -j route: %v", err)
	}
	for _, r := range rs {
		if r.Dst == "" || r.Dst == "default" {
			continue
		}
		if !strings.Contains(r.Dst, "/") {
			r.Dst += "/32"
		}
		if p, err := netip.ParsePrefix(r.Dst); err == nil {
			out = append(out, p)
		}
	}
	addrs, err := hostRun("ip", "-4", "-j", "addr")
	if err != nil {
		return nil, err
	}
	var as []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(addrs), &as); err != nil {
		return nil, fmt.Errorf("ip -j addr: %v", err)
	}
	for _, a := range as {
		for _, ai := range a.AddrInfo {
			if ip, err := netip.ParseAddr(ai.Local); err == nil {
				out = append(out, netip.PrefixFrom(ip, ai.PrefixLen).Masked())
			}
		}
	}
	return out, nil
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, q := range list {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}

// hostRun runs a command in the host's namespace and returns its combined output; the error
// holds the output too.
func hostRun(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
