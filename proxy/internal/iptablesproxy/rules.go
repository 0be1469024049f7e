package iptablesproxy

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"

	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/proxy"
)

// Chains kube-proxy owns, with upstream's names.
const (
	kubeServices         iptables.Chain = "KUBE-SERVICES"
	kubeExternalServices iptables.Chain = "KUBE-EXTERNAL-SERVICES"
	kubeNodePorts        iptables.Chain = "KUBE-NODEPORTS"
	kubePostrouting      iptables.Chain = "KUBE-POSTROUTING"
	kubeMarkMasq         iptables.Chain = "KUBE-MARK-MASQ"
	kubeForward          iptables.Chain = "KUBE-FORWARD"

	svcPrefix = "KUBE-SVC-"
	sepPrefix = "KUBE-SEP-"
	extPrefix = "KUBE-EXT-"
)

// chainID is a chain in a table.
type chainID struct {
	table iptables.Table
	chain iptables.Chain
}

// The top-level chains: rewritten whole on a full sync, edited rule by rule (-D, -I) on a
// partial one, because rewriting KUBE-SERVICES of 10k rules takes iptables-nft most of a
// second while one -I takes milliseconds. Their per-service rules never depend on their
// order among each other (each matches its own IP, port and protocol); only the static
// rules below have a place (the KUBE-NODEPORTS jump must stay last, so service rules are
// inserted at the top).
var topChains = []chainID{
	{iptables.TableNAT, kubeServices},
	{iptables.TableNAT, kubeNodePorts},
	{iptables.TableFilter, kubeServices},
	{iptables.TableFilter, kubeExternalServices},
}

// staticChains are written on a full sync only; their rules never change at run time.
var staticChains = []chainID{
	{iptables.TableNAT, kubeMarkMasq},
	{iptables.TableNAT, kubePostrouting},
	{iptables.TableFilter, kubeForward},
}

// jumpRule is a rule in a built-in chain that leads into ours.
type jumpRule struct {
	table iptables.Table
	from  iptables.Chain
	args  []string
}

