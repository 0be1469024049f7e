// Package fake is an in-memory iptables.Interface for unit tests: it records every call
// and keeps the chains the restores declared, so a test can ask what a sync wrote.
package fake

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"kube5/proxy/internal/iptables"
)

// Call is one recorded call.
type Call struct {
	Op    string // EnsureChain, EnsureRule, DeleteRule, FlushChain, DeleteChain, Save, Restore
	Table iptables.Table
	Chain iptables.Chain
	Args  []string
	Data  string // Restore input
}

// IPTables is the fake. Set RestoreErr to make the next restores fail.
type IPTables struct {
	mu         sync.Mutex
	Calls      []Call
	RestoreErr error
	// Tables is table -> chain -> rules ("-A CHAIN ..." lines), updated by Restore and
	// the single-rule calls, so tests can check the outcome, not just the input.
	Tables map[iptables.Table]map[iptables.Chain][]string
}

// New returns an empty fake with the built-in chains.
func New() *IPTables {
	f := &IPTables{Tables: map[iptables.Table]map[iptables.Chain][]string{}}
	for _, c := range []iptables.Chain{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"} {
		f.chains(iptables.TableNAT)[c] = nil
	}
	for _, c := range []iptables.Chain{"INPUT", "FORWARD", "OUTPUT"} {
		f.chains(iptables.TableFilter)[c] = nil
	}
	return f
}

func (f *IPTables) chains(t iptables.Table) map[iptables.Chain][]string {
	if f.Tables[t] == nil {
		f.Tables[t] = map[iptables.Chain][]string{}
	}
	return f.Tables[t]
}

func (f *IPTables) record(c Call) {
	f.Calls = append(f.Calls, c)
}

// Restores returns the inputs of every Restore call so far and forgets the calls.
func (f *IPTables) Restores() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.Calls {
		if c.Op == "Restore" {
			out = append(out, c.Data)
		}
	}
	f.Calls = nil
	return out
}

// Rules returns a copy of one chain's rules; ok is false when the chain does not exist.
func (f *IPTables) Rules(t iptables.Table, c iptables.Chain) (rules []string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.chains(t)[c]
	return append([]string(nil), r...), ok
}

// Chains returns the names of a table's chains.
func (f *IPTables) Chains(t iptables.Table) []iptables.Chain {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []iptables.Chain
	for c := range f.chains(t) {
		out = append(out, c)
	}
	return out
}

func (f *IPTables) EnsureChain(t iptables.Table, c iptables.Chain) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "EnsureChain", Table: t, Chain: c})
	if _, ok := f.chains(t)[c]; ok {
		return true, nil
	}
	f.chains(t)[c] = nil
	return false, nil
}

func ruleLine(c iptables.Chain, args []string) string {
	return "-A " + string(c) + " " + strings.Join(args, " ")
}

func (f *IPTables) EnsureRule(pos iptables.RulePosition, t iptables.Table, c iptables.Chain, args ...string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "EnsureRule", Table: t, Chain: c, Args: args})
	rules, ok := f.chains(t)[c]
	if !ok {
		return false, fmt.Errorf("fake: no chain %s in %s", c, t)
	}
	line := ruleLine(c, args)
	for _, r := range rules {
		if r == line {
			return true, nil
		}
	}
	if pos == iptables.Prepend {
		f.chains(t)[c] = append([]string{line}, rules...)
	} else {
		f.chains(t)[c] = append(rules, line)
	}
	return false, nil
}

func (f *IPTables) DeleteRule(t iptables.Table, c iptables.Chain, args ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "DeleteRule", Table: t, Chain: c, Args: args})
	f.deleteRule(t, c, ruleLine(c, args))
	return nil
}

func (f *IPTables) deleteRule(t iptables.Table, c iptables.Chain, line string) bool {
	rules := f.chains(t)[c]
	for i, r := range rules {
		if r == line {
			f.chains(t)[c] = append(rules[:i:i], rules[i+1:]...)
			return true
		}
	}
	return false
}

func (f *IPTables) FlushChain(t iptables.Table, c iptables.Chain) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "FlushChain", Table: t, Chain: c})
	if _, ok := f.chains(t)[c]; ok {
		f.chains(t)[c] = nil
	}
	return nil
}

func (f *IPTables) DeleteChain(t iptables.Table, c iptables.Chain) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "DeleteChain", Table: t, Chain: c})
	delete(f.chains(t), c)
	return nil
}

// SaveInto renders the fake's state as iptables-save would (chains sorted by map order
// are fine: callers only read chain names and rules).
func (f *IPTables) SaveInto(t iptables.Table, buf *bytes.Buffer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "Save", Table: t})
	fmt.Fprintf(buf, "*%s\n", t)
	for c := range f.chains(t) {
		fmt.Fprintf(buf, ":%s - [0:0]\n", c)
	}
	for _, rules := range f.chains(t) {
		for _, r := range rules {
			buf.WriteString(r + "\n")
		}
	}
	buf.WriteString("COMMIT\n")
	return nil
}

// Restore applies the subset of iptables-restore --noflush syntax the proxiers write:
// "*table", ":CHAIN - [0:0]" (create or flush), "-A", "-I CHAIN 1", "-D", "-X", "COMMIT".
func (f *IPTables) Restore(data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "Restore", Data: string(data)})
	if f.RestoreErr != nil {
		return f.RestoreErr
	}
	var table iptables.Table
	for n, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		switch {
		case line == "" || line == "COMMIT":
		case strings.HasPrefix(line, "*"):
			table = iptables.Table(line[1:])
		case strings.HasPrefix(line, ":"):
			f.chains(table)[iptables.Chain(fields[0][1:])] = nil
		case len(fields) >= 2:
			c := iptables.Chain(fields[1])
			rules, ok := f.chains(table)[c]
			if !ok {
				return fmt.Errorf("fake restore line %d: no chain %s: %s", n+1, c, line)
			}
			switch fields[0] {
			case "-A":
				f.chains(table)[c] = append(rules, line)
			case "-I":
				rest := strings.TrimPrefix(line, "-I "+string(c)+" 1 ")
				f.chains(table)[c] = append([]string{"-A " + string(c) + " " + rest}, rules...)
			case "-D":
				if !f.deleteRule(table, c, "-A"+strings.TrimPrefix(line, "-D")) {
					return fmt.Errorf("fake restore line %d: no such rule: %s", n+1, line)
				}
			case "-X":
				if len(rules) > 0 {
					return fmt.Errorf("fake restore line %d: chain %s not empty", n+1, c)
				}
				delete(f.chains(table), c)
			default:
				return fmt.Errorf("fake restore line %d: unsupported: %s", n+1, line)
			}
		default:
			return fmt.Errorf("fake restore line %d: unsupported: %s", n+1, line)
		}
	}
	return nil
}

var _ iptables.Interface = (*IPTables)(nil)
