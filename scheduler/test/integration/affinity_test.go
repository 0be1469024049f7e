package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
)

// TestAffinityThroughTheAPI: nodeSelector, required node affinity, pod anti-affinity and
// host ports, as manifests carry them through the apiserver.
func TestAffinityThroughTheAPI(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	ssd := func(n *corev1.Node) { n.Metadata.Labels["disk"] = "ssd" }
	createNodes(t, cs, node("node-1", "4", "8Gi", ssd), node("node-2", "4", "8Gi"))
	startScheduler(t, s)

	createPods(t, cs, pod("wants-ssd", "100m", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }))
	createPods(t, cs, pod("avoids-ssd", "100m", func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: []*corev1.NodeSelectorRequirement{{Key: "disk", Operator: "NotIn", Values: []string{"ssd"}}}}}}}}
	}))
	got := waitBound(t, cs, "wants-ssd", "avoids-ssd")
	if got["wants-ssd"] != "node-1" || got["avoids-ssd"] != "node-2" {
		t.Errorf("placements %v", got)
	}

	// One "cache" pod per node: the third has nowhere to go (the existing pods' own
	// anti-affinity is checked first, as upstream, hence the message).
	lonely := func(p *corev1.Pod) {
		p.Metadata.Labels = map[string]string{"app": "cache"}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
			TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cache"}}}}}}
	}
	createPods(t, cs, pod("cache-1", "100m", lonely), pod("cache-2", "100m", lonely))
	got = waitBound(t, cs, "cache-1", "cache-2")
	if got["cache-1"] == got["cache-2"] {
		t.Errorf("anti-affine pods share %s", got["cache-1"])
	}
	createPods(t, cs, pod("cache-3", "100m", lonely))
	const msg = "0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules."
	waitFor(t, 20*time.Second, "cache-3 unschedulable", func() (bool, string) {
		evs := events(t, cs, "cache-3")
		return hasEvent(evs, "Warning FailedScheduling "+msg), fmt.Sprint(evs)
	})
	// Deleting cache-1 frees its node for cache-3.
	if err := cs.Pods("default").Delete(context.Background(), "cache-1", &metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "cache-3 on cache-1's node", func() (bool, string) {
		p := placements(t, cs)
		return p["cache-3"] == got["cache-1"], fmt.Sprint(p)
	})
}

func ptr[T any](v T) *T { return &v }
