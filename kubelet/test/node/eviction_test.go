package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/kubelet/app/options"
	"kube5/kubelet/internal/eviction"
)

// nodeCondition is the status of the node's condition typ ("" when absent).
func nodeCondition(n *corev1.Node, typ string) string {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c.GetStatus()
		}
	}
	return ""
}

// A pod that eats the node's memory is evicted as upstream's kubelet does it: the hard
// memory.available threshold is set 1500Mi below what this machine has free now and a
// BestEffort pod takes 3000Mi. The node reports MemoryPressure, the hog (and not the
// pod within its requests) is killed and reported Failed/Evicted with upstream's
// message, a new BestEffort pod is refused while the pressure lasts, and the condition
// clears after the transition period once the memory is back.
func TestMemoryPressureEvictsTheHog(t *testing.T) {
	requireDocker(t)
	api := apiservertest.Start(t)
	cs := api.Client
	ctx := context.Background()
	const node = "kubelet-eviction-test"
	root := t.TempDir()
	obs, err := eviction.NodeSignals(root, "")
	if err != nil {
		t.Fatal(err)
	}
	avail := obs[eviction.MemoryAvailable].Available >> 20
	if avail < 4000 {
		t.Skipf("only %d MiB of memory available; the test needs 4000", avail)
	}
	threshold := avail - 1500
	cleanupNode(t, node)
	startKubeletWith(t, api, node, root, "", func(o *options.Options) {
		o.EvictionHard = fmt.Sprintf("memory.available<%dMi", threshold)
		o.EvictionPressureTransitionPeriod = 15 * time.Second
		o.EvictionMonitoringInterval = time.Second
	})
	getNode := func() *corev1.Node {
		n, err := cs.Nodes().Get(ctx, node)
		if err != nil {
			return nil
		}
		return n
	}
	waitFor(t, "the node registered without memory pressure", 30*time.Second, func() (bool, error) {
		return nodeCondition(getNode(), "MemoryPressure") == "False", nil
	})
	n := getNode()
	if a, c := n.GetStatus().GetAllocatable()["memory"].Value(), n.GetStatus().GetCapacity()["memory"].Value(); c-a != threshold<<20 {
		t.Fatalf("allocatable memory %d = capacity %d minus %d, want minus the hard threshold %d", a, c, c-a, threshold<<20)
	}

	quiet := newPod("quiet", node, box("c", "sleep", "forever"))
	quiet.Spec.Containers[0].Resources = &corev1.ResourceRequirements{
		Requests: map[string]*metav1.Quantity{"memory": metav1.MustParseQuantity("64Mi"), "cpu": metav1.MustParseQuantity("100m")},
		Limits:   map[string]*metav1.Quantity{"memory": metav1.MustParseQuantity("64Mi"), "cpu": metav1.MustParseQuantity("100m")},
	}
	createPod(t, cs, quiet)
	waitPod(t, cs, "default", "quiet", "Running", 60*time.Second, running)

	createPod(t, cs, newPod("hog", node, box("hog", "hog", "3000")))
	waitFor(t, "MemoryPressure True on the node", 90*time.Second, func() (bool, error) {
		return nodeCondition(getNode(), "MemoryPressure") == "True", nil
	})
	waitFor(t, "the node event NodeHasInsufficientMemory", 30*time.Second, func() (bool, error) {
		l, err := cs.Events("default").List(ctx, client.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range l.Items {
			if e.GetInvolvedObject().GetName() == node && e.GetReason() == "NodeHasInsufficientMemory" &&
				e.GetMessage() == "Node "+node+" status is now: NodeHasInsufficientMemory" {
				return true, nil
			}
		}
		return false, nil
	})
	hog := waitPod(t, cs, "default", "hog", "Failed/Evicted", 60*time.Second, func(p *corev1.Pod) bool {
		return p.GetStatus().GetPhase() == "Failed"
	})
	st := hog.GetStatus()
	if st.GetReason() != "Evicted" || !strings.HasPrefix(st.GetMessage(), "The node was low on resource: memory. Threshold quantity: ") ||
		!strings.Contains(st.GetMessage(), "Container hog was using ") {
		t.Fatalf("hog: reason %q message %q", st.GetReason(), st.GetMessage())
	}
	waitFor(t, "the hog's containers stopped", 30*time.Second, func() (bool, error) {
		for _, c := range nodeContainers(t, node, "hog")["hog"] {
			if c.State == "running" {
				return false, nil
			}
		}
		return true, nil
	})

	// While the pressure lasts, a new BestEffort pod is refused at admission.
	createPod(t, cs, newPod("late", node, box("c", "sleep", "forever")))
	late := waitPod(t, cs, "default", "late", "rejected", 30*time.Second, func(p *corev1.Pod) bool {
		return p.GetStatus().GetPhase() == "Failed"
	})
	if late.GetStatus().GetReason() != "Evicted" || late.GetStatus().GetMessage() != "The node had condition: [MemoryPressure]. " {
		t.Fatalf("late: reason %q message %q", late.GetStatus().GetReason(), late.GetStatus().GetMessage())
	}
	if len(nodeContainers(t, node, "late")) != 0 {
		t.Fatal("the refused pod has containers")
	}

	waitFor(t, "MemoryPressure False after the transition period", 60*time.Second, func() (bool, error) {
		return nodeCondition(getNode(), "MemoryPressure") == "False", nil
	})
	if p, err := cs.Pods("default").Get(ctx, "quiet"); err != nil || p.GetStatus().GetPhase() != "Running" {
		t.Fatalf("the pod within its requests was not left running: %v %v", p.GetStatus().GetPhase(), err)
	}
}
