// Package nodeready is the NodeReady filter: a node whose Ready condition is not True
// takes no pods, unless the pod tolerates the node.kubernetes.io/not-ready:NoSchedule
// taint. Upstream relies on the node lifecycle controller tainting such nodes
// (TaintNodesByCondition); checking the condition too keeps a node that just went
// NotReady from receiving pods in the seconds before it is tainted, as upstream's old
// node-condition predicate did. A node that reports no Ready condition at all counts as
// ready (fake and freshly registered nodes).
package nodeready

import (
	"context"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
)

// Name is the plugin's name.
const Name = "NodeReady"

// ErrReason is upstream's old ErrNodeNotReady reason.
const ErrReason = "node(s) were not ready"

var notReadyTaint = &corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: "NoSchedule"}

// Plugin is the NodeReady filter.
type Plugin struct{}

// New is the plugin's Factory.
func New(framework.Handle) (framework.Plugin, error) { return Plugin{}, nil }

// Name returns Name.
func (Plugin) Name() string { return Name }

// Filter rejects nodes that are not ready.
func (Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if node.Ready || framework.Tolerates(pod.Pod.GetSpec().GetTolerations(), notReadyTaint) {
		return nil
	}
	return framework.NewStatus(framework.Unschedulable, ErrReason)
}
