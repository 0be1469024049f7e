// Package iptables runs iptables, iptables-restore and iptables-save for kube-proxy. The
// proxier talks to it through Interface so unit tests can record calls with the fake;
// real-kernel tests run the same code inside a network namespace by giving the Exec
// runner an `nsenter --net=...` prefix.
package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

// Table is an iptables table.
type Table string

// Chain is an iptables chain name.
type Chain string

const (
	TableNAT    Table = "nat"
	TableFilter Table = "filter"

	ChainPrerouting  Chain = "PREROUTING"
	ChainOutput      Chain = "OUTPUT"
	ChainPostrouting Chain = "POSTROUTING"
	ChainInput       Chain = "INPUT"
	ChainForward     Chain = "FORWARD"
)

// RulePosition says where EnsureRule adds a missing rule.
type RulePosition string

const (
	Prepend RulePosition = "-I"
	Append  RulePosition = "-A"
)

// Interface is what the proxiers need from iptables.
type Interface interface {
	// EnsureChain creates chain in table if it does not exist; it reports whether it existed.
	EnsureChain(table Table, chain Chain) (bool, error)
	// EnsureRule adds the rule (iptables arguments after the chain) at pos unless an
	// identical rule exists (iptables -C); it reports whether it existed.
	EnsureRule(pos RulePosition, table Table, chain Chain, args ...string) (bool, error)
	// DeleteRule removes the rule if present.
	DeleteRule(table Table, chain Chain, args ...string) error
	// FlushChain empties chain; DeleteChain removes it (it must be empty and unreferenced).
	// Both ignore a chain that does not exist.
	FlushChain(table Table, chain Chain) error
	DeleteChain(table Table, chain Chain) error
	// SaveInto writes `iptables-save -t table` into buf.
	SaveInto(table Table, buf *bytes.Buffer) error
	// Restore feeds data to `iptables-restore --noflush`. data may hold
	// several `*table ... COMMIT` blocks: each block is one kernel transaction.
	Restore(data []byte) error
}

// Exec runs a command with stdin and returns its combined output.
type Exec func(ctx context.Context, name string, args []string, stdin []byte) ([]byte, error)

// HostExec runs commands on this host; prefix is prepended to every command line (for
// example nsenter --net=/var/run/netns/x, so tests program a namespace of their own).
func HostExec(prefix ...string) Exec {
	return func(ctx context.Context, name string, args []string, stdin []byte) ([]byte, error) {
		argv := append(append(append([]string(nil), prefix...), name), args...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		return cmd.CombinedOutput()
	}
}

// runner is the Interface over real binaries.
type runner struct {
	exec    Exec
	timeout time.Duration
}

// New returns an Interface running iptables through exec.
func New(exec Exec) Interface {
	return &runner{exec: exec, timeout: 5 * time.Minute}
}

// Error is a failed iptables command with its output.
type Error struct {
	Cmd    string
	Output string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %v: %s", e.Cmd, e.Err, strings.TrimSpace(e.Output))
}

func (e *Error) Unwrap() error { return e.Err }

// exitCode returns the command's exit code, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func (r *runner) run(name string, args []string, stdin []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	start := time.Now()
	// -w: wait for the xtables lock instead of failing when Docker or the user runs
	// iptables at the same moment.
	if name == "iptables" || name == "iptables-restore" {
		args = append([]string{"-w"}, args...)
	}
	out, err := r.exec(ctx, name, args, stdin)
	klog.V(5).InfoS("Ran iptables command", "cmd", name, "args", args, "elapsed", time.Since(start), "err", err)
	if err != nil {
		return out, &Error{Cmd: name + " " + strings.Join(args, " "), Output: string(out), Err: err}
	}
	return out, nil
}

func (r *runner) EnsureChain(table Table, chain Chain) (bool, error) {
	out, err := r.run("iptables", []string{"-t", string(table), "-N", string(chain)}, nil)
	if err == nil {
		return false, nil
	}
	if exitCode(errors.Unwrap(err)) == 1 && strings.Contains(string(out), "exists") {
		return true, nil
	}
	return false, err
}

func (r *runner) EnsureRule(pos RulePosition, table Table, chain Chain, args ...string) (bool, error) {
	check := append([]string{"-t", string(table), "-C", string(chain)}, args...)
	if _, err := r.run("iptables", check, nil); err == nil {
		return true, nil
	} else if exitCode(errors.Unwrap(err)) != 1 {
		return false, err
	}
	add := append([]string{"-t", string(table), string(pos), string(chain)}, args...)
	_, err := r.run("iptables", add, nil)
	return false, err
}

func (r *runner) DeleteRule(table Table, chain Chain, args ...string) error {
	check := append([]string{"-t", string(table), "-C", string(chain)}, args...)
	if out, err := r.run("iptables", check, nil); err != nil {
		if exitCode(errors.Unwrap(err)) == 1 || isNoChain(out) {
			return nil // not there, or the chain it jumps to is not there
		}
		return err
	}
	del := append([]string{"-t", string(table), "-D", string(chain)}, args...)
	_, err := r.run("iptables", del, nil)
	return err
}

func (r *runner) FlushChain(table Table, chain Chain) error {
	out, err := r.run("iptables", []string{"-t", string(table), "-F", string(chain)}, nil)
	if err != nil && isNoChain(out) {
		return nil
	}
	return err
}

func (r *runner) DeleteChain(table Table, chain Chain) error {
	out, err := r.run("iptables", []string{"-t", string(table), "-X", string(chain)}, nil)
	if err != nil && isNoChain(out) {
		return nil
	}
	return err
}

func isNoChain(out []byte) bool {
	s := string(out)
	return strings.Contains(s, "No chain") || strings.Contains(s, "does not exist")
}

func (r *runner) SaveInto(table Table, buf *bytes.Buffer) error {
	out, err := r.run("iptables-save", []string{"-t", string(table)}, nil)
	if err != nil {
		return err
	}
	buf.Write(out)
	return nil
}

func (r *runner) Restore(data []byte) error {
	_, err := r.run("iptables-restore", []string{"--noflush"}, data)
	return err
}

// ChainsInSave returns the chains declared in iptables-save output of one table.
func ChainsInSave(save []byte) map[Chain]bool {
	chains := map[Chain]bool{}
	for _, line := range bytes.Split(save, []byte("\n")) {
		if len(line) > 1 && line[0] == ':' {
			if i := bytes.IndexByte(line, ' '); i > 1 {
				chains[Chain(line[1:i])] = true
			}
		}
	}
	return chains
}
