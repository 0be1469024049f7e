package workqueue_test

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kube5/proto/workqueue"
	"kube5/proto/workqueue/fake"
)

// failAfter bounds how long a test waits for something that should happen promptly; it
// is a deadline for failing, never a delay the test relies on.
const failAfter = 10 * time.Second

// get calls q.Get, failing the test if it does not return before the deadline.
func get[T comparable](t *testing.T, q *workqueue.Queue[T]) (T, bool) {
	t.Helper()
	type res struct {
		item     T
		shutdown bool
	}
	ch := make(chan res, 1)
	go func() {
		item, shutdown := q.Get()
		ch <- res{item, shutdown}
	}()
	select {
	case r := <-ch:
		return r.item, r.shutdown
	case <-time.After(failAfter):
		t.Fatalf("Get did not return within %v", failAfter)
	}
	panic("unreachable")
}

func mustGet[T comparable](t *testing.T, q *workqueue.Queue[T], want T) {
	t.Helper()
	got, shutdown := get(t, q)
	if shutdown {
		t.Fatalf("Get: shutdown, want %v", want)
	}
	if got != want {
		t.Fatalf("Get = %v, want %v", got, want)
	}
}

func TestDedup(t *testing.T) {
	q := workqueue.New[string]("")
	defer q.ShutDown()
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if n := q.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	mustGet(t, q, "a")
	mustGet(t, q, "b")
	if n := q.Len(); n != 0 {
		t.Fatalf("Len = %d, want 0", n)
	}
}

func TestReAddDuringProcessing(t *testing.T) {
	q := workqueue.New[string]("")
	defer q.ShutDown()
	q.Add("a")
	mustGet(t, q, "a")
	q.Add("a")
	q.Add("a")
	if n := q.Len(); n != 0 {
		t.Fatalf("Len while processing = %d, want 0 (not handed out twice)", n)
	}
	q.Done("a")
	if n := q.Len(); n != 1 {
		t.Fatalf("Len after Done = %d, want 1", n)
	}
	mustGet(t, q, "a")
	q.Done("a")
	if n := q.Len(); n != 0 {
		t.Fatalf("Len = %d, want 0", n)
	}
}

func TestNoConcurrentProcessingOfOneKey(t *testing.T) {
	q := workqueue.New[int]("")
	const keys, workers, adds = 5, 6, 3000

	var inFlight [keys]atomic.Int32
	var mu sync.Mutex
	pending := map[int]bool{} // added and not processed since
	var violations atomic.Int32

	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, shutdown := q.Get()
				if shutdown {
					return
				}
				if inFlight[k].Add(1) != 1 {
					violations.Add(1)
				}
				mu.Lock()
				delete(pending, k)
				mu.Unlock()
				inFlight[k].Add(-1)
				q.Done(k)
			}
		}()
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < adds; i++ {
		k := r.Intn(keys)
		mu.Lock()
		pending[k] = true
		mu.Unlock()
		q.Add(k)
	}
	q.ShutDownWithDrain()
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("a key was processed by two workers at once %d times", v)
	}
	if len(pending) != 0 {
		t.Fatalf("keys added but never processed afterwards: %v", pending)
	}
}

func TestAddAfterOrdering(t *testing.T) {
	clk := fake.NewClock(time.Unix(1000, 0))
	q := workqueue.NewWithConfig(workqueue.Config[string]{Clock: clk})
	defer q.ShutDown()

	q.AddAfter("a", 3*time.Second)
	q.AddAfter("b", 1*time.Second)
	q.AddAfter("c", 2*time.Second)
	q.AddAfter("a", 10*time.Second) // keeps the earlier ready time
	q.AddAfter("now", 0)
	if n := q.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1 (only the zero-delay item)", n)
	}
	mustGet(t, q, "now")
	q.Done("now")

	for _, want := range []string{"b", "c", "a"} {
		clk.Step(time.Second)
		mustGet(t, q, want)
		q.Done(want)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("Len = %d, want 0", n)
	}
}

func TestAddAfterAllReadyAtOnceKeepsOrder(t *testing.T) {
	clk := fake.NewClock(time.Unix(1000, 0))
	q := workqueue.NewWithConfig(workqueue.Config[int]{Clock: clk})
	defer q.ShutDown()
	for _, d := range []int{5, 1, 4, 2, 3} {
		q.AddAfter(d, time.Duration(d)*time.Millisecond)
	}
	clk.Step(time.Second)
	for want := 1; want <= 5; want++ {
		mustGet(t, q, want)
	}
}

func TestAddAfterWithoutStepStaysWaiting(t *testing.T) {
	clk := fake.NewClock(time.Unix(1000, 0))
	q := workqueue.NewWithConfig(workqueue.Config[string]{Clock: clk})
	q.AddAfter("a", time.Minute)
	clk.Step(59 * time.Second)
	q.Add("marker")
	mustGet(t, q, "marker")
	if n := q.Len(); n != 0 {
		t.Fatalf("Len = %d, want 0: a is not due yet", n)
	}
	q.ShutDown()
	// Delayed items are dropped at shutdown.
	clk.Step(time.Minute)
	if _, shutdown := get(t, q); !shutdown {
		t.Fatal("Get after ShutDown returned an item, want shutdown")
	}
}

