// Package replicationcontroller is the strategy of replication controllers: replicas 1,
// selector and labels defaulted from the template, the template's pod defaults, and
// upstream's validation of spec and status.
package replicationcontroller

import (
	"strconv"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/registry/pod"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

type strategy struct{ registry.Base }

// Strategy is the replication controllers' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var (
	_ registry.Strategy       = Strategy
	_ registry.StatusStrategy = Strategy
)

// Default is SetDefaults_ReplicationController: replicas 1, and the template's labels
// as the selector and the controller's own labels when those are empty.
func (strategy) Default(obj scheme.Object) {
	rc := obj.(*corev1.ReplicationController)
	if rc.Spec == nil {
		rc.Spec = &corev1.ReplicationControllerSpec{}
	}
	if rc.Metadata == nil {
		rc.Metadata = &metav1.ObjectMeta{}
	}
	if labels := rc.Spec.GetTemplate().GetMetadata().GetLabels(); labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = copyMap(labels)
		}
		if len(rc.Metadata.Labels) == 0 {
			rc.Metadata.Labels = copyMap(labels)
		}
	}
	if rc.Spec.Replicas == nil {
		one := int32(1)
		rc.Spec.Replicas = &one
	}
	pod.DefaultPodTemplateSpec(rc.Spec.Template)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// PrepareForCreate clears the status.
func (strategy) PrepareForCreate(obj scheme.Object) {
	obj.(*corev1.ReplicationController).Status = &corev1.ReplicationControllerStatus{}
}

// Validate checks a new replication controller.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	rc := obj.(*corev1.ReplicationController)
	errs := validation.ValidateObjectMeta(rc.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateSpec(rc.GetSpec(), field.NewPath("spec"))...)
}

// ValidateUpdate checks an update; unlike apps/v1 controllers, the selector may change.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	rc, oldRC := obj.(*corev1.ReplicationController), old.(*corev1.ReplicationController)
	errs := validation.ValidateObjectMetaUpdate(rc.GetMetadata(), oldRC.GetMetadata(), field.NewPath("metadata"))
	return append(errs, validateSpec(rc.GetSpec(), field.NewPath("spec"))...)
}

func validateSpec(spec *corev1.ReplicationControllerSpec, path *field.Path) field.ErrorList {
	errs := validation.ValidateNonnegativeField(int64(spec.GetMinReadySeconds()), path.Child("minReadySeconds"))
	if len(spec.GetSelector()) == 0 {
		errs = append(errs, field.Required(path.Child("selector"), ""))
	}
	errs = append(errs, validation.ValidateNonnegativeField(int64(spec.GetReplicas()), path.Child("replicas"))...)
	tmpl, tpath := spec.GetTemplate(), path.Child("template")
	if tmpl == nil {
		return append(errs, field.Required(tpath, ""))
	}
	if sel := spec.GetSelector(); len(sel) > 0 {
		labels := tmpl.GetMetadata().GetLabels()
		for k, v := range sel {
			if l, ok := labels[k]; !ok || l != v {
				errs = append(errs, field.Invalid(tpath.Child("metadata", "labels"), labels, "`selector` does not match template `labels`"))
				break
			}
		}
	}
	errs = append(errs, validation.ValidatePodTemplateSpec(tmpl, tpath)...)
	if rp := tmpl.GetSpec().GetRestartPolicy(); rp != "Always" {
		errs = append(errs, field.NotSupported(tpath.Child("spec", "restartPolicy"), rp, []string{"Always"}))
	}
	if s := tmpl.GetSpec(); s != nil && s.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tpath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

// PrepareForStatusUpdate has nothing to add to the generic store's handling.
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {}

// ValidateStatusUpdate checks the counters: none negative, none above status.replicas.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	rc, oldRC := obj.(*corev1.ReplicationController), old.(*corev1.ReplicationController)
	errs := validation.ValidateObjectMetaUpdate(rc.GetMetadata(), oldRC.GetMetadata(), field.NewPath("metadata"))
	st := rc.GetStatus()
	return append(errs, validation.ValidateReplicaCounts(st.GetReplicas(), st.GetFullyLabeledReplicas(), st.GetReadyReplicas(),
		st.GetAvailableReplicas(), st.GetObservedGeneration(), field.NewPath("status"))...)
}

// Fields adds status.replicas.
func (s strategy) Fields(obj scheme.Object) fields.Set {
	set := s.Base.Fields(obj)
	set["status.replicas"] = strconv.Itoa(int(obj.(*corev1.ReplicationController).GetStatus().GetReplicas()))
	return set
}