// jumpRules are upstream's, ensured with iptables -C/-I on every full sync.
var jumpRules = []jumpRule{
	{iptables.TableNAT, iptables.ChainOutput, []string{"-m", "comment", "--comment", "kubernetes service portals", "-j", string(kubeServices)}},
	{iptables.TableNAT, iptables.ChainPrerouting, []string{"-m", "comment", "--comment", "kubernetes service portals", "-j", string(kubeServices)}},
	{iptables.TableNAT, iptables.ChainPostrouting, []string{"-m", "comment", "--comment", "kubernetes postrouting rules", "-j", string(kubePostrouting)}},
	{iptables.TableFilter, iptables.ChainInput, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes externally-visible service portals", "-j", string(kubeExternalServices)}},
	{iptables.TableFilter, iptables.ChainForward, []string{"-m", "comment", "--comment", "kubernetes forwarding rules", "-j", string(kubeForward)}},
	{iptables.TableFilter, iptables.ChainForward, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", string(kubeServices)}},
	{iptables.TableFilter, iptables.ChainOutput, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", string(kubeServices)}},
}

// ruleset is the rules kube-proxy wants: per-service chains whole, and the per-service
// rules of the top-level chains.
type ruleset struct {
	// chains holds KUBE-SVC-, KUBE-SEP- and KUBE-EXT- chains (nat) with their rules.
	chains map[iptables.Chain][]string
	// top holds, per top-level chain, its per-service rules (static rules excluded).
	top map[chainID][]string
}

// hashName is upstream's chain-name hash: the first 16 characters of the base32 of the
// SHA-256 of the service port name and protocol (and endpoint), so names are stable
// across restarts and short enough for iptables' 28-character limit.
func hashName(prefix string, parts ...string) iptables.Chain {
	h := sha256.Sum256([]byte(strings.Join(parts, "")))
	return iptables.Chain(prefix + base32.StdEncoding.EncodeToString(h[:])[:16])
}

func svcChain(spn proxy.ServicePortName) iptables.Chain {
	return hashName(svcPrefix, spn.String(), spn.Protocol)
}

func extChain(spn proxy.ServicePortName) iptables.Chain {
	return hashName(extPrefix, spn.String(), spn.Protocol)
}

func sepChain(spn proxy.ServicePortName, ep proxy.Endpoint) iptables.Chain {
	return hashName(sepPrefix, spn.String(), spn.Protocol, ep.String())
}

// protoMatch is "-p tcp -m tcp".
func protoMatch(protocol string) string {
	p := strings.ToLower(protocol)
	return "-p " + p + " -m " + p
}

// renderConfig is what rendering depends on besides the services.
type renderConfig struct {
	clusterCIDR string // "" : no masquerade rule for off-cluster sources
	masqMark    string // e.g. 0x4000
}

func newRuleset() *ruleset {
	return &ruleset{chains: map[iptables.Chain][]string{}, top: map[chainID][]string{}}
}

// sortPorts orders service ports by name, so the top-level chains of a full sync always
// come out the same.
func sortPorts(names []proxy.ServicePortName) {
	keys := make(map[proxy.ServicePortName]string, len(names))
	for _, n := range names {
		keys[n] = n.String() + "/" + n.Protocol
	}
	slices.SortFunc(names, func(a, b proxy.ServicePortName) int { return strings.Compare(keys[a], keys[b]) })
}

// renderPorts renders the named service ports (those without a Service render nothing)
// into one ruleset, and returns each port's own rules too, which the proxier keeps as
// what it wrote. Endpoint lists are sorted, so the same state always renders the same
// text and an unchanged service compares equal to what was written.
func renderPorts(names []proxy.ServicePortName, svcs proxy.ServiceMap, eps proxy.EndpointsMap, cfg renderConfig) (*ruleset, map[proxy.ServicePortName]*ruleset) {
	sortPorts(names)
	all := newRuleset()
	per := make(map[proxy.ServicePortName]*ruleset, len(names))
	for _, n := range names {
		sp, ok := svcs[n]
		if !ok {
			continue
		}
		rs := newRuleset()
		renderServicePort(rs, sp, eps[n], cfg)
		per[n] = rs
		all.merge(rs)
	}
	return all, per
}

// merge adds o's rules to rs.
func (rs *ruleset) merge(o *ruleset) {
	for c, rules := range o.chains {
		rs.chains[c] = rules
	}
	for id, rules := range o.top {
		rs.top[id] = append(rs.top[id], rules...)
	}
}

func (rs *ruleset) addTop(table iptables.Table, chain iptables.Chain, format string, a ...any) {
	id := chainID{table, chain}
	rs.top[id] = append(rs.top[id], "-A "+string(chain)+" "+fmt.Sprintf(format, a...))
}

func (rs *ruleset) add(chain iptables.Chain, format string, a ...any) {
	rs.chains[chain] = append(rs.chains[chain], "-A "+string(chain)+" "+fmt.Sprintf(format, a...))
}

func renderServicePort(rs *ruleset, sp *proxy.ServicePort, eps []proxy.Endpoint, cfg renderConfig) {
	spn := sp.Name
	name := spn.String()
	pm := protoMatch(spn.Protocol)
	dst := fmt.Sprintf("-d %s/32 %s --dport %d", sp.ClusterIP, pm, sp.Port)
	if len(eps) == 0 {
		// REJECT in filter so a client gets "connection refused" at once instead of its
		// SYN dying on the service-CIDR guard bridge.
		rs.addTop(iptables.TableFilter, kubeServices, `-m comment --comment "%s has no endpoints" %s -j REJECT`, name, dst)
		if sp.NodePort != 0 {
			rs.addTop(iptables.TableFilter, kubeExternalServices, `-m comment --comment "%s has no endpoints" -m addrtype --dst-type LOCAL %s --dport %d -j REJECT`, name, pm, sp.NodePort)
		}
		return
	}
	svc := svcChain(spn)
	rs.addTop(iptables.TableNAT, kubeServices, `-m comment --comment "%s cluster IP" %s -j %s`, name, dst, svc)
	if cfg.clusterCIDR != "" {
		rs.add(svc, `-m comment --comment "%s cluster IP" ! -s %s %s -j %s`, name, cfg.clusterCIDR, dst, kubeMarkMasq)
	}
	if sp.NodePort != 0 {
		ext := extChain(spn)
		rs.addTop(iptables.TableNAT, kubeNodePorts, `-m comment --comment %s %s --dport %d -j %s`, name, pm, sp.NodePort, ext)
		rs.add(ext, `-m comment --comment "masquerade traffic for %s external destinations" -j %s`, name, kubeMarkMasq)
		rs.add(ext, `-j %s`, svc)
	}
	seps := make([]iptables.Chain, len(eps))
	for i, ep := range eps {
		seps[i] = sepChain(spn, ep)
	}
	if sp.StickySeconds > 0 {
		// A client seen within the timeout goes back to the endpoint it used; the SEP
		// chain's --set refreshes the entry on every new connection.
		for i, ep := range eps {
			rs.add(svc, `-m comment --comment "%s -> %s" -m recent --name %s --rcheck --seconds %d --reap -j %s`, name, ep, seps[i], sp.StickySeconds, seps[i])
		}
	}
	for i, ep := range eps {
		// Endpoint i of n is taken with probability 1/(n-i) among those left, which
		// gives every endpoint an equal share.
		if n := len(eps) - i; n > 1 {
			rs.add(svc, `-m comment --comment "%s -> %s" -m statistic --mode random --probability %0.10f -j %s`, name, ep, 1.0/float64(n), seps[i])
		} else {
			rs.add(svc, `-m comment --comment "%s -> %s" -j %s`, name, ep, seps[i])
		}
		sep := seps[i]
		// Hairpin: a pod reaching itself through its service must be masqueraded, or
		// it would answer itself directly and the client would drop the reply.
		rs.add(sep, `-m comment --comment %s -s %s/32 -j %s`, name, ep.IP, kubeMarkMasq)
		recent := ""
		if sp.StickySeconds > 0 {
			recent = fmt.Sprintf("-m recent --name %s --set ", sep)
		}
		rs.add(sep, `-m comment --comment %s %s%s -j DNAT --to-destination %s`, name, recent, pm, ep)
	}
}

// staticRules returns the rules of a static chain, and of the fixed tail of a top chain.
func staticRules(id chainID, cfg renderConfig) []string {
	switch id {
	case chainID{iptables.TableNAT, kubeMarkMasq}:
		return []string{fmt.Sprintf("-A %s -j MARK --or-mark %s", kubeMarkMasq, cfg.masqMark)}
	case chainID{iptables.TableNAT, kubePostrouting}:
		return []string{
			fmt.Sprintf("-A %s -m mark ! --mark %s/%s -j RETURN", kubePostrouting, cfg.masqMark, cfg.masqMark),
			// Clear the mark so a packet re-traversing (e.g. after IPsec) is not masqueraded twice.
			fmt.Sprintf("-A %s -j MARK --xor-mark %s", kubePostrouting, cfg.masqMark),
			fmt.Sprintf(`-A %s -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE`, kubePostrouting),
		}
	case chainID{iptables.TableFilter, kubeForward}:
		return []string{
			fmt.Sprintf("-A %s -m conntrack --ctstate INVALID -j DROP", kubeForward),
			fmt.Sprintf(`-A %s -m comment --comment "kubernetes forwarding rules" -m mark --mark %s/%s -j ACCEPT`, kubeForward, cfg.masqMark, cfg.masqMark),
			fmt.Sprintf(`-A %s -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, kubeForward),
		}
	case chainID{iptables.TableNAT, kubeServices}:
		return []string{fmt.Sprintf(`-A %s -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j %s`, kubeServices, kubeNodePorts)}
	}
	return nil
}

// ownedChain reports whether a nat chain name is one of the per-service chains.
func ownedChain(c iptables.Chain) bool {
	s := string(c)
	return strings.HasPrefix(s, svcPrefix) || strings.HasPrefix(s, sepPrefix) || strings.HasPrefix(s, extPrefix)
}
