// Package ttlafterfinished is upstream's TTL-after-finished controller: it deletes a Job
// spec.ttlSecondsAfterFinished seconds after the Job finished (its Complete or Failed
// condition turned True), in the foreground, so the garbage collector removes the Job's
// pods before the Job itself. A Job not yet due is requeued for the time left instead of
// being polled; a ttl added or changed after the Job finished arrives as an update and
// is handled the same way.
package ttlafterfinished

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/klog/v2"

	batchv1 "kube5/proto/api/batch/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/informer"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in logs.
const Name = "ttl-after-finished-controller"

// Controller deletes finished Jobs whose TTL has expired.
type Controller struct {
	client *client.Clientset
	jobs   *informer.Informer[*batchv1.Job]
	queue  *workqueue.Queue[string]
	now    func() time.Time
}

// New registers the controller's handlers.
func New(ctx *controller.Context) (controller.Controller, error) {
	c := &Controller{
		client: ctx.Client,
		jobs:   informer.ForType[*batchv1.Job](ctx.Informers),
		queue:  workqueue.New[string]("ttl_jobs_to_delete"),
		now:    time.Now,
	}
	enqueue := func(j *batchv1.Job) {
		if j.GetMetadata().GetDeletionTimestamp() == nil && NeedsCleanup(j) {
			c.queue.Add(informer.Key(j))
		}
	}
	c.jobs.AddEventHandler(informer.Handler[*batchv1.Job]{
		OnAdd:    enqueue,
		OnUpdate: func(_, j *batchv1.Job) { enqueue(j) },
	})
	return c, nil
}

// Run syncs with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.jobs.HasSynced) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", Name, "workers", workers)
	// A deletion in flight at shutdown may finish (see controller.SyncContext).
	syncCtx, stopSyncs := controller.SyncContext(ctx)
	defer stopSyncs()
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.worker(ctx, syncCtx)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *Controller) worker(ctx, syncCtx context.Context) {
	for {
		key, shutdown := c.queue.Get()
		if shutdown {
			return
		}
		if ctx.Err() == nil {
			if err := c.sync(syncCtx, key); err != nil {
				klog.V(2).InfoS("Cleaning up a finished Job failed; retrying", "job", key, "err", err)
				c.queue.AddRateLimited(key)
			} else {
				c.queue.Forget(key)
			}
		}
		c.queue.Done(key)
	}
}

// sync deletes the Job under key when its TTL has expired, else requeues it for when it
// will. The cached Job decides first; a fresh read confirms before deleting, since the
// ttl may have been changed (or the Job restarted under the same name) meanwhile.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := informer.SplitKey(key)
	if err != nil {
		return nil
	}
	cached, ok := c.jobs.Lister().Get(ns, name)
	if !ok {
		return nil
	}
	if expired, err := c.expired(key, cached); err != nil || !expired {
		return err
	}
	fresh, err := c.client.Jobs(ns).Get(ctx, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if expired, err := c.expired(key, fresh); err != nil || !expired {
		return err
	}
	klog.V(2).InfoS("Cleaning up Job", "job", key)
	foreground, uid := "Foreground", fresh.GetMetadata().GetUid()
	err = c.client.Jobs(ns).Delete(ctx, name, &metav1.DeleteOptions{
		PropagationPolicy: &foreground,
		Preconditions:     &metav1.Preconditions{Uid: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or replaced by a new Job of that name, which is synced on its own
	}
	return err
}

// expired reports whether j is due for deletion; when it will be later, it requeues key
// for the time left.
func (c *Controller) expired(key string, j *batchv1.Job) (bool, error) {
	if j.GetMetadata().GetDeletionTimestamp() != nil || !NeedsCleanup(j) {
		return false, nil
	}
	left, err := TimeLeft(j, c.now())
	if err != nil {
		return false, err
	}
	if left <= 0 {
		return true, nil
	}
	c.queue.AddAfter(key, left)
	return false, nil
}

// NeedsCleanup reports whether j has a ttl and has finished.
func NeedsCleanup(j *batchv1.Job) bool {
	return j.GetSpec().TtlSecondsAfterFinished != nil && finishCondition(j) != nil
}

func finishCondition(j *batchv1.Job) *batchv1.JobCondition {
	for _, c := range j.GetStatus().GetConditions() {
		if (c.GetType() == "Complete" || c.GetType() == "Failed") && c.GetStatus() == "True" {
			return c
		}
	}
	return nil
}

// TimeLeft is how long until the finished Job j expires, measured from now: negative or
// zero when it has. The finish time is the Complete or Failed condition's
// lastTransitionTime, as upstream, else (a status written without it)
// status.completionTime.
func TimeLeft(j *batchv1.Job, now time.Time) (time.Duration, error) {
	var at *metav1.Time
	if cond := finishCondition(j); cond != nil {
		at = cond.GetLastTransitionTime()
	}
	if at == nil {
		at = j.GetStatus().GetCompletionTime()
	}
	if at == nil {
		return 0, fmt.Errorf("unable to find the time when the Job %s finished", informer.Key(j))
	}
	finishAt := at.AsTime()
	if finishAt.After(now) {
		klog.InfoS("Found Job finished in the future. This is likely due to time skew in the cluster. Job cleanup will be deferred.", "job", informer.Key(j))
	}
	expireAt := finishAt.Add(time.Duration(j.GetSpec().GetTtlSecondsAfterFinished()) * time.Second)
	return expireAt.Sub(now), nil
}
