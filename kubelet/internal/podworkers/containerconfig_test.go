package podworkers

import (
	"strings"
	"testing"

	corev1 "kube5/proto/api/core/v1"

	"kube5/kubelet/internal/runtime/fake"
)

// An Indexed Job's pods read their index through a fieldRef on an annotation
// (JOB_COMPLETION_INDEX); labels work the same way. A missing key is empty, as upstream.
func TestEnvFieldRefLabelsAndAnnotations(t *testing.T) {
	m := New(Config{NodeName: "n1", RootDir: t.TempDir()}, fake.New(), &nopRecorder{}, &sink{})
	ref := func(name, path string) *corev1.EnvVar {
		return &corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	c := ctr("c", "img:1")
	c.Env = []*corev1.EnvVar{
		ref("JOB_COMPLETION_INDEX", "metadata.annotations['batch.kubernetes.io/job-completion-index']"),
		ref("APP", "metadata.labels['app']"),
		ref("MISSING", "metadata.labels['nope']"),
	}
	p := pod("idx-3-abcde", c)
	p.Metadata.Annotations = map[string]string{"batch.kubernetes.io/job-completion-index": "3"}
	p.Metadata.Labels = map[string]string{"app": "pi"}
	cfg, err := m.containerConfig(p, c, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	got := " " + strings.Join(cfg.Env, " ") + " "
	for _, want := range []string{"JOB_COMPLETION_INDEX=3", "APP=pi", "MISSING="} {
		if !strings.Contains(got, " "+want+" ") {
			t.Errorf("env %q lacks %s", got, want)
		}
	}
}
