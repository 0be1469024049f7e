// Package plugins lists the in-tree plugins and the default profile.
package plugins

import (
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/plugins/interpodaffinity"
	"kube5/scheduler/internal/framework/plugins/nodeaffinity"
	"kube5/scheduler/internal/framework/plugins/nodename"
	"kube5/scheduler/internal/framework/plugins/nodeports"
	"kube5/scheduler/internal/framework/plugins/nodeready"
	"kube5/scheduler/internal/framework/plugins/noderesources"
	"kube5/scheduler/internal/framework/plugins/nodeunschedulable"
	"kube5/scheduler/internal/framework/plugins/selectorspread"
	"kube5/scheduler/internal/framework/plugins/tainttoleration"
)

// NewRegistry returns every in-tree plugin by name.
func NewRegistry() framework.Registry {
	return framework.Registry{
		nodeunschedulable.Name:     nodeunschedulable.New,
		nodename.Name:              nodename.New,
		tainttoleration.Name:       tainttoleration.New,
		nodeready.Name:             nodeready.New,
		nodeaffinity.Name:          nodeaffinity.New,
		nodeports.Name:             nodeports.New,
		noderesources.FitName:      noderesources.NewFit,
		noderesources.BalancedName: noderesources.NewBalanced,
		interpodaffinity.Name:      interpodaffinity.New,
		selectorspread.Name:        selectorspread.New,
	}
}

// DefaultProfile is the default-scheduler's plugins, in filter order (cheap and
// unresolvable checks first, as upstream, so a node's first failure is the one
// reported), with upstream's default score weights; SelectorSpread takes the weight
// upstream gives PodTopologySpread, its successor.
func DefaultProfile() []framework.PluginConfig {
	return []framework.PluginConfig{
		{Name: nodeunschedulable.Name},
		{Name: nodename.Name},
		{Name: tainttoleration.Name, Weight: 3},
		{Name: nodeready.Name},
		{Name: nodeaffinity.Name, Weight: 2},
		{Name: nodeports.Name},
		{Name: noderesources.FitName, Weight: 1},
		{Name: interpodaffinity.Name, Weight: 2},
		{Name: noderesources.BalancedName, Weight: 1},
		{Name: selectorspread.Name, Weight: 2},
	}
}