func TestAddRateLimited(t *testing.T) {
	clk := fake.NewClock(time.Unix(1000, 0))
	q := workqueue.NewWithConfig(workqueue.Config[string]{Clock: clk})
	defer q.ShutDown()

	for i, step := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		q.AddRateLimited("a")
		if n := q.NumRequeues("a"); n != i+1 {
			t.Fatalf("NumRequeues = %d, want %d", n, i+1)
		}
		clk.Step(step - time.Millisecond)
		if n := q.Len(); n != 0 {
			t.Fatalf("attempt %d: ready %v early", i, time.Millisecond)
		}
		clk.Step(time.Millisecond)
		mustGet(t, q, "a")
		q.Done("a")
	}
	q.Forget("a")
	if n := q.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d, want 0", n)
	}
}

func TestShutDownUnblocksGet(t *testing.T) {
	q := workqueue.New[string]("")
	done := make(chan bool, 1)
	go func() {
		_, shutdown := q.Get()
		done <- shutdown
	}()
	q.ShutDown()
	select {
	case shutdown := <-done:
		if !shutdown {
			t.Fatal("Get returned an item from an empty queue")
		}
	case <-time.After(failAfter):
		t.Fatal("Get still blocked after ShutDown")
	}
	q.Add("late")
	if n := q.Len(); n != 0 {
		t.Fatalf("Add after ShutDown queued an item")
	}
}

func TestShutDownWithDrainWaitsForDone(t *testing.T) {
	q := workqueue.New[string]("")
	q.Add("a")
	q.Add("b")
	mustGet(t, q, "a") // a is being processed, b still queued

	drained := make(chan struct{})
	go func() {
		q.ShutDownWithDrain()
		close(drained)
	}()
	deadline := time.Now().Add(failAfter)
	for !q.ShuttingDown() {
		if time.Now().After(deadline) {
			t.Fatal("queue never started shutting down")
		}
		time.Sleep(time.Millisecond) // polling, not waiting for an outcome
	}
	select {
	case <-drained:
		t.Fatal("ShutDownWithDrain returned while a was still being processed")
	default:
	}
	q.Add("c") // ignored while shutting down

	// Items queued before shutdown are still handed out.
	mustGet(t, q, "b")
	q.Done("b")
	q.Done("a")
	select {
	case <-drained:
	case <-time.After(failAfter):
		t.Fatal("ShutDownWithDrain did not return after the last Done")
	}
	if _, shutdown := get(t, q); !shutdown {
		t.Fatal("Get after drain returned an item, want shutdown")
	}
}

func TestShutDownEndsDrain(t *testing.T) {
	q := workqueue.New[string]("")
	q.Add("a")
	mustGet(t, q, "a")
	drained := make(chan struct{})
	go func() {
		q.ShutDownWithDrain()
		close(drained)
	}()
	deadline := time.Now().Add(failAfter)
	for !q.ShuttingDown() {
		if time.Now().After(deadline) {
			t.Fatal("queue never started shutting down")
		}
		time.Sleep(time.Millisecond)
	}
	q.ShutDown()
	select {
	case <-drained:
	case <-time.After(failAfter):
		t.Fatal("ShutDown did not end a ShutDownWithDrain wait")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := workqueue.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := workqueue.RegisterMetrics(reg); err != nil {
		t.Fatalf("second RegisterMetrics: %v", err)
	}
	clk := fake.NewClock(time.Unix(1000, 0))
	name := fmt.Sprintf("test-%d", time.Now().UnixNano())
	q := workqueue.NewWithConfig(workqueue.Config[string]{Name: name, Clock: clk})
	defer q.ShutDown()
	q.Add("a")
	q.Add("b")
	q.Add("a")
	clk.Step(2 * time.Second)
	mustGet(t, q, "a")
	clk.Step(3 * time.Second)
	q.Done("a")
	q.AddRateLimited("a")

	got := gather(t, reg, name)
	want := map[string]float64{
		"workqueue_depth":                      1,
		"workqueue_adds_total":                 2,
		"workqueue_retries_total":              1,
		"workqueue_queue_duration_seconds_sum": 2,
		"workqueue_work_duration_seconds_sum":  3,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// gather returns the value of every workqueue metric labelled name=queue; histograms as
// their _sum.
func gather(t *testing.T, reg *prometheus.Registry, queue string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			match := false
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" && l.GetValue() == queue {
					match = true
				}
			}
			if !match {
				continue
			}
			switch {
			case m.Gauge != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			case m.Histogram != nil:
				out[mf.GetName()+"_sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}
