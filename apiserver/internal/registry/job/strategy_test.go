package job

import (
	"testing"

	"google.golang.org/protobuf/proto"

	batchv1 "kube5/proto/api/batch/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func i32(v int32) *int32 { return &v }

func hasError(errs field.ErrorList, typ field.ErrorType, path string) bool {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return true
		}
	}
	return false
}

func newJob() *batchv1.Job {
	return &batchv1.Job{
		Metadata: &metav1.ObjectMeta{Name: "pi", Namespace: "default", Uid: "uid-1"},
		Spec: &batchv1.JobSpec{Template: &corev1.PodTemplateSpec{
			Spec: &corev1.PodSpec{RestartPolicy: "Never", Containers: []*corev1.Container{{Name: "pi", Image: "perl:5.34"}}},
		}},
	}
}

// created runs the create path as the generic store does (uid already set).
func created(j *batchv1.Job) *batchv1.Job {
	Strategy.PrepareForCreate(j)
	Strategy.Default(j)
	return j
}

func TestDefaults(t *testing.T) {
	j := created(newJob())
	s := j.Spec
	if s.GetParallelism() != 1 || s.GetCompletions() != 1 || s.GetBackoffLimit() != 6 || s.GetCompletionMode() != "NonIndexed" ||
		s.Suspend == nil || *s.Suspend || s.ManualSelector == nil || *s.ManualSelector {
		t.Errorf("got %v", s)
	}
	wantLabels := map[string]string{
		"batch.kubernetes.io/controller-uid": "uid-1", "batch.kubernetes.io/job-name": "pi",
		"controller-uid": "uid-1", "job-name": "pi",
	}
	if !proto.Equal(&metav1.ObjectMeta{Labels: s.Template.Metadata.Labels}, &metav1.ObjectMeta{Labels: wantLabels}) {
		t.Errorf("template labels %v", s.Template.Metadata.Labels)
	}
	if !proto.Equal(s.Selector, &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "uid-1"}}) {
		t.Errorf("selector %v", s.Selector)
	}
	// Without template labels of its own, the job takes the generated ones (upstream
	// shows them on the job once it is read back).
	if len(j.Metadata.Labels) != 4 {
		t.Errorf("job labels %v", j.Metadata.Labels)
	}
	if errs := Strategy.Validate(j); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}

	par := newJob()
	par.Spec.Parallelism = i32(3)
	created(par)
	if par.Spec.Completions != nil || par.Spec.GetParallelism() != 3 {
		t.Errorf("parallelism only: %v", par.Spec)
	}

	labelled := newJob()
	labelled.Spec.Template.Metadata = &metav1.ObjectMeta{Labels: map[string]string{"app": "pi"}}
	created(labelled)
	if len(labelled.Metadata.Labels) != 1 || labelled.Metadata.Labels["app"] != "pi" {
		t.Errorf("job labels come from the user's template labels: %v", labelled.Metadata.Labels)
	}
}

