package validation

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func TestResourceRequirements(t *testing.T) {
	q := func(m map[string]string) map[string]*metav1.Quantity {
		out := map[string]*metav1.Quantity{}
		for k, v := range m {
			out[k] = &metav1.Quantity{String_: v}
		}
		return out
	}
	tests := []struct {
		name     string
		req, lim map[string]string
		typ      field.ErrorType
		path     string
	}{
		{"cpu and memory", map[string]string{"cpu": "250m", "memory": "64Mi"}, map[string]string{"cpu": "1", "memory": "128Mi"}, "", ""},
		{"equal", map[string]string{"cpu": "1"}, map[string]string{"cpu": "1000m"}, "", ""},
		{"extended resource", map[string]string{"example.com/gpu": "1"}, map[string]string{"example.com/gpu": "1"}, "", ""},
		{"extended without limit", map[string]string{"example.com/gpu": "1"}, nil, field.ErrorTypeRequired, "resources.limits"},
		{"extended below limit", map[string]string{"example.com/gpu": "1"}, map[string]string{"example.com/gpu": "2"}, field.ErrorTypeInvalid, "resources.requests"},
		{"extended fraction", nil, map[string]string{"example.com/gpu": "500m"}, field.ErrorTypeInvalid, "resources.limits[example.com/gpu]"},
		{"hugepages alone", nil, map[string]string{"hugepages-2Mi": "2Mi"}, field.ErrorTypeForbidden, "resources"},
		{"bad name", map[string]string{"a b": "1"}, nil, field.ErrorTypeInvalid, "resources.requests[a b]"},
		{"kubernetes.io name", nil, map[string]string{"kubernetes.io/foo": "1"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &corev1.ResourceRequirements{}
			if tt.req != nil {
				r.Requests = q(tt.req)
			}
			if tt.lim != nil {
				r.Limits = q(tt.lim)
			}
			errs := ValidateResourceRequirements(r, field.NewPath("resources"))
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

func TestQuantityParseError(t *testing.T) {
	errs := ValidateResourceQuantityValue("cpu", &metav1.Quantity{String_: "1x"}, field.NewPath("limits").Key("cpu"))
	want := `limits[cpu]: Invalid value: "1x": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got %v", errs)
	}
}
