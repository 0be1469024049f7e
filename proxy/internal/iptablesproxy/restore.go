package iptablesproxy

import (
	"bytes"
	"slices"
	"strings"

	"kube5/proxy/internal/iptables"
)

// plan is one iptables-restore input and what it changes.
type plan struct {
	data          []byte
	chainsWritten int
	chainsDeleted int
	topEdits      int
}

// chainOrder sorts chains so every jump target is written before the chains that jump to
// it: KUBE-SEP before KUBE-SVC before KUBE-EXT.
func chainOrder(a, b iptables.Chain) int {
	rank := func(c iptables.Chain) int {
		switch {
		case strings.HasPrefix(string(c), sepPrefix):
			return 0
		case strings.HasPrefix(string(c), svcPrefix):
			return 1
		default:
			return 2
		}
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(string(a), string(b))
}

// buildPlan writes the restore input that takes the kernel from prev to want.
//
// One iptables-restore, several transactions (one per "*table ... COMMIT" block), in this
// order: per-service chains bottom-up in blocks of at most chunk chains, then the
// top-level chains, then the deletion of stale chains. Each transaction leaves a
// consistent table: a jump always finds its target, and a chain is deleted only after
// the rule that jumped to it is gone (iptables-nft refuses -X of a chain a rule removed
// in the same transaction still referenced). Blocks are bounded because iptables-nft's
// restore time grows with the square of the chains in one transaction: 30k chains take
// a minute as one block and two seconds as thirty.
//
// full rewrites every chain and the top-level chains whole; otherwise only chains whose
// rules differ from prev are written and top-level chains are edited with -D and -I.
// prev is what was written for the same service ports; stale lists chains to delete
// besides the per-service chains prev has and want lacks.
func buildPlan(want, prev *ruleset, full bool, stale map[iptables.Chain]bool, cfg renderConfig, chunk int) *plan {
	p := &plan{}
	var buf bytes.Buffer

	var toWrite []iptables.Chain
	for c, rules := range want.chains {
		if old, ok := prev.chains[c]; full || !ok || !slices.Equal(old, rules) {
			toWrite = append(toWrite, c)
		}
	}
	slices.SortFunc(toWrite, chainOrder)
	p.chainsWritten = len(toWrite)
	if full {
		// KUBE-MARK-MASQ first: every KUBE-SEP chain jumps to it.
		buf.WriteString("*nat\n")
		buf.WriteString(":" + string(kubeMarkMasq) + " - [0:0]\n")
		for _, r := range staticRules(chainID{iptables.TableNAT, kubeMarkMasq}, cfg) {
			buf.WriteString(r + "\n")
		}
		buf.WriteString("COMMIT\n")
	}
	// On a partial sync the nat top-level edits join the last chain block: the kernel
	// validates the whole jump graph of the table once per transaction that adds a jump,
	// which at 10k services costs ~0.1s, so one transaction instead of two halves the
	// time of adding a service.
	natOpen := false
	for start := 0; start < len(toWrite); start += chunk {
		block := toWrite[start:min(start+chunk, len(toWrite))]
		buf.WriteString("*nat\n")
		for _, c := range block {
			buf.WriteString(":" + string(c) + " - [0:0]\n")
		}
		for _, c := range block {
			for _, r := range want.chains[c] {
				buf.WriteString(r + "\n")
			}
		}
		if !full && start+chunk >= len(toWrite) {
			natOpen = true
			break
		}
		buf.WriteString("COMMIT\n")
	}

	for _, table := range []iptables.Table{iptables.TableNAT, iptables.TableFilter} {
		var decl, rules bytes.Buffer
		for _, id := range topChains {
			if id.table != table {
				continue
			}
			if full {
				decl.WriteString(":" + string(id.chain) + " - [0:0]\n")
				for _, r := range want.top[id] {
					rules.WriteString(r + "\n")
				}
				for _, r := range staticRules(id, cfg) {
					rules.WriteString(r + "\n")
				}
				continue
			}
			old := make(map[string]bool, len(prev.top[id]))
			for _, r := range prev.top[id] {
				old[r] = true
			}
			wantSet := make(map[string]bool, len(want.top[id]))
			for _, r := range want.top[id] {
				wantSet[r] = true
			}
			var removed []string
			for r := range old {
				if !wantSet[r] {
					removed = append(removed, r)
				}
			}
			slices.Sort(removed)
			for _, r := range removed {
				rules.WriteString("-D" + strings.TrimPrefix(r, "-A") + "\n")
				p.topEdits++
			}
			prefix := "-A " + string(id.chain) + " "
			for _, r := range want.top[id] {
				if !old[r] {
					// At the top: the KUBE-NODEPORTS jump must stay the last rule.
					rules.WriteString("-I " + string(id.chain) + " 1 " + strings.TrimPrefix(r, prefix) + "\n")
					p.topEdits++
				}
			}
		}
		if full {
			for _, id := range staticChains {
				if id.table != table || id.chain == kubeMarkMasq { // written first
					continue
				}
				decl.WriteString(":" + string(id.chain) + " - [0:0]\n")
				for _, r := range staticRules(id, cfg) {
					rules.WriteString(r + "\n")
				}
			}
		}
		if table == iptables.TableNAT && natOpen {
			natOpen = false
			buf.Write(rules.Bytes())
			buf.WriteString("COMMIT\n")
			continue
		}
		if decl.Len()+rules.Len() == 0 {
			continue
		}
		buf.WriteString("*" + string(table) + "\n")
		buf.Write(decl.Bytes())
		buf.Write(rules.Bytes())
		buf.WriteString("COMMIT\n")
	}

	var del []iptables.Chain
	for c := range prev.chains {
		if _, ok := want.chains[c]; !ok {
			del = append(del, c)
		}
	}
	for c := range stale {
		if _, ok := want.chains[c]; !ok {
			if _, dup := prev.chains[c]; !dup {
				del = append(del, c)
			}
		}
	}
	// Top-down: a chain goes in a block after (or with) every stale chain jumping to it.
	slices.SortFunc(del, func(a, b iptables.Chain) int { return chainOrder(b, a) })
	p.chainsDeleted = len(del)
	for start := 0; start < len(del); start += chunk {
		block := del[start:min(start+chunk, len(del))]
		buf.WriteString("*nat\n")
		for _, c := range block {
			buf.WriteString(":" + string(c) + " - [0:0]\n")
		}
		for _, c := range block {
			buf.WriteString("-X " + string(c) + "\n")
		}
		buf.WriteString("COMMIT\n")
	}
	p.data = buf.Bytes()
	return p
}
