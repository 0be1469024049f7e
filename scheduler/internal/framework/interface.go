package framework

import (
	"context"
	"fmt"
	"strings"
	"sync"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/informer"
)

// Code is the outcome of a plugin call.
type Code int

const (
	// Success: the node fits (Filter) or the step worked.
	Success Code = iota
	// Unschedulable: the node does not fit now but might after a cluster change.
	Unschedulable
	// UnschedulableAndUnresolvable: the node does not fit, whatever else changes on it
	// (a nodeSelector mismatch); kept apart as upstream, for preemption.
	UnschedulableAndUnresolvable
	// Error: the plugin failed; the pod is retried with backoff.
	Error
)

// Status is a plugin's answer; nil means Success.
type Status struct {
	Code    Code
	Reasons []string
	Plugin  string
	Err     error
}

// NewStatus returns a status with reasons.
func NewStatus(code Code, reasons ...string) *Status { return &Status{Code: code, Reasons: reasons} }

// AsStatus wraps an error.
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{Code: Error, Reasons: []string{err.Error()}, Err: err}
}

// IsSuccess reports whether s is nil or Success.
func (s *Status) IsSuccess() bool { return s == nil || s.Code == Success }

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.Reasons, ", ")
}

// AsError returns the status as an error (nil for success).
func (s *Status) AsError() error {
	if s.IsSuccess() {
		return nil
	}
	if s.Err != nil {
		return s.Err
	}
	return fmt.Errorf("%s", s.Message())
}

// CycleState carries data from a plugin's PreFilter/PreScore to its Filter/Score calls in
// one scheduling cycle. Writes happen in PreFilter/PreScore before the parallel
// Filter/Score reads, which run once per node and plugin: a sync.Map makes those reads
// lock-free while staying safe whatever the order.
type CycleState struct {
	m sync.Map
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState { return &CycleState{} }

// Write stores v under key.
func (c *CycleState) Write(key string, v any) { c.m.Store(key, v) }

// Read returns the value under key (nil if none).
func (c *CycleState) Read(key string) any {
	v, _ := c.m.Load(key)
	return v
}

// Plugin is any plugin.
type Plugin interface{ Name() string }

// PreFilterPlugin computes, once per pod, what its Filter needs; nodes is the snapshot.
// A non-success status makes the pod unschedulable on every node.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status
}

// FilterPlugin says whether pod fits node. It runs concurrently for different nodes.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *PodInfo, node *NodeInfo) *Status
}

// PreScorePlugin computes, once per pod, what its Score needs; feasible are the nodes
// that passed the filters, all the snapshot's nodes.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *PodInfo, feasible, all []*NodeInfo) *Status
}

// MaxNodeScore is the highest score a plugin gives after normalisation.
const MaxNodeScore int64 = 100

// ScorePlugin ranks a feasible node; it runs concurrently for different nodes.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *PodInfo, node *NodeInfo) (int64, *Status)
}

// NormalizeScorePlugin is a ScorePlugin whose raw scores are mapped to [0, MaxNodeScore]
// once all nodes are scored; scores[i] belongs to nodes[i].
type NormalizeScorePlugin interface {
	ScorePlugin
	NormalizeScore(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo, scores []int64) *Status
}

// Listers are the informer caches plugins may read besides the snapshot.
type Listers struct {
	Services               informer.Lister[*corev1.Service]
	ReplicationControllers informer.Lister[*corev1.ReplicationController]
	ReplicaSets            informer.Lister[*appsv1.ReplicaSet]
	Namespaces             informer.Lister[*corev1.Namespace]
}

// Handle is what a plugin constructor gets.
type Handle struct {
	Listers Listers
}

// Factory builds a plugin.
type Factory func(h Handle) (Plugin, error)

// Registry maps plugin names to constructors; it is built explicitly, never by init().
type Registry map[string]Factory

// PluginConfig enables a plugin in a profile; Weight counts for Score plugins.
type PluginConfig struct {
	Name   string
	Weight int64
}

// MinMaxNormalize maps scores linearly onto [0, MaxNodeScore] (highest raw score ->
// MaxNodeScore); reverse maps the lowest raw score to MaxNodeScore instead. All-equal
// scores become MaxNodeScore (or 0 when reverse is false and all are 0).
func MinMaxNormalize(scores []int64, reverse bool) {
	if len(scores) == 0 {
		return
	}
	var maxv int64
	for _, s := range scores {
		maxv = max(maxv, s)
	}
	for i, s := range scores {
		switch {
		case maxv == 0 && reverse:
			scores[i] = MaxNodeScore
		case maxv == 0:
			scores[i] = 0
		case reverse:
			scores[i] = MaxNodeScore - s*MaxNodeScore/maxv
		default:
			scores[i] = s * MaxNodeScore / maxv
		}
	}
}
