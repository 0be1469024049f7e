package job

import (
	"sort"
	"time"

	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
)

// Upstream's pod failure backoff: 10s doubling per consecutive failure, at most 6 minutes.
const (
	DefaultBackoff    = 10 * time.Second
	DefaultMaxBackoff = 6 * time.Minute
)

// Condition types and reasons, as upstream.
const (
	ConditionComplete  = "Complete"
	ConditionFailed    = "Failed"
	ConditionSuspended = "Suspended"

	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
	ReasonCompletionsReached   = "CompletionsReached"
	ReasonJobSuspended         = "JobSuspended"
	ReasonJobResumed           = "JobResumed"
)

// podSet is a job's pods sorted by what they are doing.
type podSet struct {
	active    []*corev1.Pod // neither finished nor being deleted
	succeeded int
	failed    int
	ready     int
	// restarts counts container restarts of active pods (restartPolicy OnFailure).
	restarts int
	// failuresSinceSuccess counts failed pods that finished after the last success, and
	// lastFailure is when the latest of them did: the pod backoff is computed from these.
	failuresSinceSuccess int
	lastFailure          time.Time
}

// finishTime is when a finished pod finished: its containers' latest finishedAt, else the
// latest condition transition, else fallback.
func finishTime(p *corev1.Pod, fallback time.Time) time.Time {
	var t time.Time
	for _, cs := range p.GetStatus().GetContainerStatuses() {
		if ft := cs.GetState().GetTerminated().GetFinishedAt(); ft != nil && ft.AsTime().After(t) {
			t = ft.AsTime()
		}
	}
	if t.IsZero() {
		for _, c := range p.GetStatus().GetConditions() {
			if lt := c.GetLastTransitionTime(); lt != nil && lt.AsTime().After(t) {
				t = lt.AsTime()
			}
		}
	}
	if t.IsZero() {
		return fallback
	}
	return t
}

// finishedAt is when p finished for the backoff. API times have second precision, so a
// finish time may be up to a second early. seen is when the controller first saw the pod
// finished (at or after it finished): the estimate is that observation while it falls
// within the finish time's second, else the end of that second, so a backoff is never
// cut short and at most a second long, also after a restart.
func finishedAt(p *corev1.Pod, seen func(*corev1.Pod) time.Time) time.Time {
	s := seen(p)
	ft := finishTime(p, s)
	switch upper := ft.Add(time.Second); {
	case s.Before(ft):
		return ft
	case s.Before(upper):
		return s
	default:
		return upper
	}
}

// classify sorts pods. seen gives the time a finished pod was first seen by the
// controller.
func classify(pods []*corev1.Pod, seen func(*corev1.Pod) time.Time) podSet {
	var s podSet
	var lastSuccess time.Time
	type failure struct{ at time.Time }
	var failures []failure
	for _, p := range pods {
		switch p.GetStatus().GetPhase() {
		case "Succeeded":
			s.succeeded++
			if t := finishedAt(p, seen); t.After(lastSuccess) {
				lastSuccess = t
			}
		case "Failed":
			s.failed++
			failures = append(failures, failure{finishedAt(p, seen)})
		default:
			if p.GetMetadata().GetDeletionTimestamp() != nil {
				continue
			}
			s.active = append(s.active, p)
			if podReady(p) {
				s.ready++
			}
			for _, cs := range p.GetStatus().GetContainerStatuses() {
				s.restarts += int(cs.GetRestartCount())
			}
			for _, cs := range p.GetStatus().GetInitContainerStatuses() {
				s.restarts += int(cs.GetRestartCount())
			}
		}
	}
	for _, f := range failures {
		if f.at.After(lastSuccess) {
			s.failuresSinceSuccess++
			if f.at.After(s.lastFailure) {
				s.lastFailure = f.at
			}
		}
	}
	return s
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

// Backoff is how long to wait after the n-th consecutive failure before the next pod:
// base doubling per failure, at most max; 0 for no failure.
func Backoff(n int, base, max time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n; i++ {
		d *= 2
		if d >= max {
			return max
		}
	}
	if d > max {
		return max
	}
	return d
}

// WantActive is how many pods should run: parallelism, but no more than the completions
// still missing; with no completions set (a work queue), once one pod succeeded no new
// ones, and the active ones finish their work.
func WantActive(spec *batchv1.JobSpec, succeeded, active int) int {
	par := 1
	if spec.Parallelism != nil {
		par = int(spec.GetParallelism())
	}
	if spec.GetSuspend() {
		return 0
	}
	if spec.Completions == nil {
		if succeeded > 0 {
			return min(active, par)
		}
		return par
	}
	left := int(spec.GetCompletions()) - succeeded
	if left < 0 {
		left = 0
	}
	return min(par, left)
}

// Complete reports whether the job has finished successfully.
func Complete(spec *batchv1.JobSpec, s podSet) bool {
	if spec.Completions == nil {
		return s.succeeded > 0 && len(s.active) == 0
	}
	return s.succeeded >= int(spec.GetCompletions())
}

// BackoffLimitExceeded reports whether the job has failed too often: more failed pods
// than backoffLimit, or (restartPolicy OnFailure) as many container restarts.
func BackoffLimitExceeded(spec *batchv1.JobSpec, s podSet) bool {
	limit := 6
	if spec.BackoffLimit != nil {
		limit = int(spec.GetBackoffLimit())
	}
	if s.failed > limit {
		return true
	}
	if spec.GetTemplate().GetSpec().GetRestartPolicy() == "OnFailure" && s.restarts > 0 {
		if limit == 0 {
			return true
		}
		return s.restarts >= limit
	}
	return false
}

// finished returns the job's Complete or Failed condition when it is true.
func finished(j *batchv1.Job) *batchv1.JobCondition {
	for _, c := range j.GetStatus().GetConditions() {
		if (c.GetType() == ConditionComplete || c.GetType() == ConditionFailed) && c.GetStatus() == "True" {
			return c
		}
	}
	return nil
}

// deletionOrder sorts the pods to delete first to the front: not scheduled, not ready,
// newest (upstream's ActivePods ordering, reduced).
func deletionOrder(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.GetSpec().GetNodeName() == "") != (b.GetSpec().GetNodeName() == "") {
			return a.GetSpec().GetNodeName() == ""
		}
		if podReady(a) != podReady(b) {
			return !podReady(a)
		}
		return a.GetMetadata().GetCreationTimestamp().AsTime().After(b.GetMetadata().GetCreationTimestamp().AsTime())
	})
}
