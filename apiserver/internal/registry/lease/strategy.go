// Package lease is the strategy of leases (coordination.k8s.io/v1): no defaults, and
// upstream's validation of the duration and transitions.
package lease

import (
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	coordinationv1 "kube5/proto/api/coordination/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

type strategy struct{ registry.Base }

// Strategy is the leases' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var _ registry.Strategy = Strategy

// Validate checks a new lease.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	l := obj.(*coordinationv1.Lease)
	errs := validation.ValidateObjectMeta(l.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateSpec(l.GetSpec(), field.NewPath("spec"))...)
}

// ValidateUpdate checks an update.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	l, oldL := obj.(*coordinationv1.Lease), old.(*coordinationv1.Lease)
	errs := validation.ValidateObjectMetaUpdate(l.GetMetadata(), oldL.GetMetadata(), field.NewPath("metadata"))
	return append(errs, validateSpec(l.GetSpec(), field.NewPath("spec"))...)
}

func validateSpec(spec *coordinationv1.LeaseSpec, path *field.Path) field.ErrorList {
	if spec == nil {
		return nil
	}
	var errs field.ErrorList
	if spec.LeaseDurationSeconds != nil && *spec.LeaseDurationSeconds <= 0 {
		errs = append(errs, field.Invalid(path.Child("leaseDurationSeconds"), *spec.LeaseDurationSeconds, "must be greater than 0"))
	}
	if spec.LeaseTransitions != nil && *spec.LeaseTransitions < 0 {
		errs = append(errs, field.Invalid(path.Child("leaseTransitions"), *spec.LeaseTransitions, "must be greater than or equal to 0"))
	}
	return errs
}
