package garbagecollector

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

func (gc *Collector) dynamic(it item) (*client.Dynamic, *scheme.Resource, error) {
	res, ok := scheme.ByGroupResource(it.group, it.resource)
	if !ok {
		return nil, nil, fmt.Errorf("unknown resource %s", it)
	}
	return gc.client.Resource(res, it.namespace), res, nil
}

// cached returns the cache's copy of it when it is that very object (same uid).
func (gc *Collector) cached(it item) (scheme.Object, bool) {
	s := gc.byGR[it.group+"/"+it.resource]
	if s == nil {
		return nil, false
	}
	o, ok := s.get(it.namespace, it.name)
	if !ok || (it.uid != "" && o.GetMetadata().GetUid() != it.uid) {
		return nil, false
	}
	return o, true
}

// live reads it from the apiserver; nil without error when it (with its uid) is gone.
func (gc *Collector) live(ctx context.Context, it item) (scheme.Object, error) {
	d, _, err := gc.dynamic(it)
	if err != nil {
		return nil, err
	}
	o, err := d.Get(ctx, it.name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if it.uid != "" && o.GetMetadata().GetUid() != it.uid {
		return nil, nil // a new object under the old name
	}
	return o, nil
}

// ownerState is what a dependent's owner is doing.
type ownerState int

const (
	solid    ownerState = iota // exists, not being deleted in the foreground
	dangling                   // gone
	waiting                    // being deleted in the foreground: waits for its dependents
)

func stateOf(o scheme.Object) ownerState {
	if o.GetMetadata().GetDeletionTimestamp() != nil && hasFinalizer(o, FinalizerForeground) {
		return waiting
	}
	return solid
}

// ownerStateOf classifies an owner: from the cache when it is there, else from a live
// read, so an owner the cache has not seen yet is never taken for gone.
func (gc *Collector) ownerStateOf(ctx context.Context, ref *metav1.OwnerReference, namespace string) (ownerState, error) {
	it, _, ok := ownerItem(ref, namespace)
	if !ok {
		klog.V(4).InfoS("Owner of unknown kind; keeping the dependent", "apiVersion", ref.GetApiVersion(), "kind", ref.GetKind())
		return solid, nil
	}
	if o, ok := gc.cached(it); ok {
		return stateOf(o), nil
	}
	o, err := gc.live(ctx, it)
	if err != nil {
		return solid, err
	}
	if o == nil {
		return dangling, nil
	}
	return stateOf(o), nil
}

// attemptToDelete looks at one object: an owner being collected has its dependents
// dealt with; a dependent whose owners are all gone or waiting is deleted; references to
// such owners beside a live one are removed.
func (gc *Collector) attemptToDelete(ctx context.Context, it item) error {
	obj, ok := gc.cached(it)
	if !ok {
		o, err := gc.live(ctx, it)
		if err != nil || o == nil {
			return err
		}
		obj = o
	}
	md := obj.GetMetadata()
	if md.GetDeletionTimestamp() != nil {
		switch {
		case hasFinalizer(obj, FinalizerOrphan):
			return gc.orphanDependents(ctx, it, obj)
		case hasFinalizer(obj, FinalizerForeground):
			return gc.processForeground(ctx, it, obj)
		}
		return nil // going anyway
	}
	refs := md.GetOwnerReferences()
	if len(refs) == 0 {
		return nil
	}
	var nSolid int
	drop := map[string]bool{} // owner uids to remove when a solid owner remains
	var nWaiting int
	for _, ref := range refs {
		st, err := gc.ownerStateOf(ctx, ref, md.GetNamespace())
		if err != nil {
			return err
		}
		switch st {
		case solid:
			nSolid++
		case waiting:
			nWaiting++
			drop[ref.GetUid()] = true
		case dangling:
			drop[ref.GetUid()] = true
		}
	}
	if len(drop) == 0 {
		return nil
	}
	if nSolid > 0 {
		return gc.removeOwnerRefs(ctx, it, drop)
	}
	// No owner is left: the object goes. With an owner waiting on it, it goes in the
	// foreground too when it has dependents of its own, so the owner waits for all of them.
	policy := "Background"
	switch {
	case hasFinalizer(obj, FinalizerOrphan):
		policy = "Orphan"
	case hasFinalizer(obj, FinalizerForeground):
		policy = "Foreground"
	case nWaiting > 0 && gc.hasDependents(md.GetUid()):
		policy = "Foreground"
	}
	return gc.delete(ctx, it, policy)
}

func (gc *Collector) hasDependents(uid string) bool {
	for _, s := range gc.sources {
		if len(s.byOwner(uid)) > 0 {
			return true
		}
	}
	return false
}

func (gc *Collector) delete(ctx context.Context, it item, policy string) error {
	d, _, err := gc.dynamic(it)
	if err != nil {
		return err
	}
	uid := it.uid
	err = d.Delete(ctx, it.name, &metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{Uid: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or replaced by a new object of the same name
	}
	if err != nil {
		return err
	}
	klog.V(2).InfoS("Garbage collected", "object", it, "propagationPolicy", policy)
	return nil
}

// update applies mutate to the live object and writes it, retrying on conflicts;
// mutate returns false when there is nothing to change.
func (gc *Collector) update(ctx context.Context, it item, mutate func(scheme.Object) bool) error {
	d, _, err := gc.dynamic(it)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		o, err := gc.live(ctx, it)
		if err != nil || o == nil {
			return err
		}
		o = proto.Clone(o).(scheme.Object)
		if !mutate(o) {
			return nil
		}
		_, err = d.Update(ctx, o)
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 5 {
			return err
		}
	}
}

func (gc *Collector) removeOwnerRefs(ctx context.Context, it item, uids map[string]bool) error {
	return gc.update(ctx, it, func(o scheme.Object) bool {
		md := o.GetMetadata()
		kept := make([]*metav1.OwnerReference, 0, len(md.OwnerReferences))
		for _, ref := range md.OwnerReferences {
			if !uids[ref.GetUid()] {
				kept = append(kept, ref)
			}
		}
		if len(kept) == len(md.OwnerReferences) {
			return false
		}
		md.OwnerReferences = kept
		klog.V(2).InfoS("Removed owner references", "object", it, "removed", len(uids))
		return true
	})
}

func (gc *Collector) removeFinalizer(ctx context.Context, it item, f string) error {
	return gc.update(ctx, it, func(o scheme.Object) bool {
		md := o.GetMetadata()
		kept := make([]string, 0, len(md.Finalizers))
		for _, x := range md.Finalizers {
			if x != f {
				kept = append(kept, x)
			}
		}
		if len(kept) == len(md.Finalizers) {
			return false
		}
		md.Finalizers = kept
		return true
	})
}

// dependents returns the cached objects that name uid as an owner, with their resources.
func (gc *Collector) dependents(uid string) []item {
	var out []item
	for _, s := range gc.sources {
		for _, d := range s.byOwner(uid) {
			out = append(out, itemOf(s.res, d))
		}
	}
	return out
}

// processForeground deletes an owner's dependents; once none that blocks it is left,
// it releases the owner.
func (gc *Collector) processForeground(ctx context.Context, it item, owner scheme.Object) error {
	uid := owner.GetMetadata().GetUid()
	blocking := 0
	for _, dep := range gc.dependents(uid) {
		d, ok := gc.cached(dep)
		if !ok {
			continue
		}
		for _, ref := range d.GetMetadata().GetOwnerReferences() {
			if ref.GetUid() == uid && ref.GetBlockOwnerDeletion() {
				blocking++
				break
			}
		}
		if d.GetMetadata().GetDeletionTimestamp() == nil {
			gc.queue.Add(dep) // its owner waits: attemptToDelete deletes it
		}
	}
	if blocking > 0 {
		klog.V(3).InfoS("Waiting for dependents before releasing the owner", "owner", it, "blocking", blocking)
		return nil // their deletion events bring the owner back
	}
	klog.V(2).InfoS("Dependents gone; removing the foregroundDeletion finalizer", "owner", it)
	return gc.removeFinalizer(ctx, it, FinalizerForeground)
}

// orphanDependents removes the owner's references from its dependents, then releases it.
func (gc *Collector) orphanDependents(ctx context.Context, it item, owner scheme.Object) error {
	uid := owner.GetMetadata().GetUid()
	for _, dep := range gc.dependents(uid) {
		if err := gc.removeOwnerRefs(ctx, dep, map[string]bool{uid: true}); err != nil {
			return err
		}
	}
	klog.V(2).InfoS("Dependents orphaned; removing the orphan finalizer", "owner", it)
	return gc.removeFinalizer(ctx, it, FinalizerOrphan)
}
