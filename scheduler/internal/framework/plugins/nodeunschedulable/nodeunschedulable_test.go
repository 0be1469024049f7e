package nodeunschedulable_test

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/nodeunschedulable"
)

func TestNodeUnschedulable(t *testing.T) {
	cordoned := fake.NodeInfo(fake.Node("n", "1", "1Gi", func(n *corev1.Node) { n.Spec.Unschedulable = true }))
	p, _ := nodeunschedulable.New(framework.Handle{})
	fake.RunFilterTable(t, p, []fake.FilterCase{
		{Name: "schedulable", Pod: fake.Pod("p", "", ""), Node: fake.NodeInfo(fake.Node("n", "1", "1Gi")), WantReason: ""},
		{Name: "cordoned", Pod: fake.Pod("p", "", ""), Node: cordoned, WantReason: nodeunschedulable.ErrReason},
		{Name: "cordoned, tolerated", Pod: fake.Pod("p", "", "", fake.Tolerate("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule")), Node: cordoned, WantReason: ""},
		{Name: "cordoned, other toleration", Pod: fake.Pod("p", "", "", fake.Tolerate("other", "Exists", "", "NoSchedule")), Node: cordoned, WantReason: nodeunschedulable.ErrReason},
	})
}
