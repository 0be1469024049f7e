package validation

import (
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/labels"
)

// ValidateReplicaSetSelectorAndTemplate checks the selector and pod template of a
// Deployment or ReplicaSet (upstream shares the code, and with it the wording "for
// deployment" and "in ReplicaSet"): a non-empty valid selector that matches the
// template's labels, a valid template, restartPolicy Always, no activeDeadlineSeconds.
// specPath is the path of the spec holding both.
func ValidateReplicaSetSelectorAndTemplate(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	selPath := specPath.Child("selector")
	if sel == nil {
		errs = append(errs, field.Required(selPath, ""))
	} else {
		errs = append(errs, ValidateLabelSelector(sel, selPath)...)
		if len(sel.GetMatchLabels())+len(sel.GetMatchExpressions()) == 0 {
			errs = append(errs, field.Invalid(selPath, BadValue(sel), "empty selector is invalid for deployment"))
		}
	}
	selector, err := labels.SelectorFromLabelSelector(sel)
	if err != nil {
		return append(errs, field.Invalid(selPath, BadValue(sel), "invalid label selector"))
	}
	tpath := specPath.Child("template")
	if tmpl == nil {
		return append(errs, field.Required(tpath, ""))
	}
	if !selector.Empty() && !selector.Matches(labels.Set(tmpl.GetMetadata().GetLabels())) {
		errs = append(errs, field.Invalid(tpath.Child("metadata", "labels"), tmpl.GetMetadata().GetLabels(), "`selector` does not match template `labels`"))
	}
	errs = append(errs, ValidatePodTemplateSpec(tmpl, tpath)...)
	if rp := tmpl.GetSpec().GetRestartPolicy(); rp != "Always" {
		errs = append(errs, field.NotSupported(tpath.Child("spec", "restartPolicy"), rp, []string{"Always"}))
	}
	if s := tmpl.GetSpec(); s != nil && s.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tpath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return errs
}
