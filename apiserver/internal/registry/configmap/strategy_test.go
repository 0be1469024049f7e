package configmap

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func newCM() *corev1.ConfigMap {
	return &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "cfg", Namespace: "default"},
		Data: map[string]string{"app.conf": "x=1"}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.ConfigMap)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.ConfigMap) {}, "", ""},
		{"bad key", func(c *corev1.ConfigMap) { c.Data["a/b"] = "" }, field.ErrorTypeInvalid, "data[a/b]"},
		{"bad binary key", func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"..x": nil} }, field.ErrorTypeInvalid, "binaryData[..x]"},
		{"key in both", func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"app.conf": nil} }, field.ErrorTypeInvalid, "data[app.conf]"},
		{"too large", func(c *corev1.ConfigMap) { c.Data["big"] = strings.Repeat("x", MaxSize) }, field.ErrorTypeTooLong, "[]"}, // upstream prints the empty path so
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCM()
			tt.mutate(c)
			errs := Strategy.Validate(c)
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Type != tt.typ || errs[0].Field != tt.path {
				t.Fatalf("want %s at %q, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestImmutable(t *testing.T) {
	yes := true
	old := newCM()
	old.Immutable = &yes
	cur := proto.Clone(old).(*corev1.ConfigMap)
	cur.Data["app.conf"] = "x=2"
	cur.Immutable = nil
	errs := Strategy.ValidateUpdate(cur, old)
	if len(errs) != 2 || errs[0].Error() != "immutable: Forbidden: field is immutable when `immutable` is set" || errs[1].Field != "data" {
		t.Errorf("got %v", errs)
	}
	mutable := newCM()
	next := proto.Clone(mutable).(*corev1.ConfigMap)
	next.Data["app.conf"] = "x=2"
	if errs := Strategy.ValidateUpdate(next, mutable); len(errs) != 0 {
		t.Errorf("mutable: %v", errs)
	}
}
