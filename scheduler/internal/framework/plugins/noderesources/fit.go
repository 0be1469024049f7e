// Package noderesources holds the resource plugins: NodeResourcesFit (the filter: a pod's
// requests must fit the node's allocatable minus what its pods request, plus the pod
// count; and the least-allocated score) and NodeResourcesBalancedAllocation (prefers
// nodes whose cpu and memory use stay in proportion).
package noderesources

import (
	"context"
	"math"

	"kube5/scheduler/internal/framework"
)

// Names of the plugins.
const (
	FitName      = "NodeResourcesFit"
	BalancedName = "NodeResourcesBalancedAllocation"
)

// Upstream's reasons.
const (
	ReasonTooManyPods      = "Too many pods"
	ReasonCPU              = "Insufficient cpu"
	ReasonMemory           = "Insufficient memory"
	ReasonEphemeralStorage = "Insufficient ephemeral-storage"
)

// Fit is the NodeResourcesFit plugin.
type Fit struct{}

// NewFit is Fit's Factory.
func NewFit(framework.Handle) (framework.Plugin, error) { return Fit{}, nil }

// Name returns FitName.
func (Fit) Name() string { return FitName }

// Filter lists every resource the node lacks, as upstream (so the message counts both
// "Insufficient cpu" and "Insufficient memory" for a node short of both).
func (Fit) Filter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	var reasons []string
	if int64(len(node.Pods))+1 > node.AllowedPods {
		reasons = append(reasons, ReasonTooManyPods)
	}
	req, used, alloc := pod.Requests, node.Requested, node.Allocatable
	if req.MilliCPU > 0 && req.MilliCPU > alloc.MilliCPU-used.MilliCPU {
		reasons = append(reasons, ReasonCPU)
	}
	if req.Memory > 0 && req.Memory > alloc.Memory-used.Memory {
		reasons = append(reasons, ReasonMemory)
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > alloc.EphemeralStorage-used.EphemeralStorage {
		reasons = append(reasons, ReasonEphemeralStorage)
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.Unschedulable, reasons...)
	}
	return nil
}

// Score is upstream's LeastAllocated strategy on cpu and memory, equally weighted: the
// share of each left free after placing the pod, 0..100.
func (Fit) Score(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	cpu := leastAllocated(node.NonZeroRequested.MilliCPU+pod.NonZero.MilliCPU, node.Allocatable.MilliCPU)
	mem := leastAllocated(node.NonZeroRequested.Memory+pod.NonZero.Memory, node.Allocatable.Memory)
	return (cpu + mem) / 2, nil
}

func leastAllocated(requested, capacity int64) int64 {
	if capacity <= 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}

// Balanced is the NodeResourcesBalancedAllocation plugin.
type Balanced struct{}

// NewBalanced is Balanced's Factory.
func NewBalanced(framework.Handle) (framework.Plugin, error) { return Balanced{}, nil }

// Name returns BalancedName.
func (Balanced) Name() string { return BalancedName }

// Score is (1 - the standard deviation of the cpu and memory fractions requested after
// placing the pod) * 100, as upstream: a node where the pod evens out cpu and memory
// use scores higher.
func (Balanced) Score(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	cpu := fraction(node.NonZeroRequested.MilliCPU+pod.NonZero.MilliCPU, node.Allocatable.MilliCPU)
	mem := fraction(node.NonZeroRequested.Memory+pod.NonZero.Memory, node.Allocatable.Memory)
	std := math.Abs(cpu-mem) / 2
	return int64((1 - std) * float64(framework.MaxNodeScore)), nil
}

func fraction(requested, capacity int64) float64 {
	if capacity <= 0 {
		return 1
	}
	return min(float64(requested)/float64(capacity), 1)
}
