package job

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"kube5/apiserver/internal/validation"
	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/labels"
)

// maxParallelismForIndexedJob caps parallelism of Indexed jobs (it bounds
// status.completedIndexes upstream).
const maxParallelismForIndexedJob = 100000

// validateJob is upstream's ValidateJob. requirePrefixedLabels is false only for jobs
// that predate the batch.kubernetes.io labels.
func validateJob(j *batchv1.Job, requirePrefixedLabels bool) field.ErrorList {
	// Jobs share the name rule of replication controllers.
	errs := validation.ValidateObjectMeta(j.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateGeneratedSelector(j, requirePrefixedLabels)...)
	errs = append(errs, validateJobSpec(j.GetSpec(), field.NewPath("spec"))...)
	spec := j.GetSpec()
	if spec.GetCompletionMode() == IndexedCompletion && spec.Completions != nil && *spec.Completions > 0 {
		// Pod hostnames are <job>-<index>: the last index must still make a DNS label.
		host := fmt.Sprintf("%s-%d", j.GetMetadata().GetName(), *spec.Completions-1)
		if len(validation.IsDNS1123Label(host)) > 0 {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), j.GetMetadata().GetName(),
				fmt.Sprintf("will not able to create pod with invalid DNS label: %s", host)))
		}
	}
	return errs
}

// validateGeneratedSelector checks that a generated selector and the template's labels
// are still what generation made them.
func validateGeneratedSelector(j *batchv1.Job, requirePrefixed bool) field.ErrorList {
	spec := j.GetSpec()
	if spec.GetManualSelector() || spec.GetSelector() == nil {
		return nil
	}
	var errs field.ErrorList
	uid, name := j.GetMetadata().GetUid(), j.GetMetadata().GetName()
	if uid == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	tmeta := spec.GetTemplate().GetMetadata()
	tpath := field.NewPath("spec", "template", "metadata")
	errs = append(errs, validation.ValidateHasLabel(tmeta, tpath, LegacyControllerUIDLabel, uid)...)
	errs = append(errs, validation.ValidateHasLabel(tmeta, tpath, LegacyJobNameLabel, name)...)
	expected := labels.Set{LegacyControllerUIDLabel: uid, LegacyJobNameLabel: name}
	if requirePrefixed {
		errs = append(errs, validation.ValidateHasLabel(tmeta, tpath, ControllerUIDLabel, uid)...)
		errs = append(errs, validation.ValidateHasLabel(tmeta, tpath, JobNameLabel, name)...)
		expected[ControllerUIDLabel] = uid
		expected[JobNameLabel] = name
	}
	if sel, err := labels.SelectorFromLabelSelector(spec.GetSelector()); err == nil && !sel.Matches(expected) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), validation.BadValue(spec.GetSelector()), "`selector` not auto-generated"))
	}
	return errs
}

// validateJobSpec is upstream's ValidateJobSpec for the fields kube5 has.
func validateJobSpec(spec *batchv1.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec == nil {
		spec = &batchv1.JobSpec{}
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{
		{"parallelism", int32p(spec.Parallelism)},
		{"completions", int32p(spec.Completions)},
		{"activeDeadlineSeconds", spec.ActiveDeadlineSeconds},
		{"backoffLimit", int32p(spec.BackoffLimit)},
		{"ttlSecondsAfterFinished", int32p(spec.TtlSecondsAfterFinished)},
	} {
		if f.v != nil {
			errs = append(errs, validation.ValidateNonnegativeField(*f.v, path.Child(f.name))...)
		}
	}
	if spec.CompletionMode != nil {
		mode := *spec.CompletionMode
		if mode != NonIndexedCompletion && mode != IndexedCompletion {
			errs = append(errs, field.NotSupported(path.Child("completionMode"), mode, []string{NonIndexedCompletion, IndexedCompletion}))
		}
		if mode == IndexedCompletion {
			if spec.Completions == nil {
				errs = append(errs, field.Required(path.Child("completions"), fmt.Sprintf("when completion mode is %s", IndexedCompletion)))
			}
			if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
				errs = append(errs, field.Invalid(path.Child("parallelism"), *spec.Parallelism,
					fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, IndexedCompletion)))
			}
		}
	}
	tpath := path.Child("template")
	errs = append(errs, validation.ValidatePodTemplateSpec(spec.GetTemplate(), tpath)...)
	// The template's restartPolicy defaults to Always, which a job cannot use: the pod
	// would never finish.
	switch rp := spec.GetTemplate().GetSpec().GetRestartPolicy(); rp {
	case "OnFailure", "Never":
	case "Always", "":
		errs = append(errs, field.Required(tpath.Child("spec", "restartPolicy"), `valid values: "OnFailure", "Never"`))
	default:
		errs = append(errs, field.NotSupported(tpath.Child("spec", "restartPolicy"), rp, []string{"OnFailure", "Never"}))
	}

	selPath := path.Child("selector")
	if spec.Selector == nil {
		errs = append(errs, field.Required(selPath, ""))
	} else {
		errs = append(errs, validation.ValidateLabelSelector(spec.Selector, selPath)...)
	}
	// Generated or not, the selector must select the pods the job makes.
	if sel, err := labels.SelectorFromLabelSelector(spec.Selector); err == nil {
		tl := spec.GetTemplate().GetMetadata().GetLabels()
		if !sel.Matches(labels.Set(tl)) {
			errs = append(errs, field.Invalid(tpath.Child("metadata", "labels"), tl, "`selector` does not match template `labels`"))
		}
	}
	return errs
}

