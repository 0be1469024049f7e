package builtin

import (
	"strings"
	"testing"

	"kube5/apiserver/internal/registry"
	"kube5/proto/scheme"
)

func TestEveryResourceHasAStrategy(t *testing.T) {
	s := Strategies()
	for _, r := range scheme.All() {
		if r.Resource == "bindings" {
			continue // a subresource body: pods/binding
		}
		key := r.Group + "/" + r.Resource
		st, ok := s[key]
		if !ok {
			t.Errorf("no strategy for %s", key)
			continue
		}
		obj := r.New()
		obj.ProtoReflect() // the strategy must accept its resource's type
		if got := st.Fields(obj); r.Namespaced != hasKey(got, "metadata.namespace") {
			t.Errorf("%s: namespaced=%v but fields %v", key, r.Namespaced, got)
		}
		// Defaulting, preparation and validation of an empty object must not panic.
		st.PrepareForCreate(obj)
		st.Default(obj)
		_ = st.Validate(obj)
		_ = st.ValidateUpdate(obj, r.New())
		if ss, ok := st.(registry.StatusStrategy); ok {
			ss.PrepareForStatusUpdate(obj, r.New())
			_ = ss.ValidateStatusUpdate(obj, r.New())
		}
		if g, ok := st.(registry.GracefulDeleter); ok {
			_ = g.GracePeriod(r.New(), nil)
		}
	}
	for key := range s {
		group, res, _ := strings.Cut(key, "/")
		if _, ok := scheme.ByGroupResource(group, res); !ok {
			t.Errorf("strategy for unknown resource %s", key)
		}
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
