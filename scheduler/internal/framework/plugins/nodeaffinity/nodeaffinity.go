// Package nodeaffinity is the NodeAffinity plugin: the filter checks spec.nodeSelector and
// the required node affinity (terms ORed, requirements within a term ANDed; In, NotIn,
// Exists, DoesNotExist, Gt, Lt; matchFields on metadata.name); the score sums the weights
// of the preferred terms a node matches, normalised to 0..100.
package nodeaffinity

import (
	"context"

	"kube5/scheduler/internal/framework"
)

// Name is the plugin's name.
const Name = "NodeAffinity"

// ErrReason is upstream's reason.
const ErrReason = "node(s) didn't match Pod's node affinity/selector"

// Plugin is the NodeAffinity plugin.
type Plugin struct{}

// New is the plugin's Factory.
func New(framework.Handle) (framework.Plugin, error) { return Plugin{}, nil }

// Name returns Name.
func (Plugin) Name() string { return Name }

// Filter rejects nodes not matching the nodeSelector or the required affinity.
func (Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	lbls := node.Labels()
	spec := pod.Pod.GetSpec()
	for k, v := range spec.GetNodeSelector() {
		if got, ok := lbls[k]; !ok || got != v {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
		}
	}
	req := spec.GetAffinity().GetNodeAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()
	if req == nil {
		return nil
	}
	for _, term := range req.GetNodeSelectorTerms() {
		if framework.NodeSelectorTermMatches(term, node.Node) {
			return nil
		}
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
}

// Score sums the weights of the matching preferred terms.
func (Plugin) Score(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	var sum int64
	for _, t := range pod.Pod.GetSpec().GetAffinity().GetNodeAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution() {
		if t.GetWeight() != 0 && framework.NodeSelectorTermMatches(t.GetPreference(), node.Node) {
			sum += int64(t.GetWeight())
		}
	}
	return sum, nil
}

// NormalizeScore maps the sums onto 0..100.
func (Plugin) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *framework.PodInfo, _ []*framework.NodeInfo, scores []int64) *framework.Status {
	framework.MinMaxNormalize(scores, false)
	return nil
}
