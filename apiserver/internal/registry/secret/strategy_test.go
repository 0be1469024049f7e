package secret

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func newSecret() *corev1.Secret {
	return &corev1.Secret{Metadata: &metav1.ObjectMeta{Name: "s", Namespace: "default"},
		Data: map[string][]byte{"a": []byte("1")}, StringData: map[string]string{"a": "2", "b": "3"}}
}

func TestDefault(t *testing.T) {
	s := newSecret()
	Strategy.Default(s)
	if s.Type != "Opaque" || string(s.Data["a"]) != "2" || string(s.Data["b"]) != "3" || s.StringData != nil {
		t.Errorf("got %v", s)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Secret)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.Secret) {}, "", ""},
		{"bad key", func(s *corev1.Secret) { s.Data["a b"] = nil }, field.ErrorTypeInvalid, "data[a b]"},
		{"too large", func(s *corev1.Secret) { s.Data["big"] = make([]byte, MaxSize) }, field.ErrorTypeTooLong, "data"},
		{"tls without key", func(s *corev1.Secret) { s.Type = TypeTLS; s.Data = map[string][]byte{"tls.crt": nil} }, field.ErrorTypeRequired, "data[tls.key]"},
		{"token without account", func(s *corev1.Secret) { s.Type = TypeServiceAccountToken }, field.ErrorTypeRequired, "metadata.annotations[kubernetes.io/service-account.name]"},
		{"dockerconfigjson not json", func(s *corev1.Secret) {
			s.Type = TypeDockerConfigJSON
			s.Data = map[string][]byte{".dockerconfigjson": []byte("{")}
		}, field.ErrorTypeInvalid, "data[.dockerconfigjson]"},
		{"basic-auth empty", func(s *corev1.Secret) { s.Type = TypeBasicAuth; s.Data = nil }, field.ErrorTypeRequired, "data[username]"},
		{"custom type", func(s *corev1.Secret) { s.Type = "example.com/thing" }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSecret()
			Strategy.Default(s)
			tt.mutate(s)
			errs := Strategy.Validate(s)
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected: %v", errs)
				}
				return
			}
			found := false
			for _, e := range errs {
				found = found || (e.Type == tt.typ && e.Field == tt.path)
			}
			if !found {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	old := newSecret()
	Strategy.Default(old)
	retyped := proto.Clone(old).(*corev1.Secret)
	retyped.Type = "example.com/x"
	if errs := Strategy.ValidateUpdate(retyped, old); len(errs) != 1 || errs[0].Error() != `type: Invalid value: "example.com/x": field is immutable` {
		t.Errorf("type change: %v", errs)
	}
	yes := true
	old.Immutable = &yes
	cur := proto.Clone(old).(*corev1.Secret)
	cur.Data["a"] = []byte("9")
	if errs := Strategy.ValidateUpdate(cur, old); len(errs) != 1 || errs[0].Field != "data" || errs[0].Type != field.ErrorTypeForbidden {
		t.Errorf("immutable data: %v", errs)
	}
	if f := Strategy.Fields(old); f["type"] != "Opaque" || f["metadata.namespace"] != "default" {
		t.Errorf("fields %v", f)
	}
}
