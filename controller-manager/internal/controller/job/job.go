// Package job is the job controller: it runs a Job's pods to completion, as upstream's:
// parallelism pods at a time until completions succeeded (or, without completions, until
// one succeeded and the rest finished), failed pods replaced after an exponential backoff
// (10s doubling, at most 6 minutes) until more than backoffLimit failed, the job failed
// when it runs longer than activeDeadlineSeconds, and status counting active, succeeded
// and failed pods with the Complete or Failed condition.
//
// Pods are counted from the pods that exist (upstream's legacy tracking, without
// finalizers): a finished pod deleted before the job finishes is no longer counted.
package job

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"
	"kube5/proto/labels"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/controllerref"
)

// Name is the controller's name in events.
const Name = "job-controller"

// Controller runs jobs.
type Controller struct {
	client   *client.Clientset
	jobs     *informer.Informer[*batchv1.Job]
	pods     *informer.Informer[*corev1.Pod]
	recorder *events.Recorder
	queue    *workqueue.Queue[string]
	expect   *expectations

	// Backoff and MaxBackoff are upstream's fixed pod failure backoff; tests shorten them.
	Backoff, MaxBackoff time.Duration
	now                 func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // pod uid -> when first seen finished
}

// New registers the controller's handlers.
func New(ctx *controller.Context) (controller.Controller, error) {
	c := &Controller{
		client:     ctx.Client,
		jobs:       informer.ForType[*batchv1.Job](ctx.Informers),
		pods:       informer.ForType[*corev1.Pod](ctx.Informers),
		queue:      workqueue.New[string]("job"),
		expect:     newExpectations(),
		Backoff:    DefaultBackoff,
		MaxBackoff: DefaultMaxBackoff,
		now:        time.Now,
		seen:       map[string]time.Time{},
	}
	if ctx.Events != nil {
		c.recorder = ctx.Events(Name)
	}
	c.jobs.AddEventHandler(informer.Handler[*batchv1.Job]{
		OnAdd:    func(j *batchv1.Job) { c.queue.Add(informer.Key(j)) },
		OnUpdate: func(_, j *batchv1.Job) { c.queue.Add(informer.Key(j)) },
		OnDelete: func(j *batchv1.Job) { c.queue.Add(informer.Key(j)) },
	})
	c.pods.AddEventHandler(informer.Handler[*corev1.Pod]{
		OnAdd: func(p *corev1.Pod) {
			if key := c.jobKeyOf(p); key != "" {
				if p.GetMetadata().GetDeletionTimestamp() == nil {
					c.expect.observe(key, 1, 0)
				}
				c.queue.Add(key)
			}
		},
		OnUpdate: func(old, p *corev1.Pod) {
			if key := c.jobKeyOf(p); key != "" {
				if old.GetMetadata().GetDeletionTimestamp() == nil && p.GetMetadata().GetDeletionTimestamp() != nil {
					c.expect.observe(key, 0, 1)
				}
				c.queue.Add(key)
			}
			if key := c.jobKeyOf(old); key != "" {
				c.queue.Add(key)
			}
		},
		OnDelete: func(p *corev1.Pod) {
			c.mu.Lock()
			delete(c.seen, p.GetMetadata().GetUid())
			c.mu.Unlock()
			if key := c.jobKeyOf(p); key != "" {
				if p.GetMetadata().GetDeletionTimestamp() == nil {
					c.expect.observe(key, 0, 1)
				}
				c.queue.Add(key)
			}
		},
	})
	return c, nil
}

// jobKeyOf returns the key of the Job controlling p, or "".
func (c *Controller) jobKeyOf(p *corev1.Pod) string {
	ref := controllerref.Of(p)
	if ref == nil || ref.GetKind() != "Job" || ref.GetApiVersion() != "batch/v1" {
		return ""
	}
	return p.GetMetadata().GetNamespace() + "/" + ref.GetName()
}

// Run syncs jobs with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.jobs.HasSynced, c.pods.HasSynced) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", Name, "workers", workers)
	for i := 0; i < workers; i++ {
		go controller.Work(ctx, c.queue, c.sync, "Job sync failed; retrying", "job")
	}
	<-ctx.Done()
}

// firstSeen is when the controller first saw a finished pod.
func (c *Controller) firstSeen(p *corev1.Pod) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	uid := p.GetMetadata().GetUid()
	t, ok := c.seen[uid]
	if !ok {
		t = c.now()
		c.seen[uid] = t
	}
	return t
}

