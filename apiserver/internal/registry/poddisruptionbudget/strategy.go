// Package poddisruptionbudget is the strategy of policy/v1 pod disruption budgets
// (validation as upstream's ValidatePodDisruptionBudget, a status the controller owns)
// and the pods/eviction subresource that consults them.
package poddisruptionbudget

import (
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	policyv1 "kube5/proto/api/policy/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

// The unhealthyPodEvictionPolicy values.
const (
	IfHealthyBudget = "IfHealthyBudget"
	AlwaysAllow     = "AlwaysAllow"
)

type strategy struct{ registry.Base }

// Strategy is the pod disruption budgets' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var (
	_ registry.Strategy       = Strategy
	_ registry.StatusStrategy = Strategy
)

// PrepareForCreate clears the status: the disruption controller computes it.
func (strategy) PrepareForCreate(obj scheme.Object) {
	obj.(*policyv1.PodDisruptionBudget).Status = &policyv1.PodDisruptionBudgetStatus{}
}

// Validate checks a new budget.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	p := obj.(*policyv1.PodDisruptionBudget)
	errs := validation.ValidateObjectMeta(p.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateSpec(p.GetSpec(), field.NewPath("spec"))...)
}

// ValidateUpdate checks an update; policy/v1 lets every spec field change.
func (s strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	errs := s.Validate(obj)
	return append(errs, validation.ValidateObjectMetaUpdate(obj.GetMetadata(), old.GetMetadata(), field.NewPath("metadata"))...)
}

// PrepareForStatusUpdate has nothing to add to the generic store's handling.
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {}

// ValidateStatusUpdate checks the counters.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	st := obj.(*policyv1.PodDisruptionBudget).GetStatus()
	path := field.NewPath("status")
	var errs field.ErrorList
	for _, c := range []struct {
		name string
		v    int32
	}{{"disruptionsAllowed", st.GetDisruptionsAllowed()}, {"currentHealthy", st.GetCurrentHealthy()},
		{"desiredHealthy", st.GetDesiredHealthy()}, {"expectedPods", st.GetExpectedPods()}} {
		errs = append(errs, validation.ValidateNonnegativeField(int64(c.v), path.Child(c.name))...)
	}
	return errs
}

// validateSpec is upstream's ValidatePodDisruptionBudgetSpec.
func validateSpec(spec *policyv1.PodDisruptionBudgetSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.GetMinAvailable() != nil && spec.GetMaxUnavailable() != nil {
		errs = append(errs, field.Invalid(path, "", "minAvailable and maxUnavailable cannot be both set"))
	}
	if v := spec.GetMinAvailable(); v != nil {
		errs = append(errs, validation.ValidateIntOrStringPercent(v, path.Child("minAvailable"))...)
		errs = append(errs, validation.IsNotMoreThan100Percent(v, path.Child("minAvailable"))...)
	}
	if v := spec.GetMaxUnavailable(); v != nil {
		errs = append(errs, validation.ValidateIntOrStringPercent(v, path.Child("maxUnavailable"))...)
		errs = append(errs, validation.IsNotMoreThan100Percent(v, path.Child("maxUnavailable"))...)
	}
	if sel := spec.GetSelector(); sel != nil {
		errs = append(errs, validation.ValidateLabelSelector(sel, path.Child("selector"))...)
	}
	if p := spec.GetUnhealthyPodEvictionPolicy(); spec != nil && spec.UnhealthyPodEvictionPolicy != nil && p != IfHealthyBudget && p != AlwaysAllow {
		errs = append(errs, field.NotSupported(path.Child("unhealthyPodEvictionPolicy"), p, []string{IfHealthyBudget, AlwaysAllow}))
	}
	return errs
}
