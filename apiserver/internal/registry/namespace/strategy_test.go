package namespace

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func created() *corev1.Namespace {
	ns := &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team-a"}}
	Strategy.PrepareForCreate(ns)
	Strategy.Default(ns)
	return ns
}

func TestCreate(t *testing.T) {
	ns := created()
	want := &corev1.Namespace{
		Metadata: &metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"kubernetes.io/metadata.name": "team-a"}},
		Spec:     &corev1.NamespaceSpec{Finalizers: []string{"kubernetes"}},
		Status:   &corev1.NamespaceStatus{Phase: "Active"},
	}
	if !proto.Equal(ns, want) {
		t.Errorf("got %v", ns)
	}
	if errs := Strategy.Validate(ns); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}
	if f := Strategy.Fields(ns); f["status.phase"] != "Active" || f["metadata.name"] != "team-a" || f["name"] != "team-a" {
		t.Errorf("fields %v", f)
	}
}

func TestValidate(t *testing.T) {
	bad := &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "a.b"}}
	Strategy.Default(bad)
	if errs := Strategy.Validate(bad); len(errs) == 0 || errs[0].Field != "metadata.name" || errs[0].Detail != "must not contain dots" {
		t.Errorf("dotted name: %v", errs)
	}
	fin := created()
	fin.Spec.Finalizers = append(fin.Spec.Finalizers, "custom")
	if errs := Strategy.Validate(fin); len(errs) != 1 || errs[0].Field != "spec.finalizers" {
		t.Errorf("finalizer: %v", errs)
	}
}

func TestUpdateKeepsFinalizers(t *testing.T) {
	old := created()
	cur := proto.Clone(old).(*corev1.Namespace)
	cur.Spec.Finalizers = nil
	cur.Metadata.Labels["team"] = "a"
	Strategy.Default(cur)
	Strategy.PrepareForUpdate(cur, old)
	if len(cur.Spec.Finalizers) != 1 {
		t.Errorf("finalizers %v", cur.Spec.Finalizers)
	}
	if errs := Strategy.ValidateUpdate(cur, old); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}
}

func TestStatusUpdate(t *testing.T) {
	old := created()
	term := proto.Clone(old).(*corev1.Namespace)
	term.Status.Phase = "Terminating"
	errs := Strategy.ValidateStatusUpdate(term, old)
	if len(errs) != 1 || errs[0].Type != field.ErrorTypeInvalid || errs[0].Field != "status.Phase" {
		t.Errorf("Terminating without deletionTimestamp: %v", errs)
	}
	old.Metadata.DeletionTimestamp = &metav1.Time{Seconds: 1}
	term.Metadata.DeletionTimestamp = old.Metadata.DeletionTimestamp
	if errs := Strategy.ValidateStatusUpdate(term, old); len(errs) != 0 {
		t.Errorf("Terminating while deleting: %v", errs)
	}
}
