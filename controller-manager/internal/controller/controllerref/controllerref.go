// Package controllerref is the ownership protocol between a controller object (a
// ReplicaSet, a Deployment, ...) and the objects it manages, as upstream's
// ControllerRefManager: an object belongs to the controller named by its one
// ownerReference with controller: true; a controller adopts orphans its selector matches
// and releases the objects it owns that stop matching. Every write re-reads the object and
// re-checks, so two controllers racing for an orphan cannot both own it (the Update
// carries the resourceVersion read, and the loser gets a Conflict).
package controllerref

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/labels"
	"kube5/proto/scheme"
)

// Of returns the controller ownerReference of obj, or nil.
func Of(obj scheme.Object) *metav1.OwnerReference {
	for _, ref := range obj.GetMetadata().GetOwnerReferences() {
		if ref.GetController() {
			return ref
		}
	}
	return nil
}

// New returns the ownerReference a controller puts on what it creates: controller and
// blockOwnerDeletion true, so foreground deletion of the owner waits for the object.
func New(owner scheme.Object, apiVersion, kind string) *metav1.OwnerReference {
	t := true
	md := owner.GetMetadata()
	return &metav1.OwnerReference{
		ApiVersion: apiVersion, Kind: kind, Name: md.GetName(), Uid: md.GetUid(),
		Controller: &t, BlockOwnerDeletion: &t,
	}
}

// errChanged says the object changed between the cached read and the write so that it is
// no longer ours to adopt; the claim skips it, as for a deleted object.
var errChanged = errors.New("object changed since it was listed")

// Owner describes the controller object that claims.
type Owner struct {
	Object     scheme.Object
	APIVersion string
	Kind       string
	Selector   labels.Selector
	// CanAdopt is called (at most once per Manager) before the first adoption; it must
	// read the owner from the apiserver, not a cache, and fail when the owner is gone or
	// being deleted, so a deleted owner never adopts (upstream's RecheckDeletionTimestamp).
	CanAdopt func(ctx context.Context) error
}

// Manager claims objects of type T for one owner during one sync.
type Manager[T scheme.Object] struct {
	owner    Owner
	res      func(namespace string) *client.Resource[T]
	once     sync.Once
	adoptErr error
}

// NewManager returns a Manager that writes through res.
func NewManager[T scheme.Object](owner Owner, res func(namespace string) *client.Resource[T]) *Manager[T] {
	return &Manager[T]{owner: owner, res: res}
}

func (m *Manager[T]) ownerUID() string { return m.owner.Object.GetMetadata().GetUid() }

// Claim returns the objects that belong to the owner after adopting matching orphans and
// releasing owned objects that no longer match. Objects owned by someone else are left
// alone. filters further restrict adoption (e.g. "not being deleted"). Errors of single
// objects are collected; the objects claimed so far are returned with them.
func (m *Manager[T]) Claim(ctx context.Context, objs []T, filters ...func(T) bool) ([]T, error) {
	var claimed []T
	var errs []error
	for _, obj := range objs {
		ok, err := m.claimOne(ctx, obj, filters)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, obj)
		}
	}
	if len(errs) > 0 {
		return claimed, fmt.Errorf("claiming %d objects: first error: %w", len(errs), errs[0])
	}
	return claimed, nil
}

func (m *Manager[T]) claimOne(ctx context.Context, obj T, filters []func(T) bool) (bool, error) {
	md := obj.GetMetadata()
	matches := m.owner.Selector.Matches(labels.Set(md.GetLabels()))
	if ref := Of(obj); ref != nil {
		if ref.GetUid() != m.ownerUID() {
			return false, nil // someone else's
		}
		if matches {
			return true, nil
		}
		// Ours but no longer matching: release it, unless the owner is going away (the
		// garbage collector deletes it then) or the object is.
		if m.owner.Object.GetMetadata().GetDeletionTimestamp() != nil || md.GetDeletionTimestamp() != nil {
			return false, nil
		}
		if err := m.release(ctx, obj); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, err
		}
		return false, nil
	}
	// An orphan: adopt it when it matches and nobody is being deleted.
	if !matches || m.owner.Object.GetMetadata().GetDeletionTimestamp() != nil || md.GetDeletionTimestamp() != nil {
		return false, nil
	}
	for _, f := range filters {
		if !f(obj) {
			return false, nil
		}
	}
	if err := m.adopt(ctx, obj); err != nil {
		if apierrors.IsNotFound(err) || errors.Is(err, errChanged) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// adopt sets the owner as controller of obj, re-reading obj so the decision is made on
// its current state.
func (m *Manager[T]) adopt(ctx context.Context, obj T) error {
	m.once.Do(func() {
		if m.owner.CanAdopt != nil {
			m.adoptErr = m.owner.CanAdopt(ctx)
		}
	})
	if m.adoptErr != nil {
		return fmt.Errorf("cannot adopt %s: %w", obj.GetMetadata().GetName(), m.adoptErr)
	}
	md := obj.GetMetadata()
	r := m.res(md.GetNamespace())
	for attempt := 0; ; attempt++ {
		cur, err := r.Get(ctx, md.GetName())
		if err != nil {
			return err
		}
		cmd := cur.GetMetadata()
		if cmd.GetUid() != md.GetUid() || Of(cur) != nil || cmd.GetDeletionTimestamp() != nil ||
			!m.owner.Selector.Matches(labels.Set(cmd.GetLabels())) {
			return errChanged
		}
		cur = proto.Clone(cur).(T)
		cur.GetMetadata().OwnerReferences = append(cur.GetMetadata().OwnerReferences, New(m.owner.Object, m.owner.APIVersion, m.owner.Kind))
		if _, err = r.Update(ctx, cur); err == nil {
			klog.V(2).InfoS("Adopted", "owner", m.owner.Kind+"/"+m.owner.Object.GetMetadata().GetName(), "object", md.GetNamespace()+"/"+md.GetName())
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return err
		}
	}
}

// release removes the owner's ownerReference from obj.
func (m *Manager[T]) release(ctx context.Context, obj T) error {
	md := obj.GetMetadata()
	r := m.res(md.GetNamespace())
	for attempt := 0; ; attempt++ {
		cur, err := r.Get(ctx, md.GetName())
		if err != nil {
			return err
		}
		if cur.GetMetadata().GetUid() != md.GetUid() {
			return nil
		}
		cur = proto.Clone(cur).(T)
		cmd := cur.GetMetadata()
		kept := cmd.OwnerReferences[:0]
		found := false
		for _, ref := range cmd.OwnerReferences {
			if ref.GetUid() == m.ownerUID() {
				found = true
				continue
			}
			kept = append(kept, ref)
		}
		if !found {
			return nil
		}
		cmd.OwnerReferences = kept
		if _, err = r.Update(ctx, cur); err == nil {
			klog.V(2).InfoS("Released", "owner", m.owner.Kind+"/"+m.owner.Object.GetMetadata().GetName(), "object", md.GetNamespace()+"/"+md.GetName())
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return err
		}
	}
}
