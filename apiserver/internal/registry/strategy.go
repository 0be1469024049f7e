package registry

import (
	"context"

	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

// Strategy is what is specific to one resource. Everything else — storage, watch,
// generateName, uid, timestamps, resourceVersion, generation, the status split,
// finalizers, namespaces — is generic and lives in the generic store. A strategy must not
// touch metadata fields the generic store owns (uid, resourceVersion, creationTimestamp,
// generation, deletionTimestamp).
type Strategy interface {
	// Default fills upstream's defaults (restartPolicy Always, protocol TCP, ...). Called
	// on create and on update, on the whole object, before validation.
	Default(obj scheme.Object)
	// PrepareForCreate clears what a client may not set on create (usually status).
	PrepareForCreate(obj scheme.Object)
	// PrepareForUpdate runs on the main resource update (not the status subresource);
	// the generic store has already kept old's status when the resource has one.
	PrepareForUpdate(obj, old scheme.Object)
	// Validate checks a new object; paths start at the object root ("metadata.name",
	// "spec.containers[0].image").
	Validate(obj scheme.Object) field.ErrorList
	// ValidateUpdate checks an update of the main resource, incl. immutable fields.
	ValidateUpdate(obj, old scheme.Object) field.ErrorList
	// Fields are the selectable fields for fieldSelector on list and watch; always
	// include metadata.name and, for namespaced resources, metadata.namespace.
	Fields(obj scheme.Object) fields.Set
}

// StatusStrategy is implemented by resources with a status subresource that need more
// than "keep old spec and metadata" on a status update.
type StatusStrategy interface {
	PrepareForStatusUpdate(obj, old scheme.Object)
	ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList
}

// GracefulDeleter decides the grace period of a delete (pods). requested is the
// client's gracePeriodSeconds, nil when not given. A result of 0 deletes at once; more
// sets deletionTimestamp and deletionGracePeriodSeconds and keeps the object until a later
// delete with 0 (the kubelet's, once containers have stopped).
type GracefulDeleter interface {
	GracePeriod(obj scheme.Object, requested *int64) int64
}

// DeleteHolder keeps a deleted object that the strategy still holds (a namespace while
// spec.finalizers is not empty): Delete sets deletionTimestamp instead of removing it, and
// the update that releases it removes it, as metadata.finalizers do. HoldOnDelete may
// mark obj, the next stored state on delete (a namespace's phase Terminating).
type DeleteHolder interface {
	HoldOnDelete(obj scheme.Object) bool
}

// CreateHook runs before the object is written (service IP and port allocation). The
// returned undo runs when the write fails.
type CreateHook interface {
	BeforeCreate(ctx context.Context, obj scheme.Object) (undo func(), err error)
}

// UpdateHook runs inside the update, with the old and the new object, before the write;
// commit runs after a successful write (release of what old held and new does not), undo
// after a failed one.
type UpdateHook interface {
	BeforeUpdate(ctx context.Context, obj, old scheme.Object) (commit, undo func(), err error)
}

// DeleteValidator refuses a delete before anything is written (the namespaces every
// cluster needs, as upstream's NamespaceLifecycle admission).
type DeleteValidator interface {
	ValidateDelete(namespace, name string) error
}

// DeleteHook runs after the object is gone from storage (release of allocations).
type DeleteHook interface {
	AfterDelete(ctx context.Context, obj scheme.Object)
}

// Base is the strategy of a resource with nothing special: embed it and override.
type Base struct {
	// Namespaced resources expose metadata.namespace as a field.
	Namespaced bool
}

func (Base) Default(scheme.Object)                                 {}
func (Base) PrepareForCreate(scheme.Object)                        {}
func (Base) PrepareForUpdate(obj, old scheme.Object)               {}
func (Base) Validate(scheme.Object) field.ErrorList                { return nil }
func (Base) ValidateUpdate(obj, old scheme.Object) field.ErrorList { return nil }

// Fields returns metadata.name and, for namespaced resources, metadata.namespace.
func (b Base) Fields(obj scheme.Object) fields.Set {
	m := obj.GetMetadata()
	f := fields.Set{"metadata.name": m.GetName()}
	if b.Namespaced {
		f["metadata.namespace"] = m.GetNamespace()
	}
	return f
}
