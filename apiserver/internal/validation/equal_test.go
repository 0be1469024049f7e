package validation

import (
	"strings"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func TestEqualMessages(t *testing.T) {
	tests := []struct {
		name string
		a, b *corev1.PodSpec
		want bool
	}{
		{"nil and empty", nil, &corev1.PodSpec{}, true},
		{"absent and empty sub-message", &corev1.PodSpec{}, &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{}}, true},
		{"nil and empty map", &corev1.PodSpec{}, &corev1.PodSpec{NodeSelector: map[string]string{}}, true},
		{"unset and zero optional", &corev1.PodSpec{}, &corev1.PodSpec{TerminationGracePeriodSeconds: i64(0)}, false},
		{"different scalar", &corev1.PodSpec{NodeName: "a"}, &corev1.PodSpec{NodeName: "b"}, false},
		{"different list", &corev1.PodSpec{Containers: []*corev1.Container{{Name: "a"}}}, &corev1.PodSpec{Containers: []*corev1.Container{{Name: "b"}}}, false},
	}
	for _, tt := range tests {
		if got := EqualMessages(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: got %v", tt.name, got)
		}
	}
}

func TestDiffMessages(t *testing.T) {
	old := &corev1.PodSpec{NodeName: "a", Containers: []*corev1.Container{{Name: "web", Image: "x:1"}}}
	cur := &corev1.PodSpec{NodeName: "b", Containers: []*corev1.Container{{Name: "web", Image: "x:2"}}, NodeSelector: map[string]string{"k": "v"}}
	got := strings.Join(DiffMessages(old, cur, "spec"), "\n")
	for _, want := range []string{
		`spec.containers[0].image: "x:1" -> "x:2"`,
		`spec.nodeSelector[k]: null -> "v"`,
		`spec.nodeName: "a" -> "b"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
}

func TestImmutableFieldPrintsJSON(t *testing.T) {
	errs := ValidateImmutableField(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "b"}},
		&metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}, field.NewPath("spec", "selector"))
	if len(errs) != 1 || errs[0].Error() != `spec.selector: Invalid value: {"matchLabels":{"app":"b"}}: field is immutable` {
		t.Errorf("got %v", errs)
	}
	if errs := ValidateImmutableField(&metav1.LabelSelector{}, (*metav1.LabelSelector)(nil), field.NewPath("x")); len(errs) != 0 {
		t.Errorf("empty equals absent: %v", errs)
	}
}
