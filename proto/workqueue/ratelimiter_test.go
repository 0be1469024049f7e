package workqueue_test

import (
	"fmt"
	"testing"
	"time"

	"kube5/proto/workqueue"
	"kube5/proto/workqueue/fake"
)

func TestItemExponentialFailureRateLimiter(t *testing.T) {
	l := workqueue.NewItemExponentialFailureRateLimiter[string](5*time.Millisecond, 1000*time.Second)
	for i, want := range []time.Duration{5, 10, 20, 40, 80} {
		if got := l.When("a"); got != want*time.Millisecond {
			t.Fatalf("When #%d = %v, want %v", i, got, want*time.Millisecond)
		}
	}
	if n := l.NumRequeues("a"); n != 5 {
		t.Fatalf("NumRequeues = %d, want 5", n)
	}
	if got := l.When("b"); got != 5*time.Millisecond {
		t.Fatalf("other item When = %v, want 5ms (per-item history)", got)
	}
	l.Forget("a")
	if n := l.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d", n)
	}
	if got := l.When("a"); got != 5*time.Millisecond {
		t.Fatalf("When after Forget = %v, want 5ms", got)
	}
	// 5ms * 2^18 = 1310.72s > 1000s: capped; far beyond int64 range: still capped.
	for i := 0; i < 2000; i++ {
		l.When("c")
	}
	if got := l.When("c"); got != 1000*time.Second {
		t.Fatalf("When after many failures = %v, want 1000s", got)
	}
}

func TestBucketRateLimiter(t *testing.T) {
	clk := fake.NewClock(time.Unix(1000, 0))
	l := workqueue.NewBucketRateLimiter[string](10, 100, clk)
	for i := 0; i < 100; i++ {
		if got := l.When(fmt.Sprint(i)); got != 0 {
			t.Fatalf("When #%d within burst = %v, want 0", i, got)
		}
	}
	if got := l.When("x"); got != 100*time.Millisecond {
		t.Fatalf("first beyond burst = %v, want 100ms", got)
	}
	if got := l.When("y"); got != 200*time.Millisecond {
		t.Fatalf("second beyond burst = %v, want 200ms", got)
	}
	// One second refills 10 tokens and pays the debt of 2: 8 are free again.
	clk.Step(time.Second)
	for i := 0; i < 8; i++ {
		if got := l.When("z"); got != 0 {
			t.Fatalf("When #%d after refill = %v, want 0", i, got)
		}
	}
	if got := l.When("z"); got != 100*time.Millisecond {
		t.Fatalf("after refill used up = %v, want 100ms", got)
	}
	// The bucket never holds more than burst.
	clk.Step(time.Hour)
	for i := 0; i < 100; i++ {
		l.When("w")
	}
	if got := l.When("w"); got != 100*time.Millisecond {
		t.Fatalf("after a long idle = %v, want 100ms (burst caps saving)", got)
	}
}

func TestDefaultControllerRateLimiter(t *testing.T) {
	clk := fake.NewClock(time.Unix(1000, 0))
	l := workqueue.DefaultControllerRateLimiterWithClock[string](clk)
	if got := l.When("a"); got != 5*time.Millisecond {
		t.Fatalf("first failure = %v, want 5ms", got)
	}
	if got := l.When("a"); got != 10*time.Millisecond {
		t.Fatalf("second failure = %v, want 10ms", got)
	}
	if n := l.NumRequeues("a"); n != 2 {
		t.Fatalf("NumRequeues = %d, want 2", n)
	}
	// 98 more distinct items empty the bucket (100 tokens in all)...
	for i := 0; i < 98; i++ {
		l.When(fmt.Sprint(i))
	}
	// ...so a fresh item waits for the bucket, not its own 5ms.
	if got := l.When("fresh"); got != 100*time.Millisecond {
		t.Fatalf("beyond burst = %v, want 100ms", got)
	}
	l.Forget("a")
	if n := l.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d", n)
	}
}
