package podworkers

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/kubelet/internal/runtime/fake"
	"kube5/kubelet/internal/status"
)

// failCounter passes the pod workers' calls to the kubelet's status manager, counting the
// final deletes that failed, so the test knows when to bring the apiserver back.
type failCounter struct {
	*status.Manager
	mu     sync.Mutex
	failed int
}

func (f *failCounter) Terminated(ctx context.Context, pod *corev1.Pod) error {
	err := f.Manager.Terminated(ctx, pod)
	if err != nil {
		f.mu.Lock()
		f.failed++
		f.mu.Unlock()
	}
	return err
}

func (f *failCounter) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// TestPodDeletedAfterApiserverOutage: the apiserver is down when a deleted pod's
// containers stop, so the kubelet cannot remove the pod object then; once the apiserver
// is back, the object goes away without anyone else's help, rather than staying
// Terminating forever.
func TestPodDeletedAfterApiserverOutage(t *testing.T) {
	api := apiservertest.Start(t)
	c, err := client.New(client.Config{Server: api.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	created, err := api.Client.Pods("default").Create(ctx, pod("outage", ctr("web", "img:1")))
	if err != nil {
		t.Fatal(err)
	}
	rt := fake.New()
	_, _ = rt.EnsureNetwork(ctx, "10.244.7.0/24")
	sink := &failCounter{Manager: status.NewManager(c, nil)}
	m := New(Config{NodeName: "n1", NodeIP: "192.0.2.10", PauseImage: "kube5/pause:3.10", RootDir: t.TempDir(),
		RelistPeriod: 20 * time.Millisecond, ResyncPeriod: 100 * time.Millisecond}, rt, &nopRecorder{}, sink)
	m.UpdatePod(created)
	m.SetSynced()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	poll := func(d time.Duration, what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s; runtime calls: %v", d, what, rt.Calls())
			}
		}
	}
	poll(10*time.Second, "the pod Running in the apiserver", func() bool {
		p, err := api.Client.Pods("default").Get(ctx, "outage")
		return err == nil && p.GetStatus().GetPhase() == "Running"
	})

	// A graceful delete: the pod is Terminating, and the kubelet learns of it just
	// before the apiserver goes away.
	if err := api.Client.Pods("default").Delete(ctx, "outage", nil); err != nil {
		t.Fatal(err)
	}
	terminating, err := api.Client.Pods("default").Get(ctx, "outage")
	if err != nil || terminating.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("the pod is not Terminating after a graceful delete: %v, %v", terminating.GetMetadata(), err)
	}
	api.Stop()
	m.UpdatePod(terminating)
	poll(15*time.Second, "the containers stopped and a final delete failed", func() bool {
		return rt.Running() == nil && sink.failures() >= 1
	})

	api.Restart(t)
	poll(60*time.Second, "the pod object deleted after the apiserver came back", func() bool {
		_, err := api.Client.Pods("default").Get(ctx, "outage")
		return apierrors.IsNotFound(err)
	})
	stops := 0
	for _, call := range rt.Calls() {
		if call == "stop web" {
			stops++
		}
	}
	if stops != 1 {
		t.Fatalf("the container was stopped %d times, want once; calls: %v", stops, rt.Calls())
	}
}
