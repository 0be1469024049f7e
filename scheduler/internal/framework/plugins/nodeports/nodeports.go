// Package nodeports is the NodePorts filter: two pods cannot bind the same hostPort and
// protocol on a node, where an empty or 0.0.0.0 hostIP conflicts with every address.
package nodeports

import (
	"context"

	"kube5/scheduler/internal/framework"
)

// Name is the plugin's name.
const Name = "NodePorts"

// ErrReason is upstream's reason.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

// Plugin is the NodePorts filter.
type Plugin struct{}

// New is the plugin's Factory.
func New(framework.Handle) (framework.Plugin, error) { return Plugin{}, nil }

// Name returns Name.
func (Plugin) Name() string { return Name }

// Filter rejects nodes where a wanted host port is taken.
func (Plugin) Filter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	for _, want := range pod.Ports {
		for _, used := range node.UsedPorts {
			if Conflict(want, used) {
				return framework.NewStatus(framework.Unschedulable, ErrReason)
			}
		}
	}
	return nil
}

// Conflict reports whether two host ports collide.
func Conflict(a, b framework.HostPort) bool {
	if a.Port != b.Port || a.Protocol != b.Protocol {
		return false
	}
	return wildcard(a.IP) || wildcard(b.IP) || a.IP == b.IP
}

func wildcard(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
