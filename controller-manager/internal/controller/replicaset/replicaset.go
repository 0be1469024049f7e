// Package replicaset keeps the number of pods of a ReplicaSet, or of a
// ReplicationController (the same controller through a Kind adapter), equal to its
// replicas, as upstream's ReplicaSetController: it adopts matching orphan pods, releases
// pods that stop matching, creates missing pods in slow-start batches, deletes surplus
// pods least valuable first, and reports status counts.
package replicaset

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"
	"kube5/proto/labels"
	"kube5/proto/scheme"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/controllerref"
)

// BurstReplicas bounds the pods one sync creates or deletes, as upstream's: a scale-up of
// 1000 takes two syncs, each waiting for the informer to see the previous one's pods.
const BurstReplicas = 500

// SlowStartInitialBatchSize is the first creation batch; each successful batch doubles
// the next, so a template the apiserver rejects costs one failed call, not hundreds.
const SlowStartInitialBatchSize = 1

// maxParallelDeletes bounds concurrent pod deletions of one sync.
const maxParallelDeletes = 50

// NewReplicaSet is the "replicaset" controller's constructor.
func NewReplicaSet(cc *controller.Context) (controller.Controller, error) {
	return New(ReplicaSetKind, cc), nil
}

// NewReplicationController is the "replicationcontroller" controller's constructor.
func NewReplicationController(cc *controller.Context) (controller.Controller, error) {
	return New(ReplicationControllerKind, cc), nil
}

// Controller manages the pods of owners of type T.
type Controller[T scheme.Object] struct {
	kind   Kind[T]
	cs     *client.Clientset
	owners informer.Lister[T]
	pods   informer.Lister[*corev1.Pod]
	synced []func() bool
	queue  *workqueue.Queue[string]
	exp    *Expectations
	rec    *events.Recorder
	now    func() time.Time
}

// New builds the controller for kind and registers its informer handlers.
func New[T scheme.Object](kind Kind[T], cc *controller.Context) *Controller[T] {
	ownerInf := informer.ForType[T](cc.Informers)
	podInf := informer.ForType[*corev1.Pod](cc.Informers)
	c := &Controller[T]{
		kind:   kind,
		cs:     cc.Client,
		owners: ownerInf.Lister(),
		pods:   podInf.Lister(),
		queue: workqueue.NewWithConfig(workqueue.Config[string]{
			Name: kind.Name, RateLimiter: workqueue.DefaultControllerRateLimiter[string](),
		}),
		exp: NewExpectations(),
		rec: cc.Events(kind.Component),
		now: time.Now,
	}
	r1 := ownerInf.AddEventHandler(informer.Handler[T]{
		OnAdd:    func(o T) { c.enqueue(o) },
		OnUpdate: func(_, o T) { c.enqueue(o) },
		OnDelete: func(o T) {
			c.exp.Delete(informer.Key(o))
			c.enqueue(o)
		},
	})
	r2 := podInf.AddEventHandler(informer.Handler[*corev1.Pod]{
		OnAdd: c.addPod, OnUpdate: c.updatePod, OnDelete: c.deletePod,
	})
	c.synced = []func() bool{r1.HasSynced, r2.HasSynced}
	return c
}

func (c *Controller[T]) enqueue(o T) { c.queue.Add(informer.Key(o)) }

// resolve returns the owner a controllerRef names, if it is of our kind and still the
// same object (UID).
func (c *Controller[T]) resolve(namespace string, ref *metav1.OwnerReference) (T, bool) {
	var zero T
	if ref == nil || ref.GetKind() != c.kind.KindName {
		return zero, false
	}
	o, ok := c.owners.Get(namespace, ref.GetName())
	if !ok || o.GetMetadata().GetUid() != ref.GetUid() {
		return zero, false
	}
	return o, true
}

// ownersSelecting returns the owners whose selector matches an orphan pod.
func (c *Controller[T]) ownersSelecting(pod *corev1.Pod) []T {
	var out []T
	set := labels.Set(pod.GetMetadata().GetLabels())
	for _, o := range c.owners.ByNamespace(pod.GetMetadata().GetNamespace(), nil) {
		sel, err := c.kind.Selector(o)
		if err == nil && sel.Matches(set) {
			out = append(out, o)
		}
	}
	return out
}

