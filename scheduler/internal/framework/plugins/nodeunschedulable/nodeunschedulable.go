// Package nodeunschedulable is the NodeUnschedulable filter: cordoned nodes
// (spec.unschedulable) take no pods, except pods tolerating the
// node.kubernetes.io/unschedulable:NoSchedule taint, as upstream.
package nodeunschedulable

import (
	"context"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
)

// Name is the plugin's name.
const Name = "NodeUnschedulable"

// ErrReason is upstream's reason.
const ErrReason = "node(s) were unschedulable"

var unschedulableTaint = &corev1.Taint{Key: "node.kubernetes.io/unschedulable", Effect: "NoSchedule"}

// Plugin is the NodeUnschedulable filter.
type Plugin struct{}

// New is the plugin's Factory.
func New(framework.Handle) (framework.Plugin, error) { return Plugin{}, nil }

// Name returns Name.
func (Plugin) Name() string { return Name }

// Filter rejects cordoned nodes.
func (Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if !node.Node.GetSpec().GetUnschedulable() {
		return nil
	}
	if framework.Tolerates(pod.Pod.GetSpec().GetTolerations(), unschedulableTaint) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
}
