// Package tainttoleration is the TaintToleration plugin: the filter rejects nodes with a
// NoSchedule or NoExecute taint the pod does not tolerate; the score prefers nodes with
// fewer untolerated PreferNoSchedule taints.
package tainttoleration

import (
	"context"
	"fmt"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
)

// Name is the plugin's name.
const Name = "TaintToleration"

// Plugin is the TaintToleration plugin.
type Plugin struct{}

// New is the plugin's Factory.
func New(framework.Handle) (framework.Plugin, error) { return Plugin{}, nil }

// Name returns Name.
func (Plugin) Name() string { return Name }

// Filter names the first untolerated taint, as upstream: "node(s) had untolerated taint
// {key: value}".
func (Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	tols := pod.Pod.GetSpec().GetTolerations()
	for _, t := range node.Node.GetSpec().GetTaints() {
		if t.GetEffect() != "NoSchedule" && t.GetEffect() != "NoExecute" {
			continue
		}
		if !framework.Tolerates(tols, t) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable,
				fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.GetKey(), t.GetValue()))
		}
	}
	return nil
}

// Score counts the PreferNoSchedule taints the pod does not tolerate (with tolerations
// whose effect is PreferNoSchedule or empty, as upstream).
func (Plugin) Score(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	var tols []*corev1.Toleration
	for _, t := range pod.Pod.GetSpec().GetTolerations() {
		if t.GetEffect() == "" || t.GetEffect() == "PreferNoSchedule" {
			tols = append(tols, t)
		}
	}
	var n int64
	for _, t := range node.Node.GetSpec().GetTaints() {
		if t.GetEffect() == "PreferNoSchedule" && !framework.Tolerates(tols, t) {
			n++
		}
	}
	return n, nil
}

// NormalizeScore reverses the counts: fewest untolerated taints -> 100.
func (Plugin) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *framework.PodInfo, _ []*framework.NodeInfo, scores []int64) *framework.Status {
	framework.MinMaxNormalize(scores, true)
	return nil
}