func (c *Controller[T]) addPod(pod *corev1.Pod) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		c.deletePod(pod) // seen for the first time while being deleted (after a restart)
		return
	}
	if ref := controllerref.Of(pod); ref != nil {
		if o, ok := c.resolve(pod.GetMetadata().GetNamespace(), ref); ok {
			key := informer.Key(o)
			c.exp.CreationObserved(key)
			c.queue.Add(key)
		}
		return
	}
	for _, o := range c.ownersSelecting(pod) {
		c.enqueue(o)
	}
}

func (c *Controller[T]) updatePod(old, cur *corev1.Pod) {
	if old.GetMetadata().GetResourceVersion() == cur.GetMetadata().GetResourceVersion() {
		return // periodic resync: the owners resync themselves
	}
	labelsChanged := !maps.Equal(old.GetMetadata().GetLabels(), cur.GetMetadata().GetLabels())
	if cur.GetMetadata().GetDeletionTimestamp() != nil {
		// Graceful deletion started: count it as the deletion now, so the owner replaces
		// the pod without waiting for the kubelet to finish it.
		c.deletePod(cur)
		if labelsChanged {
			c.deletePod(old)
		}
		return
	}
	curRef, oldRef := controllerref.Of(cur), controllerref.Of(old)
	refChanged := !proto.Equal(curRef, oldRef)
	if refChanged && oldRef != nil {
		if o, ok := c.resolve(old.GetMetadata().GetNamespace(), oldRef); ok {
			c.enqueue(o)
		}
	}
	if curRef != nil {
		o, ok := c.resolve(cur.GetMetadata().GetNamespace(), curRef)
		if !ok {
			return
		}
		c.enqueue(o)
		// A pod that just became ready becomes available minReadySeconds later; nothing
		// else would wake the owner then.
		if mr := c.kind.MinReady(o); mr > 0 && !IsPodReady(old) && IsPodReady(cur) {
			c.queue.AddAfter(informer.Key(o), time.Duration(mr)*time.Second+time.Second)
		}
		return
	}
	if labelsChanged || refChanged {
		for _, o := range c.ownersSelecting(cur) {
			c.enqueue(o)
		}
	}
}

func (c *Controller[T]) deletePod(pod *corev1.Pod) {
	o, ok := c.resolve(pod.GetMetadata().GetNamespace(), controllerref.Of(pod))
	if !ok {
		return
	}
	key := informer.Key(o)
	c.exp.DeletionObserved(key, informer.Key(pod))
	c.queue.Add(key)
}

// Run starts workers once the caches are synced and stops them when ctx ends.
func (c *Controller[T]) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	klog.InfoS("Starting controller", "controller", c.kind.Name)
	defer klog.InfoS("Shutting down controller", "controller", c.kind.Name)
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

func (c *Controller[T]) processNext(ctx, syncCtx context.Context) bool {
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
	klog.V(4).InfoS("Finished syncing", "controller", c.kind.Name, "key", key, "duration", time.Since(start), "err", err)
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
		klog.V(2).InfoS("Sync conflicted; will retry", "controller", c.kind.Name, "key", key, "err", err)
	default:
		klog.ErrorS(err, "Sync failed; will retry", "controller", c.kind.Name, "key", key)
	}
	c.queue.AddRateLimited(key)
	return true
}

