package tainttoleration_test

import (
	"slices"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/tainttoleration"
)

func TestTaintTolerationFilter(t *testing.T) {
	p, _ := tainttoleration.New(framework.Handle{})
	node := func(mods ...func(*corev1.Node)) *framework.NodeInfo {
		return fake.NodeInfo(fake.Node("n", "1", "1Gi", mods...))
	}
	noSched := node(fake.Taint("dedicated", "db", "NoSchedule"))
	noExec := node(fake.Taint("node.kubernetes.io/unreachable", "", "NoExecute"))
	fake.RunFilterTable(t, p, []fake.FilterCase{
		{Name: "no taints", Pod: fake.Pod("p", "", ""), Node: node(), WantReason: ""},
		{Name: "NoSchedule untolerated", Pod: fake.Pod("p", "", ""), Node: noSched, WantReason: "node(s) had untolerated taint {dedicated: db}"},
		{Name: "NoExecute untolerated", Pod: fake.Pod("p", "", ""), Node: noExec, WantReason: "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"},
		{Name: "PreferNoSchedule does not filter", Pod: fake.Pod("p", "", ""), Node: node(fake.Taint("k", "v", "PreferNoSchedule")), WantReason: ""},
		{Name: "Equal toleration", Pod: fake.Pod("p", "", "", fake.Tolerate("dedicated", "Equal", "db", "NoSchedule")), Node: noSched, WantReason: ""},
		{Name: "default operator is Equal", Pod: fake.Pod("p", "", "", fake.Tolerate("dedicated", "", "db", "NoSchedule")), Node: noSched, WantReason: ""},
		{Name: "Equal, other value", Pod: fake.Pod("p", "", "", fake.Tolerate("dedicated", "Equal", "web", "NoSchedule")), Node: noSched, WantReason: "node(s) had untolerated taint {dedicated: db}"},
		{Name: "Exists", Pod: fake.Pod("p", "", "", fake.Tolerate("dedicated", "Exists", "", "NoSchedule")), Node: noSched, WantReason: ""},
		{Name: "empty effect tolerates all effects", Pod: fake.Pod("p", "", "", fake.Tolerate("dedicated", "Exists", "", "")), Node: noSched, WantReason: ""},
		{Name: "other effect", Pod: fake.Pod("p", "", "", fake.Tolerate("dedicated", "Exists", "", "NoExecute")), Node: noSched, WantReason: "node(s) had untolerated taint {dedicated: db}"},
		{Name: "empty key with Exists tolerates everything", Pod: fake.Pod("p", "", "", fake.Tolerate("", "Exists", "", "")), Node: noExec, WantReason: ""},
		{Name: "default unreachable toleration (NoExecute, 300s)", Pod: fake.Pod("p", "", "", fake.Tolerate("node.kubernetes.io/unreachable", "Exists", "", "NoExecute")), Node: noExec, WantReason: ""},
	})
}

func TestTaintTolerationScore(t *testing.T) {
	p, _ := tainttoleration.New(framework.Handle{})
	nodes := []*framework.NodeInfo{
		fake.NodeInfo(fake.Node("clean", "1", "1Gi")),
		fake.NodeInfo(fake.Node("one", "1", "1Gi", fake.Taint("a", "", "PreferNoSchedule"))),
		fake.NodeInfo(fake.Node("two", "1", "1Gi", fake.Taint("a", "", "PreferNoSchedule"), fake.Taint("b", "", "PreferNoSchedule"))),
	}
	for _, c := range []struct {
		name string
		pod  *corev1.Pod
		want []int64
	}{
		{"fewer untolerated PreferNoSchedule taints score higher", fake.Pod("p", "", ""), []int64{100, 50, 0}},
		{"tolerated taints do not count", fake.Pod("p", "", "", fake.Tolerate("a", "Exists", "", "PreferNoSchedule")), []int64{100, 100, 0}},
		{"all tolerated", fake.Pod("p", "", "", fake.Tolerate("", "Exists", "", "")), []int64{100, 100, 100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fake.Scores(t, p, c.pod, nodes...); !slices.Equal(got, c.want) {
				t.Errorf("scores %v, want %v", got, c.want)
			}
		})
	}
}
