package nodeready_test

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/nodeready"
)

func TestNodeReady(t *testing.T) {
	notReady := func(status string) *framework.NodeInfo {
		return fake.NodeInfo(fake.Node("n", "1", "1Gi", func(n *corev1.Node) { n.Status.Conditions[0].Status = status }))
	}
	noCond := fake.NodeInfo(fake.Node("n", "1", "1Gi", func(n *corev1.Node) { n.Status.Conditions = nil }))
	p, _ := nodeready.New(framework.Handle{})
	fake.RunFilterTable(t, p, []fake.FilterCase{
		{Name: "ready", Pod: fake.Pod("p", "", ""), Node: notReady("True"), WantReason: ""},
		{Name: "not ready", Pod: fake.Pod("p", "", ""), Node: notReady("False"), WantReason: nodeready.ErrReason},
		{Name: "unknown", Pod: fake.Pod("p", "", ""), Node: notReady("Unknown"), WantReason: nodeready.ErrReason},
		{Name: "no condition reported", Pod: fake.Pod("p", "", ""), Node: noCond, WantReason: ""},
		{Name: "tolerates not-ready", Pod: fake.Pod("p", "", "", fake.Tolerate("node.kubernetes.io/not-ready", "Exists", "", "")), Node: notReady("False"), WantReason: ""},
		{Name: "NoExecute toleration is not enough", Pod: fake.Pod("p", "", "", fake.Tolerate("node.kubernetes.io/not-ready", "Exists", "", "NoExecute")), Node: notReady("False"), WantReason: nodeready.ErrReason},
	})
}
