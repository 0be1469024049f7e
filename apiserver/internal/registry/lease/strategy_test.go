package lease

import (
	"testing"

	coordinationv1 "kube5/proto/api/coordination/v1"
	metav1 "kube5/proto/api/meta/v1"
)

func TestValidate(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	holder := "node-1"
	tests := []struct {
		name string
		spec *coordinationv1.LeaseSpec
		path string
	}{
		{"valid", &coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: i32(40)}, ""},
		{"no spec", nil, ""},
		{"zero duration", &coordinationv1.LeaseSpec{LeaseDurationSeconds: i32(0)}, "spec.leaseDurationSeconds"},
		{"negative transitions", &coordinationv1.LeaseSpec{LeaseTransitions: i32(-1)}, "spec.leaseTransitions"},
	}
	for _, tt := range tests {
		l := &coordinationv1.Lease{Metadata: &metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"}, Spec: tt.spec}
		errs := Strategy.Validate(l)
		if tt.path == "" {
			if len(errs) != 0 {
				t.Errorf("%s: %v", tt.name, errs)
			}
			continue
		}
		if len(errs) != 1 || errs[0].Field != tt.path {
			t.Errorf("%s: %v", tt.name, errs)
		}
	}
	l := &coordinationv1.Lease{Metadata: &metav1.ObjectMeta{Name: "x", Namespace: "default"}, Spec: &coordinationv1.LeaseSpec{LeaseDurationSeconds: i32(0)}}
	if errs := Strategy.ValidateUpdate(l, l); len(errs) != 1 || errs[0].Error() != "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0" {
		t.Errorf("update: %v", errs)
	}
}