// pods returns the job's pods, adopting orphans its selector matches.
func (c *Controller) podsOf(ctx context.Context, j *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := labels.SelectorFromLabelSelector(j.GetSpec().GetSelector())
	if err != nil || j.GetSpec().GetSelector() == nil {
		return nil, fmt.Errorf("job %s has an invalid selector: %v", informer.Key(j), err)
	}
	ns := j.GetMetadata().GetNamespace()
	m := controllerref.NewManager[*corev1.Pod](controllerref.Owner{
		Object: j, APIVersion: "batch/v1", Kind: "Job", Selector: sel,
		CanAdopt: func(ctx context.Context) error {
			fresh, err := c.client.Jobs(ns).Get(ctx, j.GetMetadata().GetName())
			if err != nil {
				return err
			}
			if fresh.GetMetadata().GetUid() != j.GetMetadata().GetUid() || fresh.GetMetadata().GetDeletionTimestamp() != nil {
				return errors.New("job is gone or being deleted")
			}
			return nil
		},
	}, c.client.Pods)
	return m.Claim(ctx, c.pods.Lister().ByNamespace(ns, sel))
}

// sync brings a job one step closer to done.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := informer.SplitKey(key)
	if err != nil {
		return nil
	}
	cached, ok := c.jobs.Lister().Get(ns, name)
	if !ok {
		c.expect.forget(key)
		return nil
	}
	if cached.GetMetadata().GetDeletionTimestamp() != nil {
		return nil // the garbage collector deals with its pods
	}
	j := proto.Clone(cached).(*batchv1.Job)
	if j.Status == nil {
		j.Status = &batchv1.JobStatus{}
	}
	pods, err := c.podsOf(ctx, j)
	if err != nil {
		return err
	}
	now := c.now()
	s := classify(pods, c.firstSeen)
	var done Intervals
	if isIndexed(j) {
		// An Indexed job counts its done indexes, not its succeeded pods: a rerun of an
		// index (a duplicate pod) does not complete another one.
		done = succeededIndexes(j, pods)
		s.succeeded = done.Total()
		j.Status.CompletedIndexes = done.String()
	}

	if finished(j) != nil {
		// Finished: stop what still runs; the counts stay as they were when it finished.
		if _, err := c.deletePods(ctx, key, j, s.active); err != nil {
			return err
		}
		if j.Status.Active == 0 && j.Status.GetReady() == 0 {
			return nil
		}
		zero := int32(0)
		j.Status.Active, j.Status.Ready = 0, &zero
		_, err := c.client.Jobs(ns).UpdateStatus(ctx, j)
		return err
	}
	suspended := j.GetSpec().GetSuspend()
	if j.Status.StartTime == nil && !suspended {
		j.Status.StartTime = metav1.NewTime(now)
	}

	var failReason, failMsg string
	switch {
	case BackoffLimitExceeded(j.GetSpec(), s):
		failReason, failMsg = ReasonBackoffLimitExceeded, "Job has reached the specified backoff limit"
	case j.GetSpec().ActiveDeadlineSeconds != nil && j.Status.StartTime != nil && !suspended:
		// A suspended job has no deadline running: activeDeadlineSeconds counts the
		// seconds the job is continuously active, from its (last) start.
		deadline := j.Status.StartTime.AsTime().Add(time.Duration(j.GetSpec().GetActiveDeadlineSeconds()) * time.Second)
		if left := deadline.Sub(now); left <= 0 {
			failReason, failMsg = ReasonDeadlineExceeded, "Job was active longer than specified deadline"
		} else {
			c.queue.AddAfter(key, left)
		}
	}
	if failReason != "" {
		if _, err := c.deletePods(ctx, key, j, s.active); err != nil {
			return err
		}
		s.failed += len(s.active)
		s.active, s.ready = nil, 0
		setCondition(j, ConditionFailed, failReason, failMsg, now)
		if c.recorder != nil {
			c.recorder.Event(j, events.Warning, failReason, failMsg)
		}
		return c.updateStatus(ctx, cached, j, s, 0)
	}
	if Complete(j.GetSpec(), s) {
		if _, err := c.deletePods(ctx, key, j, s.active); err != nil {
			return err
		}
		s.active, s.ready = nil, 0
		setCondition(j, ConditionComplete, ReasonCompletionsReached, "Reached expected number of succeeded pods", now)
		j.Status.CompletionTime = metav1.NewTime(now)
		if c.recorder != nil {
			c.recorder.Event(j, events.Normal, "Completed", "Job completed")
		}
		return c.updateStatus(ctx, cached, j, s, 0)
	}

	delta := 0
	var manageErr error
	if c.expect.satisfied(key) {
		delta, manageErr = c.manage(ctx, key, j, s, done, now)
		// As upstream, the Suspended condition follows only a sync that managed the
		// pods, from a cache that has caught up with the controller's own writes.
		c.syncSuspended(j, now)
	}
	if err := c.updateStatus(ctx, cached, j, s, delta); err != nil {
		return err
	}
	return manageErr
}