// sync brings one owner's pods to its replicas and writes its status. It is idempotent:
// it reads the world from the caches and acts only when its own earlier writes have been
// seen (expectations).
func (c *Controller[T]) sync(ctx context.Context, key string) error {
	ns, name, err := informer.SplitKey(key)
	if err != nil {
		return nil
	}
	owner, ok := c.owners.Get(ns, name)
	if !ok {
		c.exp.Delete(key)
		return nil
	}
	needsSync := c.exp.Satisfied(key)
	sel, err := c.kind.Selector(owner)
	if err != nil {
		klog.ErrorS(err, "Invalid selector; not syncing", "controller", c.kind.Name, "key", key)
		return nil // retrying will not fix the object; an update will enqueue it again
	}
	var active []*corev1.Pod
	for _, p := range c.pods.ByNamespace(ns, nil) {
		if IsPodActive(p) {
			active = append(active, p)
		}
	}
	m := controllerref.NewManager(controllerref.Owner{
		Object: owner, APIVersion: c.kind.APIVersion, Kind: c.kind.KindName, Selector: sel,
		CanAdopt: func(ctx context.Context) error { return c.recheckOwner(ctx, owner) },
	}, c.cs.Pods)
	pods, err := m.Claim(ctx, active)
	if err != nil {
		return err
	}
	if !sel.Matches(labels.Set(c.kind.Template(owner).GetMetadata().GetLabels())) {
		// The pods it would create would not be its own: it would create forever. The
		// apiserver's validation prevents this; guard anyway.
		klog.ErrorS(nil, "Selector does not match the template's labels; not managing pods", "controller", c.kind.Name, "key", key)
		needsSync = false
	}
	var manageErr error
	if needsSync && owner.GetMetadata().GetDeletionTimestamp() == nil {
		manageErr = c.manage(ctx, owner, key, pods)
	}
	st := c.calculateStatus(owner, pods)
	// ReplicaFailure says why the pods are not there (quota, an invalid template, ...);
	// it stays until a sync manages without error.
	prev := c.kind.GetStatus(owner)
	switch {
	case manageErr != nil && prev.FailureReason == "":
		st.FailureReason, st.FailureMessage = "FailedCreate", manageErr.Error()
		if len(pods) > int(c.kind.Replicas(owner)) {
			st.FailureReason = "FailedDelete"
		}
	case manageErr != nil || (!needsSync && prev.FailureReason != ""):
		st.FailureReason, st.FailureMessage = prev.FailureReason, prev.FailureMessage
	}
	updated, err := c.updateStatus(ctx, owner, st)
	if err != nil {
		return err
	}
	st = c.kind.GetStatus(updated)
	if mr := c.kind.MinReady(owner); manageErr == nil && mr > 0 &&
		st.ReadyReplicas == c.kind.Replicas(owner) && st.AvailableReplicas != st.ReadyReplicas {
		c.queue.AddAfter(key, time.Duration(mr)*time.Second)
	}
	return manageErr
}

// recheckOwner reads the owner from the apiserver before the first adoption: a cached
// owner may have been deleted already.
func (c *Controller[T]) recheckOwner(ctx context.Context, owner T) error {
	md := owner.GetMetadata()
	fresh, err := c.kind.Resource(c.cs, md.GetNamespace()).Get(ctx, md.GetName())
	if err != nil {
		return err
	}
	if fresh.GetMetadata().GetUid() != md.GetUid() {
		return fmt.Errorf("original %s %s/%s is gone: got uid %s, wanted %s", c.kind.KindName, md.GetNamespace(), md.GetName(), fresh.GetMetadata().GetUid(), md.GetUid())
	}
	if fresh.GetMetadata().GetDeletionTimestamp() != nil {
		return fmt.Errorf("%s %s/%s is being deleted", c.kind.KindName, md.GetNamespace(), md.GetName())
	}
	return nil
}

// manage creates or deletes pods so that len(pods) approaches the owner's replicas, at
// most BurstReplicas per sync.
func (c *Controller[T]) manage(ctx context.Context, owner T, key string, pods []*corev1.Pod) error {
	diff := len(pods) - int(c.kind.Replicas(owner))
	switch {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		c.exp.ExpectCreations(key, n)
		klog.V(2).InfoS("Too few replicas", "controller", c.kind.Name, "key", key, "need", c.kind.Replicas(owner), "creating", n)
		created, err := SlowStartBatch(n, SlowStartInitialBatchSize, func() error { return c.createPod(ctx, owner) })
		// The pods not created will never be seen by the informer: stop expecting them.
		for range n - created {
			c.exp.CreationObserved(key)
		}
		return err
	case diff > 0:
		n := min(diff, BurstReplicas)
		victims := append([]*corev1.Pod(nil), pods...)
		SortForDeletion(victims)
		victims = victims[:n]
		podKeys := make([]string, len(victims))
		for i, p := range victims {
			podKeys[i] = informer.Key(p)
		}
		c.exp.ExpectDeletions(key, podKeys)
		klog.V(2).InfoS("Too many replicas", "controller", c.kind.Name, "key", key, "need", c.kind.Replicas(owner), "deleting", n)
		return c.deletePods(ctx, owner, key, victims)
	}
	return nil
}

