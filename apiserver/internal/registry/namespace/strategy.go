// Package namespace is the strategy of namespaces: the kubernetes.io/metadata.name
// label, phase Active and the "kubernetes" finalizer on create, spec.finalizers kept on
// update (they change through the finalize subresource), and the phase rules of the
// status subresource.
package namespace

import (
	"errors"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

// Namespace phases and the finalizer the namespace controller removes once the
// namespace is empty.
const (
	PhaseActive       = "Active"
	PhaseTerminating  = "Terminating"
	FinalizerKube     = "kubernetes"
	LabelMetadataName = "kubernetes.io/metadata.name"
)

type strategy struct{ registry.Base }

// Strategy is the namespaces' (cluster-scoped) strategy.
var Strategy = strategy{registry.Base{Namespaced: false}}

var (
	_ registry.Strategy        = Strategy
	_ registry.StatusStrategy  = Strategy
	_ registry.DeleteHolder    = Strategy
	_ registry.DeleteValidator = Strategy
)

// immortal are the namespaces every cluster needs (the kubernetes service lives in
// default, the control plane's objects in kube-system): upstream refuses to delete them.
var immortal = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

// ValidateDelete refuses to delete default, kube-system and kube-public, with upstream's
// message: namespaces "default" is forbidden: this namespace may not be deleted.
func (strategy) ValidateDelete(_, name string) error {
	if immortal[name] {
		return errors.New("this namespace may not be deleted")
	}
	return nil
}

// Default labels the namespace with its name (so selectors can pick namespaces by name)
// and sets an empty phase to Active.
func (strategy) Default(obj scheme.Object) {
	ns := obj.(*corev1.Namespace)
	if name := ns.GetMetadata().GetName(); name != "" {
		if ns.Metadata.Labels == nil {
			ns.Metadata.Labels = map[string]string{}
		}
		ns.Metadata.Labels[LabelMetadataName] = name
	}
	if ns.Spec == nil {
		ns.Spec = &corev1.NamespaceSpec{}
	}
	if ns.Status == nil {
		ns.Status = &corev1.NamespaceStatus{}
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = PhaseActive
	}
}

// PrepareForCreate starts the namespace Active with the "kubernetes" finalizer.
func (strategy) PrepareForCreate(obj scheme.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Status = &corev1.NamespaceStatus{Phase: PhaseActive}
	if ns.Spec == nil {
		ns.Spec = &corev1.NamespaceSpec{}
	}
	for _, f := range ns.Spec.Finalizers {
		if f == FinalizerKube {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, FinalizerKube)
}

// PrepareForUpdate keeps spec.finalizers, except that finalizers may be removed from a
// namespace being deleted: that is how the namespace controller releases an emptied
// namespace (kube5 has no finalize subresource).
func (strategy) PrepareForUpdate(obj, old scheme.Object) {
	ns, oldNs := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	if ns.Spec == nil {
		ns.Spec = &corev1.NamespaceSpec{}
	}
	if oldNs.GetMetadata().GetDeletionTimestamp() != nil && subset(ns.Spec.Finalizers, oldNs.GetSpec().GetFinalizers()) {
		return
	}
	ns.Spec.Finalizers = append([]string(nil), oldNs.GetSpec().GetFinalizers()...)
}

func subset(a, b []string) bool {
	have := make(map[string]bool, len(b))
	for _, x := range b {
		have[x] = true
	}
	for _, x := range a {
		if !have[x] {
			return false
		}
	}
	return true
}

// HoldOnDelete keeps a deleted namespace, Terminating, while spec.finalizers is not
// empty: the namespace controller deletes its content, then removes "kubernetes".
func (strategy) HoldOnDelete(obj scheme.Object) bool {
	ns := obj.(*corev1.Namespace)
	if len(ns.GetSpec().GetFinalizers()) == 0 {
		return false
	}
	if ns.Status == nil {
		ns.Status = &corev1.NamespaceStatus{}
	}
	ns.Status.Phase = PhaseTerminating
	return true
}

// Validate checks a new namespace.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validateNamespace(obj.(*corev1.Namespace))
}

func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := validation.ValidateObjectMeta(ns.GetMetadata(), false, validation.ValidateNamespaceName, field.NewPath("metadata"))
	for _, f := range ns.GetSpec().GetFinalizers() {
		// Upstream reports these at spec.finalizers, without the index.
		errs = append(errs, validation.ValidateFinalizerName(f, field.NewPath("spec", "finalizers"))...)
	}
	return errs
}

// ValidateUpdate checks an update.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	ns, oldNs := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	errs := validateNamespace(ns)
	return append(errs, validation.ValidateObjectMetaUpdate(ns.GetMetadata(), oldNs.GetMetadata(), field.NewPath("metadata"))...)
}

// PrepareForStatusUpdate has nothing to add to the generic store's handling.
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {}

// ValidateStatusUpdate ties the phase to deletion: Active until deletionTimestamp is set,
// Terminating after.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	ns, oldNs := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	errs := validation.ValidateObjectMetaUpdate(ns.GetMetadata(), oldNs.GetMetadata(), field.NewPath("metadata"))
	// Upstream names the field status.Phase (sic).
	p := field.NewPath("status", "Phase")
	phase := ns.GetStatus().GetPhase()
	if ns.GetMetadata().GetDeletionTimestamp() == nil {
		if phase != PhaseActive {
			errs = append(errs, field.Invalid(p, phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if phase != PhaseTerminating {
		errs = append(errs, field.Invalid(p, phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

// Fields are status.phase, metadata.name and "name" (a historical alias upstream keeps).
func (s strategy) Fields(obj scheme.Object) fields.Set {
	ns := obj.(*corev1.Namespace)
	set := s.Base.Fields(obj)
	set["status.phase"] = ns.GetStatus().GetPhase()
	set["name"] = ns.GetMetadata().GetName()
	return set
}
