package eviction

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "kube5/proto/api/meta/v1"
)

// Signal is an eviction signal, named as upstream's.
type Signal string

// The signals the kubelet observes.
const (
	MemoryAvailable   Signal = "memory.available"
	NodeFsAvailable   Signal = "nodefs.available"
	NodeFsInodesFree  Signal = "nodefs.inodesFree"
	ImageFsAvailable  Signal = "imagefs.available"
	ImageFsInodesFree Signal = "imagefs.inodesFree"
	PIDAvailable      Signal = "pid.available"
)

var signals = []Signal{MemoryAvailable, NodeFsAvailable, NodeFsInodesFree, ImageFsAvailable, ImageFsInodesFree, PIDAvailable}

// DefaultHard is upstream's --eviction-hard default on Linux.
const DefaultHard = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%"

// Threshold is one "signal<quantity" of --eviction-hard or --eviction-soft.
type Threshold struct {
	Signal Signal
	// Quantity is absolute (bytes, inodes, pids); when zero, Percentage (0-1] of the
	// signal's capacity applies.
	Quantity   int64
	Percentage float64
	// GracePeriod is how long a soft threshold must hold before it evicts (0: hard).
	GracePeriod time.Duration
	Hard        bool
	raw         string
}

func (t Threshold) String() string { return t.raw }

// Value is the threshold's amount for a signal of this capacity.
func (t Threshold) Value(capacity int64) int64 {
	if t.Quantity > 0 || t.Percentage == 0 {
		return t.Quantity
	}
	return int64(t.Percentage * float64(capacity))
}

// ParseThresholds reads --eviction-hard, --eviction-soft and --eviction-soft-grace-period
// (upstream's syntax: "memory.available<100Mi,nodefs.available<10%" and
// "memory.available=1m30s"). Errors name the flag and the entry to fix.
func ParseThresholds(hard, soft, softGrace string) ([]Threshold, error) {
	var out []Threshold
	h, err := parseList("--eviction-hard", hard, true)
	if err != nil {
		return nil, err
	}
	out = append(out, h...)
	s, err := parseList("--eviction-soft", soft, false)
	if err != nil {
		return nil, err
	}
	graces := map[Signal]time.Duration{}
	for _, e := range splitList(softGrace) {
		k, v, ok := strings.Cut(e, "=")
		if !ok || !knownSignal(Signal(k)) {
			return nil, fmt.Errorf("--eviction-soft-grace-period: %q is not SIGNAL=DURATION with a signal of %s", e, signalList())
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("--eviction-soft-grace-period: %q: the duration must be like 1m30s", e)
		}
		graces[Signal(k)] = d
	}
	for i := range s {
		g, ok := graces[s[i].Signal]
		if !ok {
			return nil, fmt.Errorf("--eviction-soft: %s has no grace period: add %s=DURATION to --eviction-soft-grace-period", s[i].raw, s[i].Signal)
		}
		s[i].GracePeriod = g
	}
	return append(out, s...), nil
}

func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func knownSignal(s Signal) bool {
	for _, k := range signals {
		if k == s {
			return true
		}
	}
	return false
}

func signalList() string {
	var names []string
	for _, s := range signals {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

func parseList(flag, v string, hard bool) ([]Threshold, error) {
	seen := map[Signal]bool{}
	var out []Threshold
	for _, e := range splitList(v) {
		k, q, ok := strings.Cut(e, "<")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not SIGNAL<QUANTITY (only < is supported), e.g. memory.available<100Mi", flag, e)
		}
		sig := Signal(k)
		if !knownSignal(sig) {
			return nil, fmt.Errorf("%s: unsupported eviction signal %q: use one of %s", flag, k, signalList())
		}
		if seen[sig] {
			return nil, fmt.Errorf("%s: %s is given twice", flag, sig)
		}
		seen[sig] = true
		t := Threshold{Signal: sig, Hard: hard, raw: e}
		if p, isPct := strings.CutSuffix(q, "%"); isPct {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || !(f > 0 && f <= 100) { // also NaN
				return nil, fmt.Errorf("%s: %q: the percentage must be in (0%%, 100%%]", flag, e)
			}
			t.Percentage = f / 100
		} else {
			n, err := metav1.ParseQuantity(q)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %v", flag, e, err)
			}
			if t.Quantity = n.Value(); t.Quantity <= 0 {
				return nil, fmt.Errorf("%s: %q: the quantity must be positive", flag, e)
			}
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Signal < out[j].Signal })
	return out, nil
}

// MemoryReserved is the hard memory.available threshold for a node of this memory
// capacity: upstream subtracts it from the node's allocatable memory.
func MemoryReserved(ts []Threshold, capacity int64) int64 {
	for _, t := range ts {
		if t.Hard && t.Signal == MemoryAvailable {
			return t.Value(capacity)
		}
	}
	return 0
}
