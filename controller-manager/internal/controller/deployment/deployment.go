// Package deployment rolls Deployments out through ReplicaSets, as upstream's
// DeploymentController: one ReplicaSet per pod template (named <deployment>-<hash>,
// labelled pod-template-hash=<hash>), RollingUpdate within maxSurge/maxUnavailable or
// Recreate, revisions and their history, pause, proportional scaling, and the
// Progressing/Available conditions with the progress deadline.
package deployment

import (
	"context"
	"maps"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	appsv1 "kube5/proto/api/apps/v1"
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

// Controller is the deployment controller.
type Controller struct {
	cs      *client.Clientset
	dLister informer.Lister[*appsv1.Deployment]
	rsList  informer.Lister[*appsv1.ReplicaSet]
	pods    informer.Lister[*corev1.Pod]
	synced  []func() bool
	queue   *workqueue.Queue[string]
	rec     *events.Recorder
	now     func() time.Time
}

// New is the "deployment" controller's constructor.
func New(cc *controller.Context) (controller.Controller, error) {
	dInf := informer.ForType[*appsv1.Deployment](cc.Informers)
	rsInf := informer.ForType[*appsv1.ReplicaSet](cc.Informers)
	podInf := informer.ForType[*corev1.Pod](cc.Informers)
	c := &Controller{
		cs:      cc.Client,
		dLister: dInf.Lister(),
		rsList:  rsInf.Lister(),
		pods:    podInf.Lister(),
		queue: workqueue.NewWithConfig(workqueue.Config[string]{
			Name: "deployment", RateLimiter: workqueue.DefaultControllerRateLimiter[string](),
		}),
		rec: cc.Events("deployment-controller"),
		now: time.Now,
	}
	r1 := dInf.AddEventHandler(informer.Handler[*appsv1.Deployment]{
		OnAdd:    c.enqueue,
		OnUpdate: func(_, d *appsv1.Deployment) { c.enqueue(d) },
		OnDelete: c.enqueue,
	})
	r2 := rsInf.AddEventHandler(informer.Handler[*appsv1.ReplicaSet]{
		OnAdd: c.addReplicaSet, OnUpdate: c.updateReplicaSet, OnDelete: c.deleteReplicaSet,
	})
	r3 := podInf.AddEventHandler(informer.Handler[*corev1.Pod]{OnDelete: c.deletePod})
	c.synced = []func() bool{r1.HasSynced, r2.HasSynced, r3.HasSynced}
	return c, nil
}

func (c *Controller) enqueue(d *appsv1.Deployment) { c.queue.Add(informer.Key(d)) }

// resolve returns the Deployment a controllerRef names, if it still is that object.
func (c *Controller) resolve(namespace string, ref *metav1.OwnerReference) (*appsv1.Deployment, bool) {
	if ref == nil || ref.GetKind() != "Deployment" {
		return nil, false
	}
	d, ok := c.dLister.Get(namespace, ref.GetName())
	if !ok || d.GetMetadata().GetUid() != ref.GetUid() {
		return nil, false
	}
	return d, true
}

// deploymentsSelecting returns the Deployments whose selector matches an orphan
// ReplicaSet.
func (c *Controller) deploymentsSelecting(rs *appsv1.ReplicaSet) []*appsv1.Deployment {
	var out []*appsv1.Deployment
	set := labels.Set(rs.GetMetadata().GetLabels())
	for _, d := range c.dLister.ByNamespace(rs.GetMetadata().GetNamespace(), nil) {
		sel, err := labels.SelectorFromLabelSelector(d.GetSpec().GetSelector())
		if err == nil && !sel.Empty() && sel.Matches(set) {
			out = append(out, d)
		}
	}
	return out
}

func (c *Controller) addReplicaSet(rs *appsv1.ReplicaSet) {
	if rs.GetMetadata().GetDeletionTimestamp() != nil {
		c.deleteReplicaSet(rs)
		return
	}
	if ref := controllerref.Of(rs); ref != nil {
		if d, ok := c.resolve(rs.GetMetadata().GetNamespace(), ref); ok {
			c.enqueue(d)
		}
		return
	}
	for _, d := range c.deploymentsSelecting(rs) {
		c.enqueue(d)
	}
}

func (c *Controller) updateReplicaSet(old, cur *appsv1.ReplicaSet) {
	if old.GetMetadata().GetResourceVersion() == cur.GetMetadata().GetResourceVersion() {
		return // periodic resync: the deployments resync themselves
	}
	curRef, oldRef := controllerref.Of(cur), controllerref.Of(old)
	refChanged := !proto.Equal(curRef, oldRef)
	if refChanged && oldRef != nil {
		if d, ok := c.resolve(old.GetMetadata().GetNamespace(), oldRef); ok {
			c.enqueue(d)
		}
	}
	if curRef != nil {
		if d, ok := c.resolve(cur.GetMetadata().GetNamespace(), curRef); ok {
			c.enqueue(d)
		}
		return
	}
	if refChanged || !maps.Equal(old.GetMetadata().GetLabels(), cur.GetMetadata().GetLabels()) {
		for _, d := range c.deploymentsSelecting(cur) {
			c.enqueue(d)
		}
	}
}

func (c *Controller) deleteReplicaSet(rs *appsv1.ReplicaSet) {
	if d, ok := c.resolve(rs.GetMetadata().GetNamespace(), controllerref.Of(rs)); ok {
		c.enqueue(d)
	}
}

// deletePod wakes a Recreate deployment, which waits for every old pod to be gone
// before it creates new ones.
func (c *Controller) deletePod(pod *corev1.Pod) {
	ref := controllerref.Of(pod)
	if ref == nil || ref.GetKind() != "ReplicaSet" {
		return
	}
	rs, ok := c.rsList.Get(pod.GetMetadata().GetNamespace(), ref.GetName())
	if !ok || rs.GetMetadata().GetUid() != ref.GetUid() {
		return
	}
	if d, ok := c.resolve(rs.GetMetadata().GetNamespace(), controllerref.Of(rs)); ok && d.GetSpec().GetStrategy().GetType() == RecreateStrategy {
		c.enqueue(d)
	}
}

// Run starts workers once the caches are synced and stops them when ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	klog.InfoS("Starting controller", "controller", "deployment")
	defer klog.InfoS("Shutting down controller", "controller", "deployment")
	if !informer.WaitForCacheSync(ctx, c.synced...) {
		return
	}
	// Syncs run on their own context so that one in flight at shutdown can finish its
	// writes (see controller.SyncContext); the queue shut-down stops new ones.
	syncCtx, stopSyncs := controller.SyncContext(ctx)
	defer stopSyncs()
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNext(ctx, syncCtx) {
			}
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *Controller) processNext(ctx, syncCtx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if ctx.Err() != nil {
		return true // stopping: drain the queue without starting syncs
	}
	start := time.Now()
	err := c.sync(syncCtx, key)
	klog.V(4).InfoS("Finished syncing", "controller", "deployment", "key", key, "duration", time.Since(start), "err", err)
	if err == nil {
		c.queue.Forget(key)
		return true
	}
	switch {
	case syncCtx.Err() != nil:
		return true
	case apierrors.IsConflict(err):
		// A write raced with another (often our own previous one, not yet in the
		// cache): routine, retried at once with backoff.
		klog.V(2).InfoS("Sync conflicted; will retry", "controller", "deployment", "key", key, "err", err)
	default:
		klog.ErrorS(err, "Sync failed; will retry", "controller", "deployment", "key", key)
	}
	c.queue.AddRateLimited(key)
	return true
}

