// Package nodename is the NodeName filter: a pod that names its node fits only there.
package nodename

import (
	"context"

	"kube5/scheduler/internal/framework"
)

// Name is the plugin's name.
const Name = "NodeName"

// ErrReason is upstream's reason.
const ErrReason = "node(s) didn't match the requested node name"

// Plugin is the NodeName filter.
type Plugin struct{}

// New is the plugin's Factory.
func New(framework.Handle) (framework.Plugin, error) { return Plugin{}, nil }

// Name returns Name.
func (Plugin) Name() string { return Name }

// Filter rejects every node but the one the pod names, if it names one.
func (Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if n := pod.Pod.GetSpec().GetNodeName(); n != "" && n != node.Name {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
	}
	return nil
}
