package noderesources_test

import (
	"slices"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/noderesources"
)

func TestNodeResourcesFitFilter(t *testing.T) {
	p, _ := noderesources.NewFit(framework.Handle{})
	n := fake.NodeInfo(fake.Node("n", "2", "4Gi"), fake.Pod("e1", "1", "1Gi"), fake.Pod("e2", "500m", "2Gi"))
	twoPods := fake.NodeInfo(fake.Node("n", "2", "4Gi", func(n *corev1.Node) {
		n.Status.Allocatable["pods"] = metav1.MustParseQuantity("2")
	}), fake.Pod("e1", "", ""), fake.Pod("e2", "", ""))
	initC := func(cpu string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.InitContainers = []*corev1.Container{{Name: "init", Resources: &corev1.ResourceRequirements{
				Requests: map[string]*metav1.Quantity{"cpu": metav1.MustParseQuantity(cpu)}}}}
		}
	}
	limitsOnly := func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{Limits: map[string]*metav1.Quantity{"cpu": metav1.MustParseQuantity("1")}}
	}
	fake.RunFilterTable(t, p, []fake.FilterCase{
		{Name: "fits exactly", Pod: fake.Pod("p", "500m", "1Gi"), Node: n, WantReason: ""},
		{Name: "best effort", Pod: fake.Pod("p", "", ""), Node: n, WantReason: ""},
		{Name: "too much cpu", Pod: fake.Pod("p", "501m", ""), Node: n, WantReason: noderesources.ReasonCPU},
		{Name: "too much memory", Pod: fake.Pod("p", "", "1025Mi"), Node: n, WantReason: noderesources.ReasonMemory},
		{Name: "both", Pod: fake.Pod("p", "1", "2Gi"), Node: n, WantReason: noderesources.ReasonCPU + ", " + noderesources.ReasonMemory},
		{Name: "too many pods", Pod: fake.Pod("p", "", ""), Node: twoPods, WantReason: noderesources.ReasonTooManyPods},
		{Name: "init container dominates", Pod: fake.Pod("p", "100m", "", initC("600m")), Node: n, WantReason: noderesources.ReasonCPU},
		{Name: "init container smaller", Pod: fake.Pod("p", "400m", "", initC("200m")), Node: n, WantReason: ""},
		{Name: "limits count as requests", Pod: fake.Pod("p", "", "", limitsOnly), Node: n, WantReason: noderesources.ReasonCPU},
	})
}

func TestLeastAllocatedScore(t *testing.T) {
	p, _ := noderesources.NewFit(framework.Handle{})
	for _, c := range []struct {
		name  string
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		{"empty nodes, different sizes", fake.Pod("p", "1", "1Gi"),
			[]*framework.NodeInfo{fake.NodeInfo(fake.Node("a", "4", "4Gi")), fake.NodeInfo(fake.Node("b", "2", "2Gi"))},
			[]int64{75, 50}},
		{"existing load", fake.Pod("p", "1", "1Gi"),
			[]*framework.NodeInfo{fake.NodeInfo(fake.Node("a", "4", "4Gi"), fake.Pod("e", "2", "2Gi")), fake.NodeInfo(fake.Node("b", "4", "4Gi"))},
			[]int64{25, 75}},
		{"best effort counts 100m/200Mi", fake.Pod("p", "", ""),
			[]*framework.NodeInfo{fake.NodeInfo(fake.Node("a", "1", "2000Mi"))},
			[]int64{(90 + 90) / 2}},
		{"over capacity scores 0", fake.Pod("p", "8", "8Gi"),
			[]*framework.NodeInfo{fake.NodeInfo(fake.Node("a", "4", "4Gi"))},
			[]int64{0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fake.Scores(t, p, c.pod, c.nodes...); !slices.Equal(got, c.want) {
				t.Errorf("scores %v, want %v", got, c.want)
			}
		})
	}
}

func TestBalancedAllocationScore(t *testing.T) {
	p, _ := noderesources.NewBalanced(framework.Handle{})
	for _, c := range []struct {
		name  string
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		{"balanced vs lopsided", fake.Pod("p", "1", "1Gi"),
			[]*framework.NodeInfo{fake.NodeInfo(fake.Node("a", "4", "4Gi")), fake.NodeInfo(fake.Node("b", "4", "4Gi"), fake.Pod("e", "2", ""))},
			// a: cpu 1/4, memory 1/4 -> 100. b: cpu 3/4; memory (1Gi + the existing pod's
			// default 200Mi)/4Gi = 0.2988 -> (1 - |0.75-0.2988|/2) * 100 = 77.
			[]int64{100, 77},
		},
		{"equal fractions", fake.Pod("p", "2", "2Gi"),
			[]*framework.NodeInfo{fake.NodeInfo(fake.Node("a", "4", "4Gi"))}, []int64{100}},
		{"cpu only", fake.Pod("p", "4", "1Mi"),
			[]*framework.NodeInfo{fake.NodeInfo(fake.Node("a", "4", "4Gi"))}, []int64{50}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fake.Scores(t, p, c.pod, c.nodes...); !slices.Equal(got, c.want) {
				t.Errorf("scores %v, want %v", got, c.want)
			}
		})
	}
}