// sync reconciles one Deployment. It works on a copy; writes replace the copy's contents
// with what the apiserver returned, so later steps see the current resourceVersion.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := informer.SplitKey(key)
	if err != nil {
		return nil
	}
	cached, ok := c.dLister.Get(ns, name)
	if !ok {
		klog.V(4).InfoS("Deployment has been deleted", "key", key)
		return nil
	}
	d := proto.Clone(cached).(*appsv1.Deployment)
	sel, err := labels.SelectorFromLabelSelector(d.GetSpec().GetSelector())
	if err != nil {
		klog.ErrorS(err, "Invalid selector; not syncing", "deployment", key)
		return nil
	}
	if sel.Empty() {
		c.rec.Eventf(d, events.Warning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.GetStatus().GetObservedGeneration() < d.GetMetadata().GetGeneration() {
			st := statusOf(d)
			st.ObservedGeneration = d.GetMetadata().GetGeneration()
			return c.writeStatus(ctx, d, st)
		}
		return nil
	}
	rsList, err := c.claimReplicaSets(ctx, d, sel)
	if err != nil {
		return err
	}
	if d.GetMetadata().GetDeletionTimestamp() != nil {
		return c.syncStatusOnly(ctx, d, rsList)
	}
	if err := c.checkPausedConditions(ctx, d); err != nil {
		return err
	}
	if d.GetSpec().GetPaused() {
		return c.syncScale(ctx, d, rsList)
	}
	scaling, err := c.isScalingEvent(ctx, d, rsList)
	if err != nil {
		return err
	}
	if scaling {
		return c.syncScale(ctx, d, rsList)
	}
	if d.GetSpec().GetStrategy().GetType() == RecreateStrategy {
		return c.rolloutRecreate(ctx, d, rsList, c.podsByReplicaSet(d, sel, rsList))
	}
	return c.rolloutRolling(ctx, d, rsList)
}

// claimReplicaSets adopts and releases ReplicaSets and returns the Deployment's.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	m := controllerref.NewManager(controllerref.Owner{
		Object: d, APIVersion: "apps/v1", Kind: "Deployment", Selector: sel,
		CanAdopt: func(ctx context.Context) error {
			fresh, err := c.cs.Deployments(d.GetMetadata().GetNamespace()).Get(ctx, d.GetMetadata().GetName())
			if err != nil {
				return err
			}
			if fresh.GetMetadata().GetUid() != d.GetMetadata().GetUid() || fresh.GetMetadata().GetDeletionTimestamp() != nil {
				return errGone
			}
			return nil
		},
	}, c.cs.ReplicaSets)
	return m.Claim(ctx, c.rsList.ByNamespace(d.GetMetadata().GetNamespace(), nil))
}

// podsByReplicaSet groups the Deployment's pods by the UID of the ReplicaSet owning them
// (Recreate waits until the old ones are gone).
func (c *Controller) podsByReplicaSet(d *appsv1.Deployment, sel labels.Selector, rsList []*appsv1.ReplicaSet) map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	for _, rs := range rsList {
		out[rs.GetMetadata().GetUid()] = nil
	}
	for _, p := range c.pods.ByNamespace(d.GetMetadata().GetNamespace(), sel) {
		ref := controllerref.Of(p)
		if ref == nil {
			continue
		}
		if _, ok := out[ref.GetUid()]; ok {
			out[ref.GetUid()] = append(out[ref.GetUid()], p)
		}
	}
	return out
}
