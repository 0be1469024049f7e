package job

import (
	"context"
	"testing"
	"time"

	batchv1 "kube5/proto/api/batch/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
)

// setSuspend flips spec.suspend as a user would, retrying over the controller's status
// writes.
func (h *harness) setSuspend(name string, suspend bool) time.Time {
	h.t.Helper()
	for {
		j, err := h.cs.Jobs("default").Get(context.Background(), name)
		if err != nil {
			h.t.Fatal(err)
		}
		j.Spec.Suspend = &suspend
		at := time.Now()
		if _, err = h.cs.Jobs("default").Update(context.Background(), j); err == nil {
			return at
		}
		if !apierrors.IsConflict(err) {
			h.t.Fatal(err)
		}
	}
}

// suspendedCond returns the job's Suspended condition, whatever its status.
func suspendedCond(j *batchv1.Job) *batchv1.JobCondition {
	for _, c := range j.GetStatus().GetConditions() {
		if c.GetType() == ConditionSuspended {
			return c
		}
	}
	return nil
}

func (h *harness) events(name string) map[string]string {
	h.t.Helper()
	l, err := h.cs.Events("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range l.Items {
		if e.GetInvolvedObject().GetName() == name {
			out[e.GetReason()] = e.GetMessage()
		}
	}
	return out
}

func TestSuspend(t *testing.T) {
	s := apiservertest.Start(t)
	h := &harness{t: t, cs: s.Client}
	stop := h.startController()
	defer stop()
	yes := true

	t.Run("created suspended, resumed, suspended again", func(t *testing.T) {
		h := &harness{t: t, cs: s.Client}
		h.createJob("sus", &batchv1.JobSpec{Parallelism: i32(2), Completions: i32(4), Suspend: &yes})
		j := h.waitJob("sus", "Suspended", func(j *batchv1.Job) bool { return condition(j, ConditionSuspended) != nil })
		if c := condition(j, ConditionSuspended); c.GetReason() != "JobSuspended" || c.GetMessage() != "Job suspended" {
			t.Errorf("condition = %v", c)
		}
		if n := len(h.pods("sus")); n != 0 || j.GetStatus().StartTime != nil || j.GetStatus().GetActive() != 0 {
			t.Errorf("suspended at creation: %d pods, status %v", n, j.GetStatus())
		}

		resumed := h.setSuspend("sus", false).Truncate(time.Second)
		j = h.waitJob("sus", "resumed with 2 active", func(j *batchv1.Job) bool {
			c := suspendedCond(j)
			return c.GetStatus() == "False" && j.GetStatus().GetActive() == 2
		})
		if c := suspendedCond(j); c.GetReason() != "JobResumed" || c.GetMessage() != "Job resumed" {
			t.Errorf("condition = %v", c)
		}
		if st := j.GetStatus().GetStartTime(); st == nil || st.AsTime().Before(resumed) {
			t.Errorf("startTime %v, want the resume (%v)", st, resumed)
		}
		if n := len(h.pods("sus")); n != 2 {
			t.Errorf("%d pods after resuming, want 2", n)
		}

		h.setSuspend("sus", true)
		j = h.waitJob("sus", "suspended with no pods", func(j *batchv1.Job) bool {
			return condition(j, ConditionSuspended) != nil && j.GetStatus().GetActive() == 0 && len(h.pods("sus")) == 0
		})
		if j.GetStatus().StartTime != nil || condition(j, ConditionComplete) != nil || condition(j, ConditionFailed) != nil {
			t.Errorf("suspended: status %v", j.GetStatus())
		}
		ev := h.events("sus")
		if ev["Suspended"] != "Job suspended" || ev["Resumed"] != "Job resumed" || ev["SuccessfulDelete"] == "" {
			t.Errorf("events %v", ev)
		}
	})

	t.Run("activeDeadlineSeconds counts from the resume", func(t *testing.T) {
		h := &harness{t: t, cs: s.Client}
		created := time.Now()
		h.createJob("dl", &batchv1.JobSpec{ActiveDeadlineSeconds: i64(2)})
		h.waitJob("dl", "a pod", func(j *batchv1.Job) bool { return j.GetStatus().GetActive() == 1 })
		h.setSuspend("dl", true)
		h.waitJob("dl", "Suspended", func(j *batchv1.Job) bool { return condition(j, ConditionSuspended) != nil })
		// Stay suspended past the deadline: the job must not fail meanwhile.
		for time.Since(created) < 3*time.Second {
			if j, err := h.cs.Jobs("default").Get(context.Background(), "dl"); err != nil || condition(j, ConditionFailed) != nil {
				t.Fatalf("suspended job: %v, status %v", err, j.GetStatus())
			}
			time.Sleep(50 * time.Millisecond)
		}
		resumed := h.setSuspend("dl", false)
		h.waitJob("dl", "a pod", func(j *batchv1.Job) bool { return j.GetStatus().GetActive() == 1 })
		j := h.waitJob("dl", "Failed", func(j *batchv1.Job) bool { return condition(j, ConditionFailed) != nil })
		// startTime has second precision: the deadline may come up to 1s early.
		if d := time.Since(resumed); d < time.Second {
			t.Errorf("failed %v after the resume, before the 2s deadline", d)
		}
		if c := condition(j, ConditionFailed); c.GetReason() != ReasonDeadlineExceeded {
			t.Errorf("condition = %v", c)
		}
	})
}
