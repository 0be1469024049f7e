package validation

import (
	"strings"
	"testing"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

// hasError reports whether errs holds an error of the type at the path.
func hasError(errs field.ErrorList, typ field.ErrorType, path string) bool {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return true
		}
	}
	return false
}

func TestValidateObjectMeta(t *testing.T) {
	valid := func() *metav1.ObjectMeta { return &metav1.ObjectMeta{Name: "web", Namespace: "default"} }
	ctrl := true
	tests := []struct {
		name       string
		mutate     func(*metav1.ObjectMeta)
		namespaced bool
		typ        field.ErrorType
		path       string
	}{
		{"valid", func(*metav1.ObjectMeta) {}, true, "", ""},
		{"no name", func(m *metav1.ObjectMeta) { m.Name = "" }, true, field.ErrorTypeRequired, "metadata.name"},
		{"generateName only", func(m *metav1.ObjectMeta) { m.Name, m.GenerateName = "", "web-" }, true, "", ""},
		{"bad generateName", func(m *metav1.ObjectMeta) { m.GenerateName = "Web-" }, true, field.ErrorTypeInvalid, "metadata.generateName"},
		{"bad name", func(m *metav1.ObjectMeta) { m.Name = "Web" }, true, field.ErrorTypeInvalid, "metadata.name"},
		{"no namespace", func(m *metav1.ObjectMeta) { m.Namespace = "" }, true, field.ErrorTypeRequired, "metadata.namespace"},
		{"bad namespace", func(m *metav1.ObjectMeta) { m.Namespace = "a.b" }, true, field.ErrorTypeInvalid, "metadata.namespace"},
		{"namespace on cluster-scoped", func(*metav1.ObjectMeta) {}, false, field.ErrorTypeForbidden, "metadata.namespace"},
		{"bad label key", func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"a b": "x"} }, true, field.ErrorTypeInvalid, "metadata.labels"},
		{"bad label value", func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"a": "x y"} }, true, field.ErrorTypeInvalid, "metadata.labels"},
		{"bad annotation key", func(m *metav1.ObjectMeta) { m.Annotations = map[string]string{"a b": ""} }, true, field.ErrorTypeInvalid, "metadata.annotations"},
		{"upper case annotation key", func(m *metav1.ObjectMeta) { m.Annotations = map[string]string{"Example.COM/X": ""} }, true, "", ""},
		{"annotations too large", func(m *metav1.ObjectMeta) {
			m.Annotations = map[string]string{"a": strings.Repeat("x", TotalAnnotationSizeLimitB)}
		}, true, field.ErrorTypeTooLong, "metadata.annotations"},
		{"ownerRef without uid", func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs"}}
		}, true, field.ErrorTypeInvalid, "metadata.ownerReferences.uid"},
		{"ownerRef without version", func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "apps/", Kind: "ReplicaSet", Name: "rs", Uid: "1"}}
		}, true, field.ErrorTypeInvalid, "metadata.ownerReferences.apiVersion"},
		{"two controllers", func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []*metav1.OwnerReference{
				{ApiVersion: "v1", Kind: "A", Name: "a", Uid: "1", Controller: &ctrl},
				{ApiVersion: "v1", Kind: "B", Name: "b", Uid: "2", Controller: &ctrl},
			}
		}, true, field.ErrorTypeInvalid, "metadata.ownerReferences"},
		{"event owner", func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "v1", Kind: "Event", Name: "e", Uid: "1"}}
		}, true, field.ErrorTypeInvalid, "metadata.ownerReferences"},
		{"unqualified finalizer", func(m *metav1.ObjectMeta) { m.Finalizers = []string{"foo"} }, true, field.ErrorTypeInvalid, "metadata.finalizers[0]"},
		{"qualified finalizer", func(m *metav1.ObjectMeta) { m.Finalizers = []string{"example.com/foo", "kubernetes"} }, true, "", ""},
		{"bad finalizer", func(m *metav1.ObjectMeta) { m.Finalizers = []string{"a/b/c"} }, true, field.ErrorTypeInvalid, "metadata.finalizers"},
		{"orphan and foreground", func(m *metav1.ObjectMeta) { m.Finalizers = []string{"orphan", "foregroundDeletion"} }, true, field.ErrorTypeInvalid, "metadata.finalizers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.mutate(m)
			errs := ValidateObjectMeta(m, tt.namespaced, NameIsDNSSubdomain, field.NewPath("metadata"))
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestValidateObjectMetaMessages(t *testing.T) {
	errs := ValidateObjectMeta(&metav1.ObjectMeta{Namespace: "default"}, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	if len(errs) != 1 || errs[0].Error() != "metadata.name: Required value: name or generateName is required" {
		t.Errorf("got %v", errs)
	}
	errs = ValidateObjectMeta(&metav1.ObjectMeta{Name: "x", Finalizers: []string{"foo"}}, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	if len(errs) != 1 || errs[0].Error() != `metadata.finalizers[0]: Invalid value: "foo": name is neither a standard finalizer name nor is it fully qualified` {
		t.Errorf("got %v", errs)
	}
}

func TestValidateObjectMetaUpdate(t *testing.T) {
	old := &metav1.ObjectMeta{Name: "web", Namespace: "default", Uid: "u1", CreationTimestamp: &metav1.Time{Seconds: 100}}
	tests := []struct {
		name   string
		mutate func(*metav1.ObjectMeta)
		path   string
	}{
		{"unchanged", func(*metav1.ObjectMeta) {}, ""},
		{"labels may change", func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"a": "b"} }, ""},
		{"uid not sent", func(m *metav1.ObjectMeta) { m.Uid = ""; m.CreationTimestamp = nil }, ""},
		{"name", func(m *metav1.ObjectMeta) { m.Name = "other" }, "metadata.name"},
		{"namespace", func(m *metav1.ObjectMeta) { m.Namespace = "other" }, "metadata.namespace"},
		{"uid", func(m *metav1.ObjectMeta) { m.Uid = "u2" }, "metadata.uid"},
		{"creationTimestamp", func(m *metav1.ObjectMeta) { m.CreationTimestamp = &metav1.Time{Seconds: 200} }, "metadata.creationTimestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &metav1.ObjectMeta{Name: old.Name, Namespace: old.Namespace, Uid: old.Uid, CreationTimestamp: &metav1.Time{Seconds: 100}}
			tt.mutate(m)
			errs := ValidateObjectMetaUpdate(m, old, field.NewPath("metadata"))
			if tt.path == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if !hasError(errs, field.ErrorTypeInvalid, tt.path) {
				t.Fatalf("want Invalid at %s, got %v", tt.path, errs)
			}
			if !strings.HasSuffix(errs[0].Error(), ": field is immutable") {
				t.Errorf("message: %s", errs[0].Error())
			}
		})
	}
	deleting := &metav1.ObjectMeta{Name: "web", Namespace: "default", DeletionTimestamp: &metav1.Time{Seconds: 1}, Finalizers: []string{"a.io/x"}}
	errs := ValidateObjectMetaUpdate(&metav1.ObjectMeta{Name: "web", Namespace: "default", DeletionTimestamp: &metav1.Time{Seconds: 1},
		Finalizers: []string{"a.io/x", "b.io/y"}}, deleting, field.NewPath("metadata"))
	if !hasError(errs, field.ErrorTypeForbidden, "metadata.finalizers") {
		t.Errorf("adding a finalizer while deleting: %v", errs)
	}
}

