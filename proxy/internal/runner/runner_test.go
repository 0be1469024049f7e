package runner

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatchesAndPeriodic(t *testing.T) {
	var runs atomic.Int32
	var mu sync.Mutex
	var at []time.Time
	r := New("test", func() {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		runs.Add(1)
	}, time.Second, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Loop(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitRuns := func(n int32) {
		deadline := time.Now().Add(5 * time.Second)
		for runs.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("runs = %d, want %d", runs.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitRuns(1) // the initial run; the requests below come well within its min interval
	for range 100 {
		r.Run()
	}
	waitRuns(2)
	mu.Lock()
	gap := at[1].Sub(at[0])
	mu.Unlock()
	if gap < time.Second {
		t.Fatalf("second run %s after the first, before the min interval", gap)
	}
	if n := runs.Load(); n != 2 {
		t.Fatalf("100 requests made %d runs, want them merged into one", n-1)
	}

	var periodic atomic.Int32
	p := New("periodic", func() { periodic.Add(1) }, 0, 50*time.Millisecond)
	go p.Loop(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for periodic.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no periodic runs")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
