// Package deployment is the strategy of apps/v1 deployments: upstream's defaults
// (replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds
// 600, the template's pod defaults), validation, an immutable selector, and the status
// subresource.
package deployment

import (
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/registry/pod"
	"kube5/apiserver/internal/validation"
	appsv1 "kube5/proto/api/apps/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

// Strategy types and upstream's defaults.
const (
	RollingUpdate                  = "RollingUpdate"
	Recreate                       = "Recreate"
	DefaultMaxUnavailable          = "25%"
	DefaultMaxSurge                = "25%"
	DefaultRevisionHistoryLimit    = 10
	DefaultProgressDeadlineSeconds = 600
)

type strategy struct{ registry.Base }

// Strategy is the deployments' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var (
	_ registry.Strategy       = Strategy
	_ registry.StatusStrategy = Strategy
)

// Default is apps/v1 SetDefaults_Deployment plus the template's pod spec defaults.
func (strategy) Default(obj scheme.Object) {
	d := obj.(*appsv1.Deployment)
	if d.Spec == nil {
		d.Spec = &appsv1.DeploymentSpec{}
	}
	spec := d.Spec
	if spec.Replicas == nil {
		one := int32(1)
		spec.Replicas = &one
	}
	if spec.Strategy == nil {
		spec.Strategy = &appsv1.DeploymentStrategy{}
	}
	if spec.Strategy.Type == "" {
		spec.Strategy.Type = RollingUpdate
	}
	if spec.Strategy.Type == RollingUpdate {
		if spec.Strategy.RollingUpdate == nil {
			spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		ru := spec.Strategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = metav1.FromString(DefaultMaxUnavailable)
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = metav1.FromString(DefaultMaxSurge)
		}
	}
	if spec.RevisionHistoryLimit == nil {
		v := int32(DefaultRevisionHistoryLimit)
		spec.RevisionHistoryLimit = &v
	}
	if spec.ProgressDeadlineSeconds == nil {
		v := int32(DefaultProgressDeadlineSeconds)
		spec.ProgressDeadlineSeconds = &v
	}
	pod.DefaultPodTemplateSpec(spec.Template)
}

// PrepareForCreate clears the status.
func (strategy) PrepareForCreate(obj scheme.Object) {
	obj.(*appsv1.Deployment).Status = &appsv1.DeploymentStatus{}
}

// Validate checks a new deployment.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	d := obj.(*appsv1.Deployment)
	errs := validation.ValidateObjectMeta(d.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateSpec(d.GetSpec(), field.NewPath("spec"))...)
}

// ValidateUpdate checks an update; in apps/v1 the selector is immutable.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	errs := validation.ValidateObjectMetaUpdate(d.GetMetadata(), oldD.GetMetadata(), field.NewPath("metadata"))
	errs = append(errs, validateSpec(d.GetSpec(), field.NewPath("spec"))...)
	return append(errs, validation.ValidateImmutableField(d.GetSpec().GetSelector(), oldD.GetSpec().GetSelector(), field.NewPath("spec", "selector"))...)
}