func (c *Controller[T]) createPod(ctx context.Context, owner T) error {
	md := owner.GetMetadata()
	tmpl := c.kind.Template(owner)
	tmd := tmpl.GetMetadata()
	pod := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{
			GenerateName:    md.GetName() + "-",
			Namespace:       md.GetNamespace(),
			Labels:          maps.Clone(tmd.GetLabels()),
			Annotations:     maps.Clone(tmd.GetAnnotations()),
			Finalizers:      append([]string(nil), tmd.GetFinalizers()...),
			OwnerReferences: []*metav1.OwnerReference{controllerref.New(owner, c.kind.APIVersion, c.kind.KindName)},
		},
		Spec: proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec),
	}
	created, err := c.cs.Pods(md.GetNamespace()).Create(ctx, pod)
	if err != nil {
		if apierrors.IsTimeout(err) {
			// The pod may exist; the informer will tell (or the expectations expire).
			return nil
		}
		c.rec.Eventf(owner, events.Warning, "FailedCreate", "Error creating: %v", err)
		return err
	}
	c.rec.Eventf(owner, events.Normal, "SuccessfulCreate", "Created pod: %s", created.GetMetadata().GetName())
	return nil
}

func (c *Controller[T]) deletePods(ctx context.Context, owner T, key string, victims []*corev1.Pod) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, maxParallelDeletes)
	)
	for _, p := range victims {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pmd := p.GetMetadata()
			err := c.cs.Pods(pmd.GetNamespace()).Delete(ctx, pmd.GetName(), &metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{Uid: proto.String(pmd.GetUid())},
			})
			if err != nil {
				// Either it is gone already or the delete failed: no event will come.
				c.exp.DeletionObserved(key, informer.Key(p))
				if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
					return
				}
				c.rec.Eventf(owner, events.Warning, "FailedDelete", "Error deleting: %v", err)
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			c.rec.Eventf(owner, events.Normal, "SuccessfulDelete", "Deleted pod: %s", pmd.GetName())
		}()
	}
	wg.Wait()
	return first
}

// SlowStartBatch calls fn count times in batches of initial, 2*initial, 4*initial, ...
// concurrent calls, stopping after the first batch with an error. It returns how many
// calls succeeded and the first error.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errs := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		successes += batch - len(errs)
		if err, ok := <-errs; ok {
			return successes, err
		}
		remaining -= batch
	}
	return successes, nil
}

func (c *Controller[T]) calculateStatus(owner T, pods []*corev1.Pod) Status {
	st := Status{Replicas: int32(len(pods)), ObservedGeneration: owner.GetMetadata().GetGeneration()}
	tmplLabels := labels.SelectorFromSet(labels.Set(c.kind.Template(owner).GetMetadata().GetLabels()))
	now := c.now()
	mr := c.kind.MinReady(owner)
	for _, p := range pods {
		if tmplLabels.Matches(labels.Set(p.GetMetadata().GetLabels())) {
			st.FullyLabeledReplicas++
		}
		if IsPodReady(p) {
			st.ReadyReplicas++
			if IsPodAvailable(p, mr, now) {
				st.AvailableReplicas++
			}
		}
	}
	return st
}

// updateStatus writes st unless the owner already has it; on a conflict it re-reads the
// owner once, as upstream.
func (c *Controller[T]) updateStatus(ctx context.Context, owner T, st Status) (T, error) {
	if c.kind.GetStatus(owner) == st {
		return owner, nil
	}
	md := owner.GetMetadata()
	r := c.kind.Resource(c.cs, md.GetNamespace())
	cur := owner
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var updated T
		updated, err = r.UpdateStatus(ctx, c.kind.WithStatus(cur, st))
		if err == nil {
			klog.V(4).InfoS("Updated status", "controller", c.kind.Name, "key", informer.Key(owner), "replicas", st.Replicas, "ready", st.ReadyReplicas, "available", st.AvailableReplicas)
			return updated, nil
		}
		if !apierrors.IsConflict(err) {
			break
		}
		if cur, err = r.Get(ctx, md.GetName()); err != nil {
			break
		}
		if cur.GetMetadata().GetUid() != md.GetUid() {
			return owner, nil // deleted and re-created: the new one syncs on its own
		}
	}
	return owner, err
}
