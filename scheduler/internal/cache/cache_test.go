package cache

import (
	"testing"

	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
)

func nodeInfo(t *testing.T, c *Cache, name string) *framework.NodeInfo {
	t.Helper()
	for _, n := range c.Snapshot(nil) {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("node %s not in the snapshot", name)
	return nil
}

func TestAssumeConfirmForget(t *testing.T) {
	c := New()
	c.AddNode(fake.Node("n1", "2", "4Gi"))
	c.AddNode(fake.Node("n2", "2", "4Gi"))
	before := nodeInfo(t, c, "n1")

	p := fake.Pod("p", "500m", "1Gi")
	if err := c.AssumePod(framework.NewPodInfo(p).WithNode("n1")); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(framework.NewPodInfo(p).WithNode("n1")); err == nil {
		t.Error("assuming twice succeeded")
	}
	n1 := nodeInfo(t, c, "n1")
	if n1.Requested.MilliCPU != 500 || len(n1.Pods) != 1 || !c.IsAssumed("default/p") {
		t.Fatalf("assumed pod not counted: %+v", n1.Requested)
	}
	if before.Requested.MilliCPU != 0 || len(before.Pods) != 0 {
		t.Fatal("an earlier snapshot changed: NodeInfos must be copy-on-write")
	}

	// The watch reports it bound: confirmed, counted once.
	bound := fake.Pod("p", "500m", "1Gi", fake.OnNode("n1"))
	c.AddPod(bound)
	if n1 = nodeInfo(t, c, "n1"); n1.Requested.MilliCPU != 500 || len(n1.Pods) != 1 || c.IsAssumed("default/p") {
		t.Fatalf("confirmation double-counted or still assumed: %+v, %d pods", n1.Requested, len(n1.Pods))
	}

	// Forget only undoes assumptions.
	c.ForgetPod("default/p")
	if !c.Has("default/p") {
		t.Fatal("ForgetPod removed a confirmed pod")
	}

	q := fake.Pod("q", "1", "")
	_ = c.AssumePod(framework.NewPodInfo(q).WithNode("n2"))
	c.ForgetPod("default/q")
	if n2 := nodeInfo(t, c, "n2"); n2.Requested.MilliCPU != 0 || c.Has("default/q") {
		t.Fatalf("forgotten pod still counted: %+v", n2.Requested)
	}
}

func TestBoundElsewhereMovesPod(t *testing.T) {
	c := New()
	c.AddNode(fake.Node("n1", "2", "4Gi"))
	c.AddNode(fake.Node("n2", "2", "4Gi"))
	_ = c.AssumePod(framework.NewPodInfo(fake.Pod("p", "1", "")).WithNode("n1"))
	c.AddPod(fake.Pod("p", "1", "", fake.OnNode("n2")))
	if a, b := nodeInfo(t, c, "n1"), nodeInfo(t, c, "n2"); a.Requested.MilliCPU != 0 || b.Requested.MilliCPU != 1000 {
		t.Fatalf("n1 %v, n2 %v", a.Requested, b.Requested)
	}
	c.RemovePod(fake.Pod("p", "", ""))
	if b := nodeInfo(t, c, "n2"); b.Requested.MilliCPU != 0 || len(b.Pods) != 0 {
		t.Fatalf("removed pod still counted: %v", b.Requested)
	}
}

func TestNodesComeAndGo(t *testing.T) {
	c := New()
	// A pod seen before its node: counted once the node appears.
	c.AddPod(fake.Pod("early", "1", "", fake.OnNode("late")))
	if n := c.NodeCount(); n != 0 {
		t.Fatalf("%d nodes", n)
	}
	c.AddNode(fake.Node("late", "4", "4Gi"))
	c.AddNode(fake.Node("other", "4", "4Gi"))
	if n := nodeInfo(t, c, "late"); n.Requested.MilliCPU != 1000 || n.Allocatable.MilliCPU != 4000 || n.AllowedPods != 110 {
		t.Fatalf("late node: %+v", n)
	}
	upd := fake.Node("late", "8", "4Gi")
	c.UpdateNode(upd)
	if n := nodeInfo(t, c, "late"); n.Allocatable.MilliCPU != 8000 || len(n.Pods) != 1 {
		t.Fatalf("update lost state: %+v", n)
	}
	c.RemoveNode(upd)
	if got := c.Snapshot(nil); len(got) != 1 || got[0].Name != "other" {
		t.Fatalf("snapshot after removal: %d nodes", len(got))
	}
	nodes, pods, assumed := c.Counts()
	if nodes != 1 || pods != 1 || assumed != 0 {
		t.Fatalf("counts %d %d %d", nodes, pods, assumed)
	}
	c.RemovePod(fake.Pod("early", "", ""))
	if _, pods, _ := c.Counts(); pods != 0 || len(c.infos) != 1 {
		t.Fatalf("pods %d, infos %d: empty NodeInfo of a removed node kept", pods, len(c.infos))
	}
}