func validateSpec(spec *appsv1.DeploymentSpec, path *field.Path) field.ErrorList {
	errs := validation.ValidateNonnegativeField(int64(spec.GetReplicas()), path.Child("replicas"))
	errs = append(errs, validation.ValidateReplicaSetSelectorAndTemplate(spec.GetSelector(), spec.GetTemplate(), path)...)
	errs = append(errs, validateStrategy(spec.GetStrategy(), path.Child("strategy"))...)
	errs = append(errs, validation.ValidateNonnegativeField(int64(spec.GetMinReadySeconds()), path.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		// Zero is valid: keep no old replica sets.
		errs = append(errs, validation.ValidateNonnegativeField(int64(*spec.RevisionHistoryLimit), path.Child("revisionHistoryLimit"))...)
	}
	if spec.ProgressDeadlineSeconds != nil {
		p := path.Child("progressDeadlineSeconds")
		errs = append(errs, validation.ValidateNonnegativeField(int64(*spec.ProgressDeadlineSeconds), p)...)
		if *spec.ProgressDeadlineSeconds <= spec.GetMinReadySeconds() {
			errs = append(errs, field.Invalid(p, *spec.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateStrategy(s *appsv1.DeploymentStrategy, path *field.Path) field.ErrorList {
	switch s.GetType() {
	case Recreate:
		if s.GetRollingUpdate() != nil {
			return field.ErrorList{field.Forbidden(path.Child("rollingUpdate"), "may not be specified when strategy `type` is '"+Recreate+"'")}
		}
	case RollingUpdate:
		if s.GetRollingUpdate() == nil {
			return field.ErrorList{field.Required(path.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdate(s.GetRollingUpdate(), path.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(path, s.GetType(), []string{Recreate, RollingUpdate})}
	}
	return nil
}

// validateRollingUpdate: each a count or percentage, not both zero (the rollout could
// never make progress), maxUnavailable at most 100%.
func validateRollingUpdate(ru *appsv1.RollingUpdateDeployment, path *field.Path) field.ErrorList {
	unavailable, surge := path.Child("maxUnavailable"), path.Child("maxSurge")
	errs := validation.ValidateIntOrStringPercent(ru.GetMaxUnavailable(), unavailable)
	errs = append(errs, validation.ValidateIntOrStringPercent(ru.GetMaxSurge(), surge)...)
	if validation.IntOrPercentValue(ru.GetMaxUnavailable()) == 0 && validation.IntOrPercentValue(ru.GetMaxSurge()) == 0 {
		errs = append(errs, field.Invalid(unavailable, ru.GetMaxUnavailable().AsString(), "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, validation.IsNotMoreThan100Percent(ru.GetMaxUnavailable(), unavailable)...)
}

// PrepareForStatusUpdate has nothing to add to the generic store's handling.
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {}

// ValidateStatusUpdate checks the counters and that collisionCount never decreases.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	errs := validation.ValidateObjectMetaUpdate(d.GetMetadata(), oldD.GetMetadata(), field.NewPath("metadata"))
	st, p := d.GetStatus(), field.NewPath("status")
	var cc, oldCC *int32
	if st != nil {
		cc = st.CollisionCount
	}
	if os := oldD.GetStatus(); os != nil {
		oldCC = os.CollisionCount
	}
	errs = append(errs, validation.ValidateNonnegativeField(st.GetObservedGeneration(), p.Child("observedGeneration"))...)
	errs = append(errs, validation.ValidateNonnegativeField(int64(st.GetReplicas()), p.Child("replicas"))...)
	errs = append(errs, validation.ValidateNonnegativeField(int64(st.GetUpdatedReplicas()), p.Child("updatedReplicas"))...)
	errs = append(errs, validation.ValidateNonnegativeField(int64(st.GetReadyReplicas()), p.Child("readyReplicas"))...)
	errs = append(errs, validation.ValidateNonnegativeField(int64(st.GetAvailableReplicas()), p.Child("availableReplicas"))...)
	errs = append(errs, validation.ValidateNonnegativeField(int64(st.GetUnavailableReplicas()), p.Child("unavailableReplicas"))...)
	if cc != nil {
		errs = append(errs, validation.ValidateNonnegativeField(int64(*cc), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if st.GetUpdatedReplicas() > st.GetReplicas() {
		errs = append(errs, field.Invalid(p.Child("updatedReplicas"), st.GetUpdatedReplicas(), msg))
	}
	if st.GetReadyReplicas() > st.GetReplicas() {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), st.GetReadyReplicas(), msg))
	}
	if st.GetAvailableReplicas() > st.GetReplicas() {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), st.GetAvailableReplicas(), msg))
	}
	if st.GetAvailableReplicas() > st.GetReadyReplicas() {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), st.GetAvailableReplicas(), "cannot be greater than readyReplicas"))
	}
	if oldCC != nil && (cc == nil || *cc < *oldCC) {
		errs = append(errs, field.Invalid(p.Child("collisionCount"), st.GetCollisionCount(), "cannot be decremented"))
	}
	return errs
}