func TestValidateLabelSelector(t *testing.T) {
	p := field.NewPath("spec", "selector")
	tests := []struct {
		name string
		sel  *metav1.LabelSelector
		typ  field.ErrorType
		path string
	}{
		{"labels", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, "", ""},
		{"in without values", &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a", Operator: "In"}}},
			field.ErrorTypeRequired, "spec.selector.matchExpressions[0].values"},
		{"exists with values", &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a", Operator: "Exists", Values: []string{"x"}}}},
			field.ErrorTypeForbidden, "spec.selector.matchExpressions[0].values"},
		{"bad operator", &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a", Operator: "Gt", Values: []string{"1"}}}},
			field.ErrorTypeInvalid, "spec.selector.matchExpressions[0].operator"},
		{"bad key", &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a b", Operator: "Exists"}}},
			field.ErrorTypeInvalid, "spec.selector.matchExpressions[0].key"},
		{"bad value", &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a", Operator: "In", Values: []string{"a b"}}}},
			field.ErrorTypeInvalid, "spec.selector.matchExpressions[0].values[0]"},
		{"bad match label", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a b"}}, field.ErrorTypeInvalid, "spec.selector.matchLabels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateLabelSelector(tt.sel, p)
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

func TestIntOrStringPercent(t *testing.T) {
	p := field.NewPath("maxSurge")
	if errs := ValidateIntOrStringPercent(metav1.FromString("25%"), p); len(errs) != 0 {
		t.Error(errs)
	}
	if errs := ValidateIntOrStringPercent(metav1.FromInt(-1), p); !hasError(errs, field.ErrorTypeInvalid, "maxSurge") {
		t.Error(errs)
	}
	if errs := ValidateIntOrStringPercent(metav1.FromString("25"), p); !hasError(errs, field.ErrorTypeInvalid, "maxSurge") {
		t.Error(errs)
	}
	if errs := IsNotMoreThan100Percent(metav1.FromString("101%"), p); len(errs) != 1 || errs[0].Error() != `maxSurge: Invalid value: "101%": must not be greater than 100%` {
		t.Error(errs)
	}
	if IntOrPercentValue(metav1.FromString("30%")) != 30 || IntOrPercentValue(metav1.FromInt(3)) != 3 {
		t.Error("IntOrPercentValue")
	}
}
