package events

import (
	"context"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
)

// A repeated event is stored once with a count, as upstream aggregates.
func TestRecorderAggregates(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := NewRecorder(s.Client, "test-controller", "")
	go r.Run(ctx)
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "default", Uid: "u1"}}
	r.Event(pod, Normal, "Scheduled", "Successfully assigned default/p to n1")
	r.Event(pod, Normal, "Scheduled", "Successfully assigned default/p to n1")
	r.Eventf(pod, Warning, "BackOff", "Back-off restarting failed container %s", "c")
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := s.Client.Events("default").List(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int32{}
		for _, e := range l.Items {
			counts[e.GetReason()] += e.GetCount()
			if e.GetInvolvedObject().GetKind() != "Pod" || e.GetSource().GetComponent() != "test-controller" {
				t.Fatalf("event %v: wrong involvedObject or source", e)
			}
		}
		if len(l.Items) == 2 && counts["Scheduled"] == 2 && counts["BackOff"] == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events: %d objects, counts %v; want 2 objects, Scheduled x2, BackOff x1", len(l.Items), counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
