package disruption

import (
	"context"
	"testing"
	"time"

	metav1 "kube5/proto/api/meta/v1"
	policyv1 "kube5/proto/api/policy/v1"
	"kube5/proto/apierrors"

	"kube5/controller-manager/internal/controller/controllerref"
)

// TestEviction drives pods/eviction of the real apiserver against the status this
// controller keeps: a budget of minAvailable 2 over 3 ready pods lets one eviction
// through and refuses the next with 429 until the budget allows one again.
func TestEviction(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	rs := h.createRS("ev", 3)
	h.createReadyPods("ev", 3, controllerref.New(rs, "apps/v1", "ReplicaSet"))
	h.createPDB("ev", "ev", metav1.FromInt(2), nil)
	h.waitPDB("ev", "1 disruption allowed", counts(3, 3, 2, 1))

	evict := func(pod string) error {
		return h.cs.Pods(ns).CreateSubresource(ctx, pod, "eviction", &policyv1.Eviction{
			Metadata: &metav1.ObjectMeta{Name: pod, Namespace: ns},
		}, nil)
	}
	if err := evict("ev-0"); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := h.cs.Pods(ns).Get(ctx, "ev-0")
		if apierrors.IsNotFound(err) || (err == nil && p.GetMetadata().GetDeletionTimestamp() != nil) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("evicted pod not deleted: %v %v", err, p.GetMetadata())
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := evict("ev-1")
	if !apierrors.IsTooManyRequests(err) {
		t.Fatalf("second eviction: err = %v, want 429 TooManyRequests", err)
	}
	// The controller catches up: the evicted pod is gone, its entry dropped, and the
	// budget still allows nothing.
	p := h.waitPDB("ev", "the eviction confirmed", func(p *policyv1.PodDisruptionBudget) bool {
		return len(p.GetStatus().GetDisruptedPods()) == 0 && counts(2, 2, 2, 0)(p)
	})
	checkCondition(t, p, "False", ReasonInsufficientPods)
	if err := evict("ev-2"); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("eviction after the controller caught up: err = %v, want 429", err)
	}

	// A replacement pod becomes ready (as the replicaset controller and kubelet would
	// see to): one disruption is allowed again and the next eviction goes through.
	h.createReadyPod("ev-3", "ev", controllerref.New(rs, "apps/v1", "ReplicaSet"))
	h.waitPDB("ev", "1 disruption allowed", counts(3, 3, 2, 1))
	if err := evict("ev-1"); err != nil {
		t.Fatalf("eviction after the budget recovered: %v", err)
	}
}