// syncSuspended sets the Suspended condition and startTime from spec.suspend, as
// upstream: suspending clears startTime (so the template's scheduling directives may
// change again), resuming starts the clock anew, so activeDeadlineSeconds counts from
// the resume.
func (c *Controller) syncSuspended(j *batchv1.Job, now time.Time) {
	if j.GetSpec().GetSuspend() {
		j.Status.StartTime = nil
		if ensureCondition(j, ConditionSuspended, "True", ReasonJobSuspended, "Job suspended", now) && c.recorder != nil {
			c.recorder.Event(j, events.Normal, "Suspended", "Job suspended")
		}
		return
	}
	if ensureCondition(j, ConditionSuspended, "False", ReasonJobResumed, "Job resumed", now) {
		j.Status.StartTime = metav1.NewTime(now)
		if c.recorder != nil {
			c.recorder.Event(j, events.Normal, "Resumed", "Job resumed")
		}
	}
}

// manage creates or deletes pods so that WantActive run; it returns the change in active
// pods (created, or minus the deleted). An Indexed job (done holds its completed
// indexes) runs one pod per index not done: other pods go first, then the lowest
// pending indexes get one.
func (c *Controller) manage(ctx context.Context, key string, j *batchv1.Job, s podSet, done Intervals, now time.Time) (int, error) {
	active := s.active
	completions := int(j.GetSpec().GetCompletions())
	if isIndexed(j) {
		var extra []*corev1.Pod
		if active, extra = splitByIndex(s.active, done, completions); len(extra) > 0 {
			deleted, err := c.deletePods(ctx, key, j, extra)
			return -deleted, err
		}
	}
	want := WantActive(j.GetSpec(), s.succeeded, len(active))
	diff := want - len(active)
	if diff < 0 {
		extra := append([]*corev1.Pod(nil), active...)
		deletionOrder(extra)
		deleted, err := c.deletePods(ctx, key, j, extra[:-diff])
		return -deleted, err
	}
	if diff == 0 {
		return 0, nil
	}
	indexes := make([]int, diff)
	for i := range indexes {
		indexes[i] = -1
	}
	if isIndexed(j) {
		if indexes = pendingIndexes(done, active, diff, completions); len(indexes) == 0 {
			return 0, nil
		}
		diff = len(indexes)
	}
	if s.failuresSinceSuccess > 0 {
		wait := Backoff(s.failuresSinceSuccess, c.Backoff, c.MaxBackoff)
		if left := s.lastFailure.Add(wait).Sub(now); left > 0 {
			klog.V(3).InfoS("Job backing off before the next pod", "job", key, "failures", s.failuresSinceSuccess, "wait", left)
			c.queue.AddAfter(key, left)
			return 0, nil
		}
	}
	c.expect.expect(key, diff, 0)
	created := 0
	// Slow start, as upstream: batches of 1, 2, 4, ... so a broken template fails once,
	// not parallelism times.
	for batch := 1; diff > 0; batch *= 2 {
		n := min(batch, diff)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for _, index := range indexes[:n] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- c.createPod(ctx, j, index)
			}()
		}
		indexes = indexes[n:]
		wg.Wait()
		close(errs)
		var first error
		for err := range errs {
			if err != nil {
				c.expect.observe(key, 1, 0)
				if first == nil {
					first = err
				}
				continue
			}
			created++
		}
		diff -= n
		if first != nil {
			c.expect.observe(key, diff, 0) // the rest will not be created
			return created, first
		}
	}
	return created, nil
}