func TestManualSelector(t *testing.T) {
	yes := true
	j := newJob()
	j.Spec.ManualSelector = &yes
	j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
	j.Spec.Template.Metadata = &metav1.ObjectMeta{Labels: map[string]string{"app": "pi"}}
	created(j)
	if len(j.Spec.Template.Metadata.Labels) != 1 {
		t.Errorf("labels generated despite manualSelector: %v", j.Spec.Template.Metadata.Labels)
	}
	if errs := Strategy.Validate(j); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*batchv1.Job)
		typ    field.ErrorType
		path   string
	}{
		{"restartPolicy Always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" }, field.ErrorTypeRequired, "spec.template.spec.restartPolicy"},
		{"negative parallelism", func(j *batchv1.Job) { j.Spec.Parallelism = i32(-1) }, field.ErrorTypeInvalid, "spec.parallelism"},
		{"negative completions", func(j *batchv1.Job) { j.Spec.Completions = i32(-1) }, field.ErrorTypeInvalid, "spec.completions"},
		{"negative backoffLimit", func(j *batchv1.Job) { j.Spec.BackoffLimit = i32(-1) }, field.ErrorTypeInvalid, "spec.backoffLimit"},
		{"negative ttlSecondsAfterFinished", func(j *batchv1.Job) { j.Spec.TtlSecondsAfterFinished = i32(-1) }, field.ErrorTypeInvalid, "spec.ttlSecondsAfterFinished"},
		{"completion mode", func(j *batchv1.Job) { m := "Sometimes"; j.Spec.CompletionMode = &m }, field.ErrorTypeNotSupported, "spec.completionMode"},
		{"indexed without completions", func(j *batchv1.Job) {
			m := "Indexed"
			j.Spec.CompletionMode, j.Spec.Parallelism = &m, i32(2)
		}, field.ErrorTypeRequired, "spec.completions"},
		{"conflicting label", func(j *batchv1.Job) {
			j.Spec.Template.Metadata = &metav1.ObjectMeta{Labels: map[string]string{"controller-uid": "other"}}
		}, field.ErrorTypeInvalid, "spec.template.metadata.labels[controller-uid]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob()
			tt.mutate(j)
			created(j)
			if errs := Strategy.Validate(j); !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
	j := created(newJob())
	m := "Indexed"
	j.Spec.CompletionMode, j.Spec.Completions = &m, nil
	if errs := Strategy.Validate(j); len(errs) != 1 || errs[0].Error() != "spec.completions: Required value: when completion mode is Indexed" {
		t.Errorf("Indexed without completions: %v", errs)
	}
	j = created(newJob())
	j.Spec.TtlSecondsAfterFinished = i32(-1)
	if errs := Strategy.Validate(j); len(errs) != 1 || errs[0].Error() != "spec.ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal to 0" {
		t.Errorf("negative ttl: %v", errs)
	}
	j = created(newJob())
	j.Spec.Template.Spec.RestartPolicy = "Always"
	errs := Strategy.Validate(j)
	if len(errs) != 1 || errs[0].Error() != `spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"` {
		t.Errorf("got %v", errs)
	}
}

func TestUpdate(t *testing.T) {
	yes := true
	tests := []struct {
		name   string
		old    func(*batchv1.Job)
		mutate func(*batchv1.Job)
		typ    field.ErrorType
		path   string
	}{
		{"labels", nil, func(j *batchv1.Job) { j.Metadata.Labels = map[string]string{"x": "y"} }, "", ""},
		{"parallelism", nil, func(j *batchv1.Job) { j.Spec.Parallelism = i32(4) }, "", ""},
		{"suspend", nil, func(j *batchv1.Job) { j.Spec.Suspend = &yes }, "", ""},
		{"completions", nil, func(j *batchv1.Job) { j.Spec.Completions = i32(4) }, field.ErrorTypeInvalid, "spec.completions"},
		{"template", nil, func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.36" }, field.ErrorTypeInvalid, "spec.template"},
		{"selector", nil, func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["job-name"] = "pi" }, field.ErrorTypeInvalid, "spec.selector"},
		{"node selector of a suspended job", func(j *batchv1.Job) { j.Spec.Suspend = &yes },
			func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }, "", ""},
		{"node selector of a running job", nil,
			func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }, field.ErrorTypeInvalid, "spec.template"},
		{"elastic indexed", func(j *batchv1.Job) { m := "Indexed"; j.Spec.CompletionMode = &m },
			func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = i32(5), i32(5) }, "", ""},
		{"completion mode", nil, func(j *batchv1.Job) { m := "Indexed"; j.Spec.CompletionMode = &m }, field.ErrorTypeInvalid, "spec.completionMode"},
		{"indexed out of tandem", func(j *batchv1.Job) { m := "Indexed"; j.Spec.CompletionMode = &m },
			func(j *batchv1.Job) { j.Spec.Completions = i32(5) }, field.ErrorTypeInvalid, "spec.completions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newJob()
			if tt.old != nil {
				tt.old(o)
			}
			old := created(o)
			cur := proto.Clone(old).(*batchv1.Job)
			tt.mutate(cur)
			Strategy.Default(cur)
			Strategy.PrepareForUpdate(cur, old)
			errs := Strategy.ValidateUpdate(cur, old)
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected: %v", errs)
				}
				return
			}
			if !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestStatusAndFields(t *testing.T) {
	old := created(newJob())
	cur := proto.Clone(old).(*batchv1.Job)
	cur.Status = &batchv1.JobStatus{Succeeded: 1, Active: -1}
	if errs := Strategy.ValidateStatusUpdate(cur, old); !hasError(errs, field.ErrorTypeInvalid, "status.active") {
		t.Errorf("status: %v", errs)
	}
	if f := Strategy.Fields(cur); f["status.successful"] != "1" || f["metadata.name"] != "pi" {
		t.Errorf("fields %v", f)
	}
}
