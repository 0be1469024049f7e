// Package replicaset is the strategy of apps/v1 replica sets: replicas 1 and the
// template's pod defaults, upstream's validation, an immutable selector, and the status
// subresource.
package replicaset

import (
	"strconv"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/registry/pod"
	"kube5/apiserver/internal/validation"
	appsv1 "kube5/proto/api/apps/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

type strategy struct{ registry.Base }

// Strategy is the replica sets' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var (
	_ registry.Strategy       = Strategy
	_ registry.StatusStrategy = Strategy
)

// Default sets replicas to 1 and applies the pod defaults to the template.
func (strategy) Default(obj scheme.Object) {
	rs := obj.(*appsv1.ReplicaSet)
	if rs.Spec == nil {
		rs.Spec = &appsv1.ReplicaSetSpec{}
	}
	if rs.Spec.Replicas == nil {
		one := int32(1)
		rs.Spec.Replicas = &one
	}
	pod.DefaultPodTemplateSpec(rs.Spec.Template)
}

// PrepareForCreate clears the status.
func (strategy) PrepareForCreate(obj scheme.Object) {
	obj.(*appsv1.ReplicaSet).Status = &appsv1.ReplicaSetStatus{}
}

// Validate checks a new replica set.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	rs := obj.(*appsv1.ReplicaSet)
	errs := validation.ValidateObjectMeta(rs.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateSpec(rs.GetSpec(), field.NewPath("spec"))...)
}

// ValidateUpdate checks an update; in apps/v1 the selector is immutable.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	rs, oldRS := obj.(*appsv1.ReplicaSet), old.(*appsv1.ReplicaSet)
	errs := validation.ValidateObjectMetaUpdate(rs.GetMetadata(), oldRS.GetMetadata(), field.NewPath("metadata"))
	errs = append(errs, validateSpec(rs.GetSpec(), field.NewPath("spec"))...)
	return append(errs, validation.ValidateImmutableField(rs.GetSpec().GetSelector(), oldRS.GetSpec().GetSelector(), field.NewPath("spec", "selector"))...)
}

func validateSpec(spec *appsv1.ReplicaSetSpec, path *field.Path) field.ErrorList {
	errs := validation.ValidateNonnegativeField(int64(spec.GetReplicas()), path.Child("replicas"))
	errs = append(errs, validation.ValidateNonnegativeField(int64(spec.GetMinReadySeconds()), path.Child("minReadySeconds"))...)
	return append(errs, validation.ValidateReplicaSetSelectorAndTemplate(spec.GetSelector(), spec.GetTemplate(), path)...)
}

// PrepareForStatusUpdate has nothing to add to the generic store's handling.
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {}

// ValidateStatusUpdate checks the counters.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	rs, oldRS := obj.(*appsv1.ReplicaSet), old.(*appsv1.ReplicaSet)
	errs := validation.ValidateObjectMetaUpdate(rs.GetMetadata(), oldRS.GetMetadata(), field.NewPath("metadata"))
	st := rs.GetStatus()
	return append(errs, validation.ValidateReplicaCounts(st.GetReplicas(), st.GetFullyLabeledReplicas(), st.GetReadyReplicas(),
		st.GetAvailableReplicas(), st.GetObservedGeneration(), field.NewPath("status"))...)
}

// Fields adds status.replicas.
func (s strategy) Fields(obj scheme.Object) fields.Set {
	set := s.Base.Fields(obj)
	set["status.replicas"] = strconv.Itoa(int(obj.(*appsv1.ReplicaSet).GetStatus().GetReplicas()))
	return set
}
