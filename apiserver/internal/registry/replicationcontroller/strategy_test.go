package replicationcontroller

import (
	"testing"

	"google.golang.org/protobuf/proto"

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

func newRC() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{
			Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "kube5/httpenv:1.0"}}},
		}},
	}
}

func created(rc *corev1.ReplicationController) *corev1.ReplicationController {
	Strategy.PrepareForCreate(rc)
	Strategy.Default(rc)
	return rc
}

func TestDefaults(t *testing.T) {
	rc := created(newRC())
	if rc.Spec.GetReplicas() != 1 || rc.Spec.Selector["app"] != "web" || rc.Metadata.Labels["app"] != "web" {
		t.Errorf("got %v", rc)
	}
	ps := rc.Spec.Template.Spec
	if ps.RestartPolicy != "Always" || ps.DnsPolicy != "ClusterFirst" || ps.Containers[0].ImagePullPolicy != "IfNotPresent" {
		t.Errorf("template not defaulted: %v", ps)
	}
	// Pod-only defaults stay off the template, as upstream.
	if ps.EnableServiceLinks != nil || ps.ServiceAccountName != "" || len(ps.Tolerations) != 0 {
		t.Errorf("pod-only defaults on the template: %v", ps)
	}
	if errs := Strategy.Validate(rc); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}
	keep := newRC()
	keep.Spec.Selector = map[string]string{"app": "web"}
	keep.Metadata.Labels = map[string]string{"team": "a"}
	created(keep)
	if keep.Metadata.Labels["team"] != "a" || len(keep.Metadata.Labels) != 1 {
		t.Errorf("labels overwritten: %v", keep.Metadata.Labels)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		typ    field.ErrorType
		path   string
	}{
		{"negative replicas", func(r *corev1.ReplicationController) { v := int32(-1); r.Spec.Replicas = &v }, field.ErrorTypeInvalid, "spec.replicas"},
		{"selector mismatch", func(r *corev1.ReplicationController) { r.Spec.Selector = map[string]string{"app": "db"} }, field.ErrorTypeInvalid, "spec.template.metadata.labels"},
		{"no template", func(r *corev1.ReplicationController) {
			r.Spec.Template = nil
			r.Spec.Selector = map[string]string{"a": "b"}
		}, field.ErrorTypeRequired, "spec.template"},
		{"no selector", func(r *corev1.ReplicationController) { r.Spec.Template.Metadata.Labels = nil }, field.ErrorTypeRequired, "spec.selector"},
		{"restartPolicy", func(r *corev1.ReplicationController) { r.Spec.Template.Spec.RestartPolicy = "Never" }, field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"},
		{"activeDeadlineSeconds", func(r *corev1.ReplicationController) { v := int64(5); r.Spec.Template.Spec.ActiveDeadlineSeconds = &v }, field.ErrorTypeForbidden, "spec.template.spec.activeDeadlineSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newRC()
			tt.mutate(rc)
			created(rc)
			if errs := Strategy.Validate(rc); !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestUpdateAndStatus(t *testing.T) {
	old := created(newRC())
	cur := proto.Clone(old).(*corev1.ReplicationController)
	v := int32(3)
	cur.Spec.Replicas = &v
	if errs := Strategy.ValidateUpdate(cur, old); len(errs) != 0 {
		t.Errorf("scale: %v", errs)
	}
	cur.Status = &corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 2}
	if errs := Strategy.ValidateStatusUpdate(cur, old); !hasError(errs, field.ErrorTypeInvalid, "status.readyReplicas") {
		t.Errorf("status: %v", errs)
	}
	if f := Strategy.Fields(cur); f["status.replicas"] != "1" {
		t.Errorf("fields %v", f)
	}
}
