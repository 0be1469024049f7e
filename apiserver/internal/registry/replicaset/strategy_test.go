package replicaset

import (
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func hasError(errs field.ErrorList, typ field.ErrorType, path string) bool {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return true
		}
	}
	return false
}

func newRS() *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: "web-abc", Namespace: "default"},
		Spec: &appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "kube5/httpenv:1.0"}}},
			},
		},
	}
	Strategy.PrepareForCreate(rs)
	Strategy.Default(rs)
	return rs
}

func TestDefaultsAndValidate(t *testing.T) {
	rs := newRS()
	if rs.Spec.GetReplicas() != 1 || rs.Spec.Template.Spec.SchedulerName != "default-scheduler" {
		t.Errorf("got %v", rs.Spec)
	}
	if errs := Strategy.Validate(rs); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}
	tests := []struct {
		name   string
		mutate func(*appsv1.ReplicaSet)
		typ    field.ErrorType
		path   string
	}{
		{"no selector", func(r *appsv1.ReplicaSet) { r.Spec.Selector = nil }, field.ErrorTypeRequired, "spec.selector"},
		{"empty selector", func(r *appsv1.ReplicaSet) { r.Spec.Selector = &metav1.LabelSelector{} }, field.ErrorTypeInvalid, "spec.selector"},
		{"mismatch", func(r *appsv1.ReplicaSet) { r.Spec.Selector.MatchLabels["app"] = "db" }, field.ErrorTypeInvalid, "spec.template.metadata.labels"},
		{"negative replicas", func(r *appsv1.ReplicaSet) { v := int32(-1); r.Spec.Replicas = &v }, field.ErrorTypeInvalid, "spec.replicas"},
		{"restartPolicy", func(r *appsv1.ReplicaSet) { r.Spec.Template.Spec.RestartPolicy = "OnFailure" }, field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"},
	}
	for _, tt := range tests {
		r := newRS()
		tt.mutate(r)
		if errs := Strategy.Validate(r); !hasError(errs, tt.typ, tt.path) {
			t.Errorf("%s: want %s at %s, got %v", tt.name, tt.typ, tt.path, errs)
		}
	}
}

func TestSelectorImmutable(t *testing.T) {
	old := newRS()
	cur := proto.Clone(old).(*appsv1.ReplicaSet)
	cur.Spec.Selector.MatchLabels["tier"] = "fe"
	cur.Spec.Template.Metadata.Labels["tier"] = "fe"
	errs := Strategy.ValidateUpdate(cur, old)
	if len(errs) != 1 || errs[0].Field != "spec.selector" || errs[0].Detail != "field is immutable" {
		t.Errorf("got %v", errs)
	}
	cur = proto.Clone(old).(*appsv1.ReplicaSet)
	cur.Status = &appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	if errs := Strategy.ValidateStatusUpdate(cur, old); len(errs) != 0 {
		t.Errorf("status: %v", errs)
	}
	if f := Strategy.Fields(cur); f["status.replicas"] != "2" {
		t.Errorf("fields %v", f)
	}
}
