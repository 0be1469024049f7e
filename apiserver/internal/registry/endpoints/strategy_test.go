package endpoints

import (
	"testing"

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

func newEndpoints() *corev1.Endpoints {
	return &corev1.Endpoints{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Subsets: []*corev1.EndpointSubset{{
			Addresses: []*corev1.EndpointAddress{{Ip: "10.244.1.5"}},
			Ports:     []*corev1.EndpointPort{{Port: 8888}},
		}},
	}
}

func TestDefault(t *testing.T) {
	ep := newEndpoints()
	Strategy.Default(ep)
	if ep.Subsets[0].Ports[0].Protocol != "TCP" {
		t.Errorf("protocol %q", ep.Subsets[0].Ports[0].Protocol)
	}
}

func TestValidate(t *testing.T) {
	node := "node_1"
	tests := []struct {
		name   string
		mutate func(*corev1.Endpoints)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.Endpoints) {}, "", ""},
		{"no addresses", func(e *corev1.Endpoints) { e.Subsets[0].Addresses = nil }, field.ErrorTypeRequired, "subsets[0]"},
		{"not ready only", func(e *corev1.Endpoints) {
			e.Subsets[0].NotReadyAddresses, e.Subsets[0].Addresses = e.Subsets[0].Addresses, nil
		}, "", ""},
		{"bad ip", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].Ip = "x" }, field.ErrorTypeInvalid, "subsets[0].addresses[0].ip"},
		{"loopback", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].Ip = "127.0.0.1" }, field.ErrorTypeInvalid, "subsets[0].addresses[0].ip"},
		{"nodeName", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].NodeName = &node }, field.ErrorTypeInvalid, "subsets[0].addresses[0].nodeName"},
		{"port", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Port = 0 }, field.ErrorTypeInvalid, "subsets[0].ports[0].port"},
		{"unnamed second port", func(e *corev1.Endpoints) {
			e.Subsets[0].Ports = append(e.Subsets[0].Ports, &corev1.EndpointPort{Port: 81, Protocol: "TCP"})
		}, field.ErrorTypeRequired, "subsets[0].ports[0].name"},
		{"protocol", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Protocol = "ICMP" }, field.ErrorTypeNotSupported, "subsets[0].ports[0].protocol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoints()
			Strategy.Default(e)
			tt.mutate(e)
			errs := Strategy.Validate(e)
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
	old := newEndpoints()
	Strategy.Default(old)
	cur := newEndpoints()
	cur.Metadata.Name = "other"
	Strategy.Default(cur)
	if errs := Strategy.ValidateUpdate(cur, old); !hasError(errs, field.ErrorTypeInvalid, "metadata.name") {
		t.Errorf("rename: %v", errs)
	}
}
