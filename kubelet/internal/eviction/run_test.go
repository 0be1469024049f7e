package eviction

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"

	"kube5/kubelet/internal/status"
)

// Run does not evict a second pod while the first one's containers still run: their
// memory is not free yet, and counting it again would evict a pod for nothing.
func TestRunWaitsForTheEvictedPodToStop(t *testing.T) {
	ts, err := ParseThresholds("memory.available<1Gi", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var evicted []string
	stopped, stoppedChecks := false, 0
	pods := []*corev1.Pod{
		{Metadata: &metav1.ObjectMeta{Name: "a", Namespace: "ns", Uid: "a"}, Spec: &corev1.PodSpec{}},
		{Metadata: &metav1.ObjectMeta{Name: "b", Namespace: "ns", Uid: "b"}, Spec: &corev1.PodSpec{}},
	}
	m := New(Config{
		NodeName: "n", Thresholds: ts, MonitoringInterval: 10 * time.Millisecond,
		Signals: func() (Observations, error) { // always short of memory
			return Observations{MemoryAvailable: {Available: 1 << 20, Capacity: 8 << 30}}, nil
		},
		Pods: func() []*corev1.Pod {
			mu.Lock()
			defer mu.Unlock()
			var out []*corev1.Pod
			for _, p := range pods {
				gone := false
				for _, uid := range evicted {
					gone = gone || uid == p.GetMetadata().GetUid()
				}
				if !gone {
					out = append(out, p)
				}
			}
			return out
		},
		Usage: func(context.Context, []*corev1.Pod) map[string]PodUsage { return nil },
		Evict: func(uid string, _ *status.Failure, _ time.Duration) bool {
			mu.Lock()
			defer mu.Unlock()
			evicted = append(evicted, uid)
			return true
		},
		Stopped: func(context.Context, string) bool {
			mu.Lock()
			defer mu.Unlock()
			stoppedChecks++
			return stopped
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	state := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(evicted), stoppedChecks
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				n, c := state()
				t.Fatalf("timed out waiting for %s: %d evicted, %d checks", what, n, c)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The first pod is evicted; while it has not stopped, checks go on and nothing more
	// is evicted (five checks, 200ms apart, span many 10ms monitoring intervals).
	waitUntil("five checks of the evicted pod", func() bool { _, c := state(); return c >= 5 })
	if n, _ := state(); n != 1 {
		t.Fatalf("%d pods evicted while the first had not stopped, want 1", n)
	}
	mu.Lock()
	stopped = true
	mu.Unlock()
	waitUntil("the second eviction once the first pod stopped", func() bool { n, _ := state(); return n == 2 })
}
