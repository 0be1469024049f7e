package deployment

import (
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func i32(v int32) *int32 { return &v }

func hasError(errs field.ErrorList, typ field.ErrorType, path string) bool {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return true
		}
	}
	return false
}

func newDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "kube5/httpenv:1.0"}}},
			},
		},
	}
}

func created(d *appsv1.Deployment) *appsv1.Deployment {
	Strategy.PrepareForCreate(d)
	Strategy.Default(d)
	return d
}

func TestDefaults(t *testing.T) {
	d := created(newDeployment())
	s := d.Spec
	want := &appsv1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDeployment{
		MaxUnavailable: metav1.FromString("25%"), MaxSurge: metav1.FromString("25%")}}
	if s.GetReplicas() != 1 || s.GetRevisionHistoryLimit() != 10 || s.GetProgressDeadlineSeconds() != 600 || !proto.Equal(s.Strategy, want) {
		t.Errorf("got %v", s)
	}
	ps := s.Template.Spec
	if ps.TerminationGracePeriodSeconds == nil || *ps.TerminationGracePeriodSeconds != 30 || ps.Containers[0].TerminationMessagePath != "/dev/termination-log" {
		t.Errorf("template: %v", ps)
	}
	if errs := Strategy.Validate(d); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}
	rec := newDeployment()
	rec.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "Recreate"}
	created(rec)
	if rec.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("Recreate got rollingUpdate")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		typ    field.ErrorType
		path   string
	}{
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, field.ErrorTypeRequired, "spec.selector"},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, field.ErrorTypeInvalid, "spec.selector"},
		{"mismatch", func(d *appsv1.Deployment) { d.Spec.Template.Metadata.Labels = map[string]string{"app": "db"} }, field.ErrorTypeInvalid, "spec.template.metadata.labels"},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = i32(-1) }, field.ErrorTypeInvalid, "spec.replicas"},
		{"restartPolicy", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = "Never" }, field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"},
		{"both zero", func(d *appsv1.Deployment) {
			d.Spec.Strategy = &appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: metav1.FromInt(0), MaxSurge: metav1.FromString("0%")}}
		}, field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxUnavailable"},
		{"over 100%", func(d *appsv1.Deployment) {
			d.Spec.Strategy = &appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: metav1.FromString("150%")}}
		}, field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxUnavailable"},
		{"bad percent", func(d *appsv1.Deployment) {
			d.Spec.Strategy = &appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: metav1.FromString("abc")}}
		}, field.ErrorTypeInvalid, "spec.strategy.rollingUpdate.maxSurge"},
		{"strategy type", func(d *appsv1.Deployment) { d.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "BlueGreen"} }, field.ErrorTypeNotSupported, "spec.strategy"},
		{"recreate with rollingUpdate", func(d *appsv1.Deployment) {
			d.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "Recreate", RollingUpdate: &appsv1.RollingUpdateDeployment{}}
		}, field.ErrorTypeForbidden, "spec.strategy.rollingUpdate"},
		{"progress deadline", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 700 }, field.ErrorTypeInvalid, "spec.progressDeadlineSeconds"},
		{"template labels", func(d *appsv1.Deployment) { d.Spec.Template.Metadata.Labels["a b"] = "c" }, field.ErrorTypeInvalid, "spec.template.labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment()
			tt.mutate(d)
			created(d)
			if errs := Strategy.Validate(d); !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	d := newDeployment()
	d.Spec.Template.Metadata.Labels = map[string]string{"app": "db"}
	errs := Strategy.Validate(created(d))
	want := "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"db\"}: `selector` does not match template `labels`"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got %v", errs)
	}
}

func TestUpdate(t *testing.T) {
	old := created(newDeployment())
	scaled := proto.Clone(old).(*appsv1.Deployment)
	scaled.Spec.Replicas = i32(5)
	scaled.Spec.Template.Spec.Containers[0].Image = "kube5/httpenv:2.0"
	if errs := Strategy.ValidateUpdate(scaled, old); len(errs) != 0 {
		t.Errorf("scale and new image: %v", errs)
	}
	moved := proto.Clone(old).(*appsv1.Deployment)
	moved.Spec.Selector.MatchLabels["tier"] = "fe"
	moved.Spec.Template.Metadata.Labels["tier"] = "fe"
	if errs := Strategy.ValidateUpdate(moved, old); !hasError(errs, field.ErrorTypeInvalid, "spec.selector") {
		t.Errorf("selector change: %v", errs)
	}
}

func TestStatusUpdate(t *testing.T) {
	old := created(newDeployment())
	old.Status.CollisionCount = i32(2)
	cur := proto.Clone(old).(*appsv1.Deployment)
	cur.Status.CollisionCount = i32(1)
	cur.Status.Replicas, cur.Status.UpdatedReplicas = 1, 2
	errs := Strategy.ValidateStatusUpdate(cur, old)
	if !hasError(errs, field.ErrorTypeInvalid, "status.collisionCount") || !hasError(errs, field.ErrorTypeInvalid, "status.updatedReplicas") {
		t.Errorf("got %v", errs)
	}
}
