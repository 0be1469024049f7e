package nodename_test

import (
	"testing"

	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/nodename"
)

func TestNodeName(t *testing.T) {
	p, _ := nodename.New(framework.Handle{})
	n := fake.NodeInfo(fake.Node("node-1", "1", "1Gi"))
	fake.RunFilterTable(t, p, []fake.FilterCase{
		{Name: "no node named", Pod: fake.Pod("p", "", ""), Node: n, WantReason: ""},
		{Name: "this node", Pod: fake.Pod("p", "", "", fake.OnNode("node-1")), Node: n, WantReason: ""},
		{Name: "another node", Pod: fake.Pod("p", "", "", fake.OnNode("node-2")), Node: n, WantReason: nodename.ErrReason},
	})
}