// createPod creates a pod from the job's template; index is its completion index, or -1
// for a NonIndexed job.
func (c *Controller) createPod(ctx context.Context, j *batchv1.Job, index int) error {
	tmpl := j.GetSpec().GetTemplate()
	md := j.GetMetadata()
	pod := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{
			GenerateName:    md.GetName() + "-",
			Namespace:       md.GetNamespace(),
			Labels:          tmpl.GetMetadata().GetLabels(),
			Annotations:     tmpl.GetMetadata().GetAnnotations(),
			Finalizers:      tmpl.GetMetadata().GetFinalizers(),
			OwnerReferences: []*metav1.OwnerReference{controllerref.New(j, "batch/v1", "Job")},
		},
		Spec: proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec),
	}
	if index >= 0 {
		indexedPod(pod, md.GetName(), index)
	}
	out, err := c.client.Pods(md.GetNamespace()).Create(ctx, pod)
	if err != nil {
		if c.recorder != nil && !apierrors.IsForbidden(err) {
			c.recorder.Eventf(j, events.Warning, "FailedCreate", "Error creating: %v", err)
		}
		return err
	}
	if c.recorder != nil {
		c.recorder.Eventf(j, events.Normal, "SuccessfulCreate", "Created pod: %s", out.GetMetadata().GetName())
	}
	return nil
}

// deletePods deletes pods of the job (at once: a job's leftover pods have nothing to
// finish).
// It returns how many are gone.
func (c *Controller) deletePods(ctx context.Context, key string, j *batchv1.Job, pods []*corev1.Pod) (int, error) {
	if len(pods) == 0 {
		return 0, nil
	}
	c.expect.expect(key, 0, len(pods))
	var first error
	deleted := 0
	for _, p := range pods {
		uid := p.GetMetadata().GetUid()
		err := c.client.Pods(p.GetMetadata().GetNamespace()).Delete(ctx, p.GetMetadata().GetName(),
			&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{Uid: &uid}})
		if err != nil {
			c.expect.observe(key, 0, 1)
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				deleted++
			} else if first == nil {
				first = err
			}
			continue
		}
		deleted++
		if c.recorder != nil {
			c.recorder.Eventf(j, events.Normal, "SuccessfulDelete", "Deleted pod: %s", p.GetMetadata().GetName())
		}
	}
	return deleted, first
}

// ensureCondition is upstream's ensureJobConditionStatus: it sets the condition typ to
// status, reason and msg, and reports whether that changed anything. A False condition
// that does not exist yet is not added (a job never suspended is not "resumed").
func ensureCondition(j *batchv1.Job, typ, status, reason, msg string, now time.Time) bool {
	for _, c := range j.Status.Conditions {
		if c.GetType() == typ {
			if c.GetStatus() == status && c.GetReason() == reason && c.GetMessage() == msg {
				return false
			}
			c.Status, c.Reason, c.Message = status, reason, msg
			c.LastProbeTime, c.LastTransitionTime = metav1.NewTime(now), metav1.NewTime(now)
			return true
		}
	}
	if status == "False" {
		return false
	}
	j.Status.Conditions = append(j.Status.Conditions, &batchv1.JobCondition{
		Type: typ, Status: status, Reason: reason, Message: msg,
		LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
	})
	return true
}

func setCondition(j *batchv1.Job, typ, reason, msg string, now time.Time) {
	for _, c := range j.Status.Conditions {
		if c.GetType() == typ {
			if c.GetStatus() != "True" {
				c.LastTransitionTime = metav1.NewTime(now)
			}
			c.Status, c.Reason, c.Message, c.LastProbeTime = "True", reason, msg, metav1.NewTime(now)
			return
		}
	}
	j.Status.Conditions = append(j.Status.Conditions, &batchv1.JobCondition{
		Type: typ, Status: "True", Reason: reason, Message: msg,
		LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
	})
}

// updateStatus writes j's status with the counts of s (created pods count as active, as
// upstream, and deleted ones no longer do) when it differs from what is stored.
func (c *Controller) updateStatus(ctx context.Context, cached, j *batchv1.Job, s podSet, delta int) error {
	st := j.Status
	st.Active = int32(max(len(s.active)+delta, 0))
	st.Succeeded = int32(s.succeeded)
	st.Failed = int32(s.failed)
	ready := int32(s.ready)
	st.Ready = &ready
	if proto.Equal(st, cached.GetStatus()) {
		return nil
	}
	_, err := c.client.Jobs(j.GetMetadata().GetNamespace()).UpdateStatus(ctx, j)
	return err
}
