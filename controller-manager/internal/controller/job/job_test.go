package job

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }

type harness struct {
	t  *testing.T
	cs *client.Clientset
}

// startController runs a job controller; stop waits until it has stopped.
func (h *harness) startController() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	f := informer.NewFactory(h.cs, 0)
	c, err := New(&controller.Context{Client: h.cs, Informers: f, Events: func(name string) *events.Recorder {
		r := events.NewRecorder(h.cs, name, "")
		go r.Run(ctx)
		return r
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	jc := c.(*Controller)
	jc.Backoff, jc.MaxBackoff = 300*time.Millisecond, 2*time.Second
	f.Start(ctx)
	done := make(chan struct{})
	go func() { c.Run(ctx, 2); close(done) }()
	return func() { cancel(); <-done; f.Shutdown() }
}

func (h *harness) createJob(name string, spec *batchv1.JobSpec) {
	h.t.Helper()
	if spec.Template == nil {
		spec.Template = &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{RestartPolicy: "Never",
			Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}}}
	}
	if _, err := h.cs.Jobs("default").Create(context.Background(), &batchv1.Job{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: spec,
	}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) pods(job string) []*corev1.Pod {
	h.t.Helper()
	l, err := h.cs.Pods("default").List(context.Background(), client.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		h.t.Fatal(err)
	}
	return l.Items
}

// kubelet plays the node for a job's pods until ctx ends: act decides what happens to a
// pod still running and returns the new status, or nil to leave it.
func (h *harness) kubelet(ctx context.Context, job string, act func(p *corev1.Pod) *corev1.PodStatus) {
	go func() {
		for ctx.Err() == nil {
			l, err := h.cs.Pods("default").List(ctx, client.ListOptions{LabelSelector: "job-name=" + job})
			if err == nil {
				for _, p := range l.Items {
					ph := p.GetStatus().GetPhase()
					if ph == "Succeeded" || ph == "Failed" || p.GetMetadata().GetDeletionTimestamp() != nil {
						continue
					}
					if st := act(p); st != nil {
						p.Status = st
						h.cs.Pods("default").UpdateStatus(ctx, p)
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

func finishedStatus(phase string, at time.Time) *corev1.PodStatus {
	return &corev1.PodStatus{Phase: phase, ContainerStatuses: []*corev1.ContainerStatus{{Name: "c",
		State: &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(at)}}}}}
}

func (h *harness) waitJob(name string, what string, cond func(*batchv1.Job) bool) *batchv1.Job {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var j *batchv1.Job
	for time.Now().Before(deadline) {
		var err error
		if j, err = h.cs.Jobs("default").Get(context.Background(), name); err == nil && cond(j) {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("job %s: timed out waiting for %s; status %v", name, what, j.GetStatus())
	return nil
}

func condition(j *batchv1.Job, typ string) *batchv1.JobCondition {
	for _, c := range j.GetStatus().GetConditions() {
		if c.GetType() == typ && c.GetStatus() == "True" {
			return c
		}
	}
	return nil
}

func TestJob(t *testing.T) {
	s := apiservertest.Start(t)
	h := &harness{t: t, cs: s.Client}
	stop := h.startController()
	defer func() { stop() }()

	t.Run("completions and parallelism", func(t *testing.T) {
		h := &harness{t: t, cs: s.Client}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		maxActive, seen := 0, map[string]int{}
		h.kubelet(ctx, "pi", func(p *corev1.Pod) *corev1.PodStatus {
			mu.Lock()
			defer mu.Unlock()
			active := 0
			for _, q := range h.pods("pi") {
				if ph := q.GetStatus().GetPhase(); ph != "Succeeded" && ph != "Failed" && q.GetMetadata().GetDeletionTimestamp() == nil {
					active++
				}
			}
			maxActive = max(maxActive, active)
			// Each pod runs for a few rounds, so pods overlap.
			if seen[p.Metadata.Name]++; seen[p.Metadata.Name] < 5 {
				return nil
			}
			return finishedStatus("Succeeded", time.Now())
		})
		h.createJob("pi", &batchv1.JobSpec{Parallelism: i32(2), Completions: i32(3)})
		j := h.waitJob("pi", "Complete", func(j *batchv1.Job) bool { return condition(j, "Complete") != nil })
		st := j.GetStatus()
		if st.GetSucceeded() != 3 || st.GetActive() != 0 || st.GetFailed() != 0 || st.StartTime == nil || st.CompletionTime == nil {
			t.Errorf("status = %v", st)
		}
		if n := len(h.pods("pi")); n != 3 {
			t.Errorf("%d pods created, want 3", n)
		}
		mu.Lock()
		if maxActive > 2 || maxActive < 2 {
			t.Errorf("at most %d pods ran at once, want 2", maxActive)
		}
		mu.Unlock()
		p := h.pods("pi")[0]
		if ref := p.GetMetadata().GetOwnerReferences(); len(ref) != 1 || ref[0].GetKind() != "Job" || !ref[0].GetController() {
			t.Errorf("ownerReferences = %v", ref)
		}
		if p.GetMetadata().GetGenerateName() != "pi-" || p.GetMetadata().GetLabels()["batch.kubernetes.io/job-name"] != "pi" {
			t.Errorf("pod metadata = %v", p.GetMetadata())
		}
	})

	t.Run("work queue", func(t *testing.T) {
		h := &harness{t: t, cs: s.Client}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h.createJob("wq", &batchv1.JobSpec{Parallelism: i32(2)})
		h.waitJob("wq", "2 active", func(j *batchv1.Job) bool { return j.GetStatus().GetActive() == 2 })
		// One worker finishes: no new pods, not complete while the other runs.
		first := h.pods("wq")[0]
		first.Status = finishedStatus("Succeeded", time.Now())
		if _, err := h.cs.Pods("default").UpdateStatus(ctx, first); err != nil {
			t.Fatal(err)
		}
		j := h.waitJob("wq", "1 succeeded", func(j *batchv1.Job) bool { return j.GetStatus().GetSucceeded() == 1 })
		if condition(j, "Complete") != nil || j.GetStatus().GetActive() != 1 {
			t.Fatalf("status = %v", j.GetStatus())
		}
		h.kubelet(ctx, "wq", func(*corev1.Pod) *corev1.PodStatus { return finishedStatus("Succeeded", time.Now()) })
		h.waitJob("wq", "Complete", func(j *batchv1.Job) bool { return condition(j, "Complete") != nil })
		if n := len(h.pods("wq")); n != 2 {
			t.Errorf("%d pods, want 2", n)
		}
	})

	t.Run("backoff limit", func(t *testing.T) {
		h := &harness{t: t, cs: s.Client}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		firstSeen, failedAt := map[string]time.Time{}, map[string]time.Time{}
		var order []string
		h.kubelet(ctx, "fail", func(p *corev1.Pod) *corev1.PodStatus {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := firstSeen[p.Metadata.Name]; !ok {
				firstSeen[p.Metadata.Name] = time.Now()
				order = append(order, p.Metadata.Name)
			}
			now := time.Now()
			failedAt[p.Metadata.Name] = now
			return finishedStatus("Failed", now)
		})
		h.createJob("fail", &batchv1.JobSpec{BackoffLimit: i32(2)})
		j := h.waitJob("fail", "Failed", func(j *batchv1.Job) bool { return condition(j, "Failed") != nil })
		if c := condition(j, "Failed"); c.GetReason() != ReasonBackoffLimitExceeded {
			t.Errorf("reason = %s", c.GetReason())
		}
		if j.GetStatus().GetFailed() != 3 || j.GetStatus().GetActive() != 0 {
			t.Errorf("status = %v", j.GetStatus())
		}
		if n := len(h.pods("fail")); n != 3 {
			t.Errorf("%d pods, want 3 (backoffLimit 2 + 1)", n)
		}
		mu.Lock()
		defer mu.Unlock()
		// Pod n+1 starts no earlier than 300ms * 2^(n-1) after pod n failed.
		for i := 1; i < len(order); i++ {
			gap := firstSeen[order[i]].Sub(failedAt[order[i-1]])
			want := 300 * time.Millisecond << (i - 1)
			if gap < want {
				t.Errorf("pod %d started %v after the previous failure, want >= %v", i+1, gap, want)
			}
		}
	})

	t.Run("restartPolicy OnFailure counts restarts", func(t *testing.T) {
		h := &harness{t: t, cs: s.Client}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h.kubelet(ctx, "crash", func(p *corev1.Pod) *corev1.PodStatus {
			return &corev1.PodStatus{Phase: "Running", ContainerStatuses: []*corev1.ContainerStatus{{Name: "c", RestartCount: 2,
				State: &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}}
		})
		h.createJob("crash", &batchv1.JobSpec{BackoffLimit: i32(2), Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{
			RestartPolicy: "OnFailure", Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}}}})
		j := h.waitJob("crash", "Failed", func(j *batchv1.Job) bool { return condition(j, "Failed") != nil })
		if c := condition(j, "Failed"); c.GetReason() != ReasonBackoffLimitExceeded {
			t.Errorf("reason = %s", c.GetReason())
		}
	})

	t.Run("active deadline", func(t *testing.T) {
		h := &harness{t: t, cs: s.Client}
		h.createJob("slow", &batchv1.JobSpec{Parallelism: i32(2), Completions: i32(4), ActiveDeadlineSeconds: i64(2)})
		began := time.Now()
		j := h.waitJob("slow", "Failed", func(j *batchv1.Job) bool { return condition(j, "Failed") != nil })
		// startTime has second precision, as upstream: the deadline may come up to 1s early.
		if d := time.Since(began); d < time.Second {
			t.Errorf("failed after %v, before the 2s deadline", d)
		}
		if c := condition(j, "Failed"); c.GetReason() != ReasonDeadlineExceeded || c.GetMessage() != "Job was active longer than specified deadline" {
			t.Errorf("condition = %v", c)
		}
		if j.GetStatus().GetActive() != 0 || j.GetStatus().GetFailed() != 2 {
			t.Errorf("status = %v", j.GetStatus())
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(h.pods("slow")) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d pods left after the deadline", len(h.pods("slow")))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("restart converges without duplicates", func(t *testing.T) {
		h := &harness{t: t, cs: s.Client}
		h.createJob("many", &batchv1.JobSpec{Parallelism: i32(5), Completions: i32(5)})
		h.waitJob("many", "5 active", func(j *batchv1.Job) bool { return j.GetStatus().GetActive() == 5 })
		stop()
		stop = h.startController()
		// A pod finishes: the new controller counts it, and wants 4 active, which exist.
		p := h.pods("many")[0]
		p.Status = finishedStatus("Succeeded", time.Now())
		if _, err := h.cs.Pods("default").UpdateStatus(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		h.waitJob("many", "1 succeeded", func(j *batchv1.Job) bool { return j.GetStatus().GetSucceeded() == 1 })
		if n := len(h.pods("many")); n != 5 {
			t.Errorf("%d pods after restart, want 5", n)
		}
		l, _ := h.cs.Events("default").List(context.Background(), client.ListOptions{})
		created := 0
		for _, e := range l.Items {
			if e.GetInvolvedObject().GetName() == "many" && e.GetReason() == "SuccessfulCreate" {
				created += int(e.GetCount())
			}
		}
		if created > 5 {
			t.Errorf("%d SuccessfulCreate events", created)
		}
	})
}

func TestLogic(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 6: 320 * time.Second, 7: 6 * time.Minute, 40: 6 * time.Minute} {
		if got := Backoff(n, DefaultBackoff, DefaultMaxBackoff); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
	cases := []struct {
		par, comp *int32
		succeeded int
		want      int
	}{
		{i32(2), i32(3), 0, 2}, {i32(2), i32(3), 2, 1}, {i32(2), i32(3), 3, 0}, {i32(5), nil, 0, 5}, {i32(5), nil, 1, 3}, {i32(2), nil, 1, 2},
	}
	for _, c := range cases {
		if got := WantActive(&batchv1.JobSpec{Parallelism: c.par, Completions: c.comp}, c.succeeded, 3); got != c.want {
			t.Errorf("WantActive(%v, %v, %d) = %d, want %d", c.par, c.comp, c.succeeded, got, c.want)
		}
	}
	t0 := time.Unix(1000, 0)
	pod := func(phase string, at time.Time) *corev1.Pod {
		return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: fmt.Sprint(at.Unix())}, Status: finishedStatus(phase, at)}
	}
	s := classify([]*corev1.Pod{pod("Failed", t0), pod("Succeeded", t0.Add(time.Second)), pod("Failed", t0.Add(2*time.Second)),
		pod("Failed", t0.Add(3*time.Second)), {Metadata: &metav1.ObjectMeta{Name: "run"}, Status: &corev1.PodStatus{Phase: "Running"}}},
		func(*corev1.Pod) time.Time { return t0 })
	if s.failed != 3 || s.succeeded != 1 || len(s.active) != 1 || s.failuresSinceSuccess != 2 || !s.lastFailure.Equal(t0.Add(3*time.Second)) {
		t.Errorf("classify = %+v", s)
	}
	spec := &batchv1.JobSpec{BackoffLimit: i32(2)}
	if BackoffLimitExceeded(spec, podSet{failed: 2}) || !BackoffLimitExceeded(spec, podSet{failed: 3}) {
		t.Error("backoff limit counts failed pods beyond the limit")
	}
}
