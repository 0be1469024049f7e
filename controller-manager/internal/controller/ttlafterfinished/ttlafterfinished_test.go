package ttlafterfinished

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/controllertest"
	"kube5/controller-manager/internal/controller/garbagecollector"
	"kube5/controller-manager/internal/controller/job"
)

func i32(v int32) *int32 { return &v }

// succeedPods plays the kubelet: every pod of the namespace that runs succeeds.
func succeedPods(ctx context.Context, cs *client.Clientset) {
	go func() {
		for ctx.Err() == nil {
			l, err := cs.Pods("default").List(ctx, client.ListOptions{})
			if err == nil {
				for _, p := range l.Items {
					if p.GetStatus().GetPhase() == "Succeeded" || p.GetMetadata().GetDeletionTimestamp() != nil {
						continue
					}
					now := metav1.Now()
					p.Status = &corev1.PodStatus{Phase: "Succeeded", ContainerStatuses: []*corev1.ContainerStatus{{Name: "c",
						State: &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: now}}}}}
					cs.Pods("default").UpdateStatus(ctx, p)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

func poll(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func createJob(t *testing.T, cs *client.Clientset, name string, ttl *int32) {
	t.Helper()
	_, err := cs.Jobs("default").Create(context.Background(), &batchv1.Job{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &batchv1.JobSpec{TtlSecondsAfterFinished: ttl, Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{
			RestartPolicy: "Never", Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func finishedJob(t *testing.T, cs *client.Clientset, name string) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	poll(t, name+" Complete", 15*time.Second, func() bool {
		var err error
		j, err = cs.Jobs("default").Get(context.Background(), name)
		return err == nil && NeedsCleanup(&batchv1.Job{Spec: &batchv1.JobSpec{TtlSecondsAfterFinished: i32(0)}, Status: j.GetStatus()})
	})
	return j
}

func gone(cs *client.Clientset, name string) bool {
	_, err := cs.Jobs("default").Get(context.Background(), name)
	return apierrors.IsNotFound(err)
}

func podsOf(t *testing.T, cs *client.Clientset, name string) int {
	l, err := cs.Pods("default").List(context.Background(), client.ListOptions{LabelSelector: "job-name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

func TestTTLAfterFinished(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	succeedPods(ctx, cs)
	controllertest.Start(t, cs, []controller.Constructor{job.New, garbagecollector.New, New}, 2)

	t.Run("deleted ttl seconds after it finished, with its pods", func(t *testing.T) {
		createJob(t, cs, "ttl", i32(2))
		j := finishedJob(t, cs, "ttl")
		if podsOf(t, cs, "ttl") != 1 {
			t.Fatalf("the finished job has %d pods, want 1", podsOf(t, cs, "ttl"))
		}
		var finishedAt time.Time
		for _, c := range j.GetStatus().GetConditions() {
			if c.GetType() == "Complete" {
				finishedAt = c.GetLastTransitionTime().AsTime()
			}
		}
		poll(t, "the job deleted", 15*time.Second, func() bool { return gone(cs, "ttl") })
		// lastTransitionTime has second precision: deletion comes no earlier than it + ttl.
		if now := time.Now(); now.Before(finishedAt.Add(2 * time.Second)) {
			t.Errorf("deleted at %v, before finish (%v) + 2s", now, finishedAt)
		}
		if n := podsOf(t, cs, "ttl"); n != 0 {
			t.Errorf("%d pods left after the job was deleted in the foreground", n)
		}
	})

	t.Run("ttl added after it finished", func(t *testing.T) {
		createJob(t, cs, "late", nil)
		j := finishedJob(t, cs, "late")
		j.Spec.TtlSecondsAfterFinished = i32(0)
		if _, err := cs.Jobs("default").Update(context.Background(), j); err != nil {
			t.Fatal(err)
		}
		poll(t, "the job deleted", 15*time.Second, func() bool { return gone(cs, "late") })
	})

	t.Run("ttl shortened after it finished", func(t *testing.T) {
		createJob(t, cs, "long", i32(3600))
		j := finishedJob(t, cs, "long")
		j.Spec.TtlSecondsAfterFinished = i32(1)
		if _, err := cs.Jobs("default").Update(context.Background(), j); err != nil {
			t.Fatal(err)
		}
		poll(t, "the job deleted", 15*time.Second, func() bool { return gone(cs, "long") })
	})

	t.Run("negative ttl refused", func(t *testing.T) {
		_, err := cs.Jobs("default").Create(context.Background(), &batchv1.Job{
			Metadata: &metav1.ObjectMeta{Name: "neg", Namespace: "default"},
			Spec: &batchv1.JobSpec{TtlSecondsAfterFinished: i32(-1), Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{
				RestartPolicy: "Never", Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}}}},
		})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal to 0") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestTimeLeft(t *testing.T) {
	t0 := time.Unix(1000, 0)
	j := &batchv1.Job{
		Metadata: &metav1.ObjectMeta{Name: "j", Namespace: "default"},
		Spec:     &batchv1.JobSpec{TtlSecondsAfterFinished: i32(10)},
		Status: &batchv1.JobStatus{Conditions: []*batchv1.JobCondition{
			{Type: "Suspended", Status: "False", LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))},
			{Type: "Failed", Status: "True", LastTransitionTime: metav1.NewTime(t0)},
		}},
	}
	if !NeedsCleanup(j) {
		t.Fatal("a failed job with a ttl needs cleanup")
	}
	if left, err := TimeLeft(j, t0.Add(4*time.Second)); err != nil || left != 6*time.Second {
		t.Errorf("TimeLeft = %v, %v; want 6s", left, err)
	}
	if left, _ := TimeLeft(j, t0.Add(11*time.Second)); left > 0 {
		t.Errorf("TimeLeft after expiry = %v", left)
	}
	j.Status.Conditions[1].LastTransitionTime = nil
	j.Status.CompletionTime = metav1.NewTime(t0.Add(time.Second))
	if left, err := TimeLeft(j, t0); err != nil || left != 11*time.Second {
		t.Errorf("TimeLeft from completionTime = %v, %v; want 11s", left, err)
	}
	j.Status.CompletionTime = nil
	if _, err := TimeLeft(j, t0); err == nil {
		t.Error("no finish time: want an error")
	}
	j.Spec.TtlSecondsAfterFinished = nil
	if NeedsCleanup(j) {
		t.Error("a job without a ttl needs no cleanup")
	}
	j.Spec.TtlSecondsAfterFinished = i32(1)
	j.Status.Conditions[1].Status = "False"
	if NeedsCleanup(j) {
		t.Error("a running job needs no cleanup")
	}
}
