package queue

import (
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time       { return c.t }
func (c *clock) step(d time.Duration) { c.t = c.t.Add(d) }
func newQueue() (*Queue, *clock) {
	c := &clock{t: time.Unix(1000, 0)}
	q := New()
	q.now = c.now
	return q, c
}

func pod(name string, prio int32) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{}}, Spec: &corev1.PodSpec{}}
	if prio != 0 {
		p.Spec.Priority = &prio
	}
	return p
}

func pop(t *testing.T, q *Queue) string {
	t.Helper()
	if q.Stats().Active == 0 {
		t.Fatal("active queue empty")
	}
	p, obj := q.Pop()
	q.Done(p.Key)
	return obj.GetMetadata().GetName()
}

func TestOrderPriorityThenAge(t *testing.T) {
	q, c := newQueue()
	q.Add(pod("old", 0))
	c.step(time.Second)
	q.Add(pod("new", 0))
	q.Add(pod("important", 10))
	for _, want := range []string{"important", "old", "new"} {
		if got := pop(t, q); got != want {
			t.Fatalf("popped %s, want %s", got, want)
		}
	}
}

func TestAddTwiceAndDelete(t *testing.T) {
	q, _ := newQueue()
	q.Add(pod("a", 0))
	q.Add(pod("a", 0))
	q.Add(pod("b", 0))
	if s := q.Stats(); s.Active != 2 {
		t.Fatalf("stats %+v, want 2 active", s)
	}
	q.Delete(pod("a", 0))
	if got := pop(t, q); got != "b" {
		t.Fatalf("popped %s", got)
	}
}

func TestBackoffDoubles(t *testing.T) {
	q, _ := newQueue()
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		if got := q.backoffDuration(&QueuedPod{Attempts: attempts}); got != want {
			t.Errorf("attempt %d: backoff %v, want %v", attempts, got, want)
		}
	}
}

func TestUnschedulableWaitsForMove(t *testing.T) {
	q, c := newQueue()
	var last Stats
	q.OnChange = func(s Stats) { last = s }
	q.Add(pod("p", 0))
	p, _ := q.Pop()
	cycle := q.SchedulingCycle()
	q.AddUnschedulable(p, cycle)
	q.Done(p.Key)
	if s := q.Stats(); s.Unschedulable != 1 || s.Active != 0 || last != s {
		t.Fatalf("stats %+v (reported %+v), want 1 unschedulable", s, last)
	}
	c.step(2 * time.Minute)
	q.Flush()
	if s := q.Stats(); s.Unschedulable != 1 {
		t.Fatalf("flush moved an unschedulable pod before 5 minutes: %+v", s)
	}
	// A cluster event moves it; its 1s backoff has long expired, so straight to active.
	q.MoveAllToActiveOrBackoff()
	if s := q.Stats(); s.Active != 1 || s.Unschedulable != 0 {
		t.Fatalf("after move: %+v", s)
	}
	// Second failure, then a move right away: the pod waits out its 2s backoff.
	p, _ = q.Pop()
	q.AddUnschedulable(p, q.SchedulingCycle())
	q.Done(p.Key)
	q.MoveAllToActiveOrBackoff()
	if s := q.Stats(); s.Backoff != 1 {
		t.Fatalf("after early move: %+v, want backoff", s)
	}
	c.step(1500 * time.Millisecond)
	q.Flush()
	if s := q.Stats(); s.Backoff != 1 {
		t.Fatalf("backoff ended early: %+v", s)
	}
	c.step(time.Second)
	q.Flush()
	if s := q.Stats(); s.Active != 1 {
		t.Fatalf("backoff did not end: %+v", s)
	}
}

func TestUnschedulableLeftoverRetried(t *testing.T) {
	q, c := newQueue()
	q.Add(pod("p", 0))
	p, _ := q.Pop()
	q.AddUnschedulable(p, q.SchedulingCycle())
	q.Done(p.Key)
	c.step(DefaultMaxInUnschedulable + time.Second)
	q.Flush()
	if s := q.Stats(); s.Active != 1 {
		t.Fatalf("stats %+v, want the pod retried after 5 minutes", s)
	}
}

func TestMoveDuringCycleGoesToBackoff(t *testing.T) {
	q, _ := newQueue()
	q.Add(pod("p", 0))
	p, _ := q.Pop()
	cycle := q.SchedulingCycle()
	q.MoveAllToActiveOrBackoff() // e.g. a node was added while p was being scheduled
	q.AddUnschedulable(p, cycle)
	q.Done(p.Key)
	if s := q.Stats(); s.Backoff != 1 || s.Unschedulable != 0 {
		t.Fatalf("stats %+v: a pod that missed an event must not wait for the next one", s)
	}
}

func TestUpdateWhileInFlightAndDeletedInFlight(t *testing.T) {
	q, c := newQueue()
	q.Add(pod("p", 0))
	p, _ := q.Pop()
	newer := pod("p", 0)
	newer.Metadata.ResourceVersion = "2"
	q.Update(newer)
	if s := q.Stats(); s.Active != 0 {
		t.Fatalf("update of an in-flight pod queued it again: %+v", s)
	}
	q.AddUnschedulable(p, q.SchedulingCycle())
	q.Done(p.Key)
	q.MoveAllToActiveOrBackoff()
	c.step(2 * time.Second)
	q.Flush()
	if s := q.Stats(); s.Active != 1 {
		t.Fatalf("stats %+v, want the pod active", s)
	}
	got, obj := q.Pop()
	q.Done(got.Key)
	if obj.GetMetadata().GetResourceVersion() != "2" {
		t.Fatalf("re-queued the stale object (rv %q)", obj.GetMetadata().GetResourceVersion())
	}
	// Deleted while in flight: not re-queued.
	q.Add(pod("d", 0))
	p, _ = q.Pop()
	q.Delete(pod("d", 0))
	q.AddBackoff(p)
	q.Done(p.Key)
	if s := q.Stats(); s != (Stats{}) {
		t.Fatalf("deleted pod re-queued: %+v", s)
	}
}

func TestLabelChangeRetriesUnschedulable(t *testing.T) {
	q, c := newQueue()
	q.Add(pod("p", 0))
	p, _ := q.Pop()
	q.AddUnschedulable(p, q.SchedulingCycle())
	q.Done(p.Key)
	c.step(5 * time.Second)
	same := pod("p", 0)
	q.Update(same)
	if s := q.Stats(); s.Unschedulable != 1 {
		t.Fatalf("a status-only update moved the pod: %+v", s)
	}
	relabelled := pod("p", 0)
	relabelled.Metadata.Labels["x"] = "y"
	q.Update(relabelled)
	if s := q.Stats(); s.Active != 1 {
		t.Fatalf("a label change did not retry the pod: %+v", s)
	}
}

func TestMoveIf(t *testing.T) {
	q, c := newQueue()
	q.Add(pod("a", 0))
	q.Add(pod("b", 0))
	for i := 0; i < 2; i++ {
		p, _ := q.Pop()
		q.AddUnschedulable(p, q.SchedulingCycle())
		q.Done(p.Key)
	}
	c.step(5 * time.Second)
	q.MoveIf(func(p *corev1.Pod) bool { return p.GetMetadata().GetName() == "b" })
	if got := pop(t, q); got != "b" {
		t.Fatalf("popped %s", got)
	}
	if s := q.Stats(); s.Unschedulable != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCloseWakesPop(t *testing.T) {
	q, _ := newQueue()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if p, _ := q.Pop(); p != nil {
			t.Error("Pop returned a pod from an empty closed queue")
		}
	}()
	q.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Pop not woken by Close")
	}
}
