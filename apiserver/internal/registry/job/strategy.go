// Package job is the strategy of batch/v1 jobs: upstream's defaults, the generated
// selector and pod labels (from the uid the generic store assigns), validation, the
// fields that are immutable once the job exists, and the status subresource.
package job

import (
	"strconv"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/registry/pod"
	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

// The labels a job's generated selector and pods carry: the prefixed ones and, for
// older clients and controllers, the legacy unprefixed ones.
const (
	ControllerUIDLabel       = "batch.kubernetes.io/controller-uid"
	JobNameLabel             = "batch.kubernetes.io/job-name"
	LegacyControllerUIDLabel = "controller-uid"
	LegacyJobNameLabel       = "job-name"

	NonIndexedCompletion = "NonIndexed"
	IndexedCompletion    = "Indexed"
	DefaultBackoffLimit  = 6
)

type strategy struct{ registry.Base }

// Strategy is the jobs' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var (
	_ registry.Strategy       = Strategy
	_ registry.StatusStrategy = Strategy
)

// Default is batch/v1 SetDefaults_Job plus the template's pod spec defaults: a job that
// sets neither completions nor parallelism runs one pod to one completion.
func (strategy) Default(obj scheme.Object) {
	j := obj.(*batchv1.Job)
	if j.Spec == nil {
		j.Spec = &batchv1.JobSpec{}
	}
	spec := j.Spec
	one := func() *int32 { v := int32(1); return &v }
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions, spec.Parallelism = one(), one()
	}
	if spec.Parallelism == nil {
		spec.Parallelism = one()
	}
	if spec.BackoffLimit == nil {
		v := int32(DefaultBackoffLimit)
		spec.BackoffLimit = &v
	}
	if labels := spec.GetTemplate().GetMetadata().GetLabels(); labels != nil {
		if j.Metadata == nil {
			j.Metadata = &metav1.ObjectMeta{}
		}
		if len(j.Metadata.Labels) == 0 {
			j.Metadata.Labels = make(map[string]string, len(labels))
			for k, v := range labels {
				j.Metadata.Labels[k] = v
			}
		}
	}
	if spec.CompletionMode == nil {
		m := NonIndexedCompletion
		spec.CompletionMode = &m
	}
	if spec.Suspend == nil {
		f := false
		spec.Suspend = &f
	}
	if spec.ManualSelector == nil {
		f := false
		spec.ManualSelector = &f
	}
	pod.DefaultPodTemplateSpec(spec.Template)
}

// PrepareForCreate generates the selector and pod labels unless the user asked to
// manage them (manualSelector), and clears the status. The job's uid exists by now: the
// generic store assigns it before calling this. Defaults come first, as upstream decodes
// (and so defaults) the job before this: the job's own labels are copied from the
// template the user wrote, not from the generated labels.
func (s strategy) PrepareForCreate(obj scheme.Object) {
	j := obj.(*batchv1.Job)
	s.Default(j)
	if !j.Spec.GetManualSelector() {
		generateSelector(j)
	}
	j.Status = &batchv1.JobStatus{}
}

// generateSelector labels the template with the job's uid and name, under both label
// families, and selects on the prefixed uid label, which alone is unique. Labels the user
// already set are left alone: if they conflict, validation rejects the job.
func generateSelector(j *batchv1.Job) {
	spec := j.Spec
	if spec.Template == nil {
		spec.Template = &corev1.PodTemplateSpec{}
	}
	if spec.Template.Metadata == nil {
		spec.Template.Metadata = &metav1.ObjectMeta{}
	}
	labels := spec.Template.Metadata.Labels
	if labels == nil {
		labels = map[string]string{}
		spec.Template.Metadata.Labels = labels
	}
	name, uid := j.GetMetadata().GetName(), j.GetMetadata().GetUid()
	for _, k := range []string{LegacyJobNameLabel, JobNameLabel} {
		if _, ok := labels[k]; !ok {
			labels[k] = name
		}
	}
	for _, k := range []string{LegacyControllerUIDLabel, ControllerUIDLabel} {
		if _, ok := labels[k]; !ok {
			labels[k] = uid
		}
	}
	if spec.Selector == nil {
		spec.Selector = &metav1.LabelSelector{}
	}
	if spec.Selector.MatchLabels == nil {
		spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := spec.Selector.MatchLabels[ControllerUIDLabel]; !ok {
		spec.Selector.MatchLabels[ControllerUIDLabel] = uid
	}
}

// Validate checks a new job.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validateJob(obj.(*batchv1.Job), true)
}

// ValidateUpdate checks an update. Jobs created before the prefixed labels existed are
// not required to have them.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	j, oldJ := obj.(*batchv1.Job), old.(*batchv1.Job)
	oldLabels := oldJ.GetSpec().GetTemplate().GetMetadata().GetLabels()
	_, hadName := oldLabels[JobNameLabel]
	_, hadUID := oldLabels[ControllerUIDLabel]
	errs := validateJob(j, hadName && hadUID)
	return append(errs, validateJobUpdate(j, oldJ)...)
}

// PrepareForStatusUpdate has nothing to add to the generic store's handling.
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {}

// ValidateStatusUpdate checks the counters.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	return validateStatusUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
}

// Fields adds status.successful.
func (s strategy) Fields(obj scheme.Object) fields.Set {
	set := s.Base.Fields(obj)
	set["status.successful"] = strconv.Itoa(int(obj.(*batchv1.Job).GetStatus().GetSucceeded()))
	return set
}
