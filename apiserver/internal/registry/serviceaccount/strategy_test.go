package serviceaccount

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

func TestValidate(t *testing.T) {
	sa := &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: "default", Namespace: "default"}}
	if errs := Strategy.Validate(sa); len(errs) != 0 {
		t.Errorf("valid: %v", errs)
	}
	bad := &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: "Default", Namespace: "default"}}
	if errs := Strategy.Validate(bad); len(errs) != 1 || errs[0].Field != "metadata.name" {
		t.Errorf("invalid name: %v", errs)
	}
	moved := &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: "default", Namespace: "other"}}
	if errs := Strategy.ValidateUpdate(moved, sa); len(errs) != 1 || errs[0].Field != "metadata.namespace" {
		t.Errorf("namespace change: %v", errs)
	}
	if f := Strategy.Fields(sa); len(f) != 2 || f["metadata.namespace"] != "default" {
		t.Errorf("fields %v", f)
	}
}
