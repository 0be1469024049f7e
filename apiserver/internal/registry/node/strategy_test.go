package node

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

func newNode() *corev1.Node {
	return &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: "node-1"},
		Spec:     &corev1.NodeSpec{},
		Status: &corev1.NodeStatus{
			Capacity:  map[string]*metav1.Quantity{"cpu": {String_: "4"}, "pods": {String_: "110"}},
			Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: "192.168.0.2"}},
		},
	}
}

func TestDefault(t *testing.T) {
	n := newNode()
	n.Spec.PodCidr = "10.244.1.0/24"
	Strategy.PrepareForCreate(n)
	Strategy.Default(n)
	if len(n.Spec.PodCidrs) != 1 || n.Spec.PodCidrs[0] != "10.244.1.0/24" {
		t.Errorf("podCIDRs %v", n.Spec.PodCidrs)
	}
	if n.Status.Allocatable["pods"].GetString_() != "110" {
		t.Errorf("allocatable %v", n.Status.Allocatable)
	}
	plural := newNode()
	plural.Spec.PodCidrs = []string{"10.244.2.0/24", "fd00::/64"}
	Strategy.Default(plural)
	if plural.Spec.PodCidr != "10.244.2.0/24" {
		t.Errorf("podCIDR %q", plural.Spec.PodCidr)
	}
	if errs := Strategy.Validate(plural); len(errs) != 0 {
		t.Errorf("dual-stack: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Node)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.Node) {}, "", ""},
		{"namespace", func(n *corev1.Node) { n.Metadata.Namespace = "default" }, field.ErrorTypeForbidden, "metadata.namespace"},
		{"bad podCIDR", func(n *corev1.Node) { n.Spec.PodCidr = "10.244.1.0" }, field.ErrorTypeInvalid, "spec.podCIDRs[0]"},
		{"two v4 CIDRs", func(n *corev1.Node) { n.Spec.PodCidrs = []string{"10.244.1.0/24", "10.244.2.0/24"} }, field.ErrorTypeInvalid, "spec.podCIDRs"},
		{"taint effect", func(n *corev1.Node) { n.Spec.Taints = []*corev1.Taint{{Key: "k", Effect: "Never"}} }, field.ErrorTypeNotSupported, "metadata.taints[0].effect"},
		{"taint key", func(n *corev1.Node) { n.Spec.Taints = []*corev1.Taint{{Key: "a b", Effect: "NoSchedule"}} }, field.ErrorTypeInvalid, "metadata.taints[0].key"},
		{"negative capacity", func(n *corev1.Node) { n.Status.Capacity["cpu"] = &metav1.Quantity{String_: "-1"} }, field.ErrorTypeInvalid, "status.capacity.cpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode()
			tt.mutate(n)
			Strategy.Default(n)
			errs := Strategy.Validate(n)
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

func TestValidateUpdate(t *testing.T) {
	old := newNode()
	Strategy.Default(old)
	set := proto.Clone(old).(*corev1.Node)
	set.Spec.PodCidr = "10.244.1.0/24"
	set.Spec.Unschedulable = true
	Strategy.Default(set)
	if errs := Strategy.ValidateUpdate(set, old); len(errs) != 0 {
		t.Errorf("setting podCIDR once: %v", errs)
	}
	changed := proto.Clone(set).(*corev1.Node)
	changed.Spec.PodCidr, changed.Spec.PodCidrs = "10.244.9.0/24", nil
	Strategy.Default(changed)
	errs := Strategy.ValidateUpdate(changed, set)
	if !hasError(errs, field.ErrorTypeForbidden, "spec.podCIDRs") || errs[0].Detail != `node updates may not change podCIDR except from "" to valid` {
		t.Errorf("changing podCIDR: %v", errs)
	}
	st := proto.Clone(set).(*corev1.Node)
	st.Status.Addresses = append(st.Status.Addresses, st.Status.Addresses[0])
	if errs := Strategy.ValidateStatusUpdate(st, set); !hasError(errs, field.ErrorTypeDuplicate, "status.addresses[1]") {
		t.Errorf("duplicate address: %v", errs)
	}
}

func TestFields(t *testing.T) {
	n := newNode()
	n.Spec.Unschedulable = true
	if f := Strategy.Fields(n); len(f) != 2 || f["metadata.name"] != "node-1" || f["spec.unschedulable"] != "true" {
		t.Errorf("fields %v", f)
	}
}