func int32p(v *int32) *int64 {
	if v == nil {
		return nil
	}
	x := int64(*v)
	return &x
}

// validateJobUpdate: selector, template, completion mode and (but for elastic Indexed
// jobs) completions are fixed once the job exists. The template's scheduling directives
// may change while the job is suspended and has never started.
func validateJobUpdate(j, old *batchv1.Job) field.ErrorList {
	errs := validation.ValidateObjectMetaUpdate(j.GetMetadata(), old.GetMetadata(), field.NewPath("metadata"))
	spec, oldSpec, path := j.GetSpec(), old.GetSpec(), field.NewPath("spec")
	if spec == nil {
		spec = &batchv1.JobSpec{}
	}
	if oldSpec == nil {
		oldSpec = &batchv1.JobSpec{}
	}
	errs = append(errs, validateCompletions(spec, oldSpec, path)...)
	errs = append(errs, validation.ValidateImmutableField(spec.GetSelector(), oldSpec.GetSelector(), path.Child("selector"))...)

	oldTmpl := oldSpec.GetTemplate()
	if oldSpec.GetSuspend() && old.GetStatus().GetStartTime() == nil {
		oldTmpl = mutableSchedulingTemplate(spec.GetTemplate(), oldTmpl)
	}
	errs = append(errs, validation.ValidateImmutableField(spec.GetTemplate(), oldTmpl, path.Child("template"))...)
	errs = append(errs, validation.ValidateImmutableField(spec.GetCompletionMode(), oldSpec.GetCompletionMode(), path.Child("completionMode"))...)
	return errs
}

// mutableSchedulingTemplate returns old's template with the fields a suspended job that
// never started may change taken from the new one: node affinity, node selector,
// tolerations, labels and annotations.
func mutableSchedulingTemplate(tmpl, old *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	out := proto.Clone(old).(*corev1.PodTemplateSpec)
	if out == nil {
		out = &corev1.PodTemplateSpec{}
	}
	if out.Spec == nil {
		out.Spec = &corev1.PodSpec{}
	}
	if out.Metadata == nil && tmpl.GetMetadata() != nil {
		out.Metadata = proto.Clone(tmpl.GetMetadata()).(*metav1.ObjectMeta)
	}
	if out.Metadata != nil {
		out.Metadata.Labels = tmpl.GetMetadata().GetLabels()
		out.Metadata.Annotations = tmpl.GetMetadata().GetAnnotations()
	}
	newSpec := tmpl.GetSpec()
	out.Spec.NodeSelector = newSpec.GetNodeSelector()
	out.Spec.Tolerations = newSpec.GetTolerations()
	switch {
	case newSpec.GetAffinity() == nil && out.Spec.Affinity != nil:
		out.Spec.Affinity.NodeAffinity = nil
		if validation.EqualMessages(out.Spec.Affinity, nil) {
			out.Spec.Affinity = nil
		}
	case newSpec.GetAffinity() != nil && out.Spec.Affinity == nil:
		out.Spec.Affinity = &corev1.Affinity{NodeAffinity: newSpec.GetAffinity().GetNodeAffinity()}
	case newSpec.GetAffinity() != nil:
		out.Spec.Affinity.NodeAffinity = newSpec.GetAffinity().GetNodeAffinity()
	}
	return out
}

// validateCompletions: completions is immutable, except that an Indexed job may scale
// completions together with parallelism (upstream's elastic Indexed jobs).
func validateCompletions(spec, oldSpec *batchv1.JobSpec, path *field.Path) field.ErrorList {
	p := path.Child("completions")
	if spec.GetCompletionMode() != IndexedCompletion {
		return validation.ValidateImmutableField(spec.Completions, oldSpec.Completions, p)
	}
	if validation.Equal(spec.Completions, oldSpec.Completions) || spec.Completions == nil {
		return nil
	}
	if spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		return field.ErrorList{field.Invalid(p, *spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

// validateStatusUpdate checks the job's counters.
func validateStatusUpdate(j, old *batchv1.Job) field.ErrorList {
	errs := validation.ValidateObjectMetaUpdate(j.GetMetadata(), old.GetMetadata(), field.NewPath("metadata"))
	st, p := j.GetStatus(), field.NewPath("status")
	errs = append(errs, validation.ValidateNonnegativeField(int64(st.GetActive()), p.Child("active"))...)
	errs = append(errs, validation.ValidateNonnegativeField(int64(st.GetSucceeded()), p.Child("succeeded"))...)
	errs = append(errs, validation.ValidateNonnegativeField(int64(st.GetFailed()), p.Child("failed"))...)
	if st != nil && st.Ready != nil {
		errs = append(errs, validation.ValidateNonnegativeField(int64(*st.Ready), p.Child("ready"))...)
	}
	return errs
}
