// Package garbagecollector is the garbage collector: ownerReferences drive cascading
// deletion, as upstream's:
//
//   - background (the default): the owner is removed at once; its dependents, whose owners
//     are then all gone, are deleted after it;
//   - foreground: the apiserver keeps the owner with the "foregroundDeletion" finalizer;
//     the collector deletes its dependents and removes the finalizer once no dependent
//     with blockOwnerDeletion is left;
//   - orphan: the apiserver keeps the owner with the "orphan" finalizer; the collector
//     removes the owner's ownerReferences from its dependents, then the finalizer.
//
// Instead of upstream's separate graph, the collector indexes the shared informers of
// every resource by owner uid: the dependents of an object are an index lookup, and an
// owner's existence a cache lookup confirmed by a live read before anything is deleted,
// so a cache that lags never makes it delete an object whose owner exists.
package garbagecollector

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/client"
	"kube5/proto/informer"
	"kube5/proto/scheme"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in logs.
const Name = "garbage-collector-controller"

// The finalizers the apiserver adds for propagationPolicy Foreground and Orphan.
const (
	FinalizerForeground = "foregroundDeletion"
	FinalizerOrphan     = "orphan"
)

// item names one object to look at.
type item struct {
	group, resource, namespace, name, uid string
}

func (it item) String() string {
	gr := it.resource
	if it.group != "" {
		gr += "." + it.group
	}
	if it.namespace != "" {
		return fmt.Sprintf("%s %s/%s", gr, it.namespace, it.name)
	}
	return gr + " " + it.name
}

func itemOf(res *scheme.Resource, o scheme.Object) item {
	md := o.GetMetadata()
	return item{res.Group, res.Resource, md.GetNamespace(), md.GetName(), md.GetUid()}
}

// ownerItem resolves an ownerReference of a dependent in namespace; ok is false for a
// kind the scheme does not know.
func ownerItem(ref *metav1.OwnerReference, namespace string) (item, *scheme.Resource, bool) {
	res, ok := scheme.ByKind(ref.GetApiVersion(), ref.GetKind())
	if !ok || res.Resource == "" {
		return item{}, nil, false
	}
	ns := ""
	if res.Namespaced {
		ns = namespace
	}
	return item{res.Group, res.Resource, ns, ref.GetName(), ref.GetUid()}, res, true
}

// Collector is the garbage collector.
type Collector struct {
	client  *client.Clientset
	sources []*source
	byGR    map[string]*source // "group/resource"
	queue   *workqueue.Queue[item]
}

// New registers the collector on the shared informers.
func New(ctx *controller.Context) (controller.Controller, error) {
	gc := &Collector{client: ctx.Client, queue: workqueue.New[item]("garbage_collector_attempt_to_delete"), byGR: map[string]*source{}}
	srcs, err := gc.watched(ctx.Informers)
	if err != nil {
		return nil, err
	}
	gc.sources = srcs
	for _, s := range srcs {
		gc.byGR[s.res.Group+"/"+s.res.Resource] = s
	}
	return gc, nil
}

func hasFinalizer(o scheme.Object, f string) bool {
	for _, x := range o.GetMetadata().GetFinalizers() {
		if x == f {
			return true
		}
	}
	return false
}

func beingCollected(o scheme.Object) bool {
	return o.GetMetadata().GetDeletionTimestamp() != nil &&
		(hasFinalizer(o, FinalizerForeground) || hasFinalizer(o, FinalizerOrphan))
}

func (gc *Collector) enqueueOwners(o scheme.Object) {
	for _, ref := range o.GetMetadata().GetOwnerReferences() {
		if it, _, ok := ownerItem(ref, o.GetMetadata().GetNamespace()); ok {
			gc.queue.Add(it)
		}
	}
}

func (gc *Collector) enqueueDependents(uid string) {
	for _, s := range gc.sources {
		for _, d := range s.byOwner(uid) {
			gc.queue.Add(itemOf(s.res, d))
		}
	}
}

// Handlers: an object with owners is checked when it appears or its owners change; an
// owner being collected is processed; a deletion is news for the dependents (their owner
// may be gone) and for the owners (one may be waiting in the foreground).
func (gc *Collector) onAdd(res *scheme.Resource, o scheme.Object) {
	if len(o.GetMetadata().GetOwnerReferences()) > 0 || beingCollected(o) {
		gc.queue.Add(itemOf(res, o))
	}
}

func (gc *Collector) onUpdate(res *scheme.Resource, old, o scheme.Object) {
	if beingCollected(o) {
		gc.queue.Add(itemOf(res, o))
	}
	if !sameOwners(old.GetMetadata().GetOwnerReferences(), o.GetMetadata().GetOwnerReferences()) {
		if len(o.GetMetadata().GetOwnerReferences()) > 0 {
			gc.queue.Add(itemOf(res, o))
		}
		gc.enqueueOwners(old) // an owner waiting for this one may be released
	}
}

func (gc *Collector) onDelete(res *scheme.Resource, o scheme.Object) {
	gc.enqueueDependents(o.GetMetadata().GetUid())
	gc.enqueueOwners(o)
}

func sameOwners(a, b []*metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].GetUid() != b[i].GetUid() || a[i].GetBlockOwnerDeletion() != b[i].GetBlockOwnerDeletion() {
			return false
		}
	}
	return true
}

// Run processes items with workers goroutines once every informer has synced.
func (gc *Collector) Run(ctx context.Context, workers int) {
	defer gc.queue.ShutDown()
	synced := make([]func() bool, len(gc.sources))
	for i, s := range gc.sources {
		synced[i] = s.synced
	}
	if !informer.WaitForCacheSync(ctx, synced...) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", Name, "workers", workers, "resources", len(gc.sources))
	for i := 0; i < workers; i++ {
		go gc.worker(ctx)
	}
	<-ctx.Done()
}

func (gc *Collector) worker(ctx context.Context) {
	for {
		it, shutdown := gc.queue.Get()
		if shutdown {
			return
		}
		if err := gc.attemptToDelete(ctx, it); err != nil {
			klog.V(2).InfoS("Garbage collection failed; retrying", "item", it, "err", err)
			gc.queue.AddRateLimited(it)
		} else {
			gc.queue.Forget(it)
		}
		gc.queue.Done(it)
	}
}
