package replicaset

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

func pod(name string, node, phase string, ready bool, created int64) *corev1.Pod {
	p := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, CreationTimestamp: &metav1.Time{Seconds: created}},
		Spec:     &corev1.PodSpec{NodeName: node},
		Status:   &corev1.PodStatus{Phase: phase},
	}
	if ready {
		p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: &metav1.Time{Seconds: created}}}
	}
	return p
}

func TestSortForDeletion(t *testing.T) {
	pods := []*corev1.Pod{
		pod("ready-old", "n1", "Running", true, 1),
		pod("ready-new", "n1", "Running", true, 5),
		pod("running-not-ready", "n1", "Running", false, 1),
		pod("pending", "n1", "Pending", false, 1),
		pod("unscheduled", "", "Pending", false, 1),
	}
	SortForDeletion(pods)
	want := []string{"unscheduled", "pending", "running-not-ready", "ready-new", "ready-old"}
	for i, p := range pods {
		if p.GetMetadata().GetName() != want[i] {
			t.Fatalf("order %d: %s, want %s", i, p.GetMetadata().GetName(), want[i])
		}
	}
}

func TestSlowStartBatch(t *testing.T) {
	var calls atomic.Int32
	n, err := SlowStartBatch(10, 1, func() error { calls.Add(1); return nil })
	if n != 10 || err != nil || calls.Load() != 10 {
		t.Fatalf("got %d, %v, %d calls", n, err, calls.Load())
	}
	// Batches 1, 2, 4: the call failing in the third batch stops it after 7 calls.
	calls.Store(0)
	n, err = SlowStartBatch(100, 1, func() error {
		if calls.Add(1) == 5 {
			return errors.New("boom")
		}
		return nil
	})
	if err == nil || calls.Load() != 7 || n != 6 {
		t.Fatalf("got %d successes, %v, %d calls; want 6, boom, 7", n, err, calls.Load())
	}
}

func TestExpectations(t *testing.T) {
	e := NewExpectations()
	now := time.Unix(1000, 0)
	e.now = func() time.Time { return now }
	if !e.Satisfied("ns/rs") {
		t.Fatal("no expectations: satisfied")
	}
	e.ExpectCreations("ns/rs", 2)
	e.CreationObserved("ns/rs")
	if e.Satisfied("ns/rs") {
		t.Fatal("one creation pending: not satisfied")
	}
	e.CreationObserved("ns/rs")
	if !e.Satisfied("ns/rs") {
		t.Fatal("all observed: satisfied")
	}
	e.ExpectDeletions("ns/rs", []string{"ns/a", "ns/b"})
	e.DeletionObserved("ns/rs", "ns/a")
	e.DeletionObserved("ns/rs", "ns/a") // seen twice (update with deletionTimestamp, then delete)
	if e.Satisfied("ns/rs") {
		t.Fatal("ns/b pending: not satisfied")
	}
	now = now.Add(ExpectationsTimeout + time.Second)
	if !e.Satisfied("ns/rs") {
		t.Fatal("expired: satisfied")
	}
}
