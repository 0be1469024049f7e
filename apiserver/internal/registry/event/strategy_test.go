package event

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func newEvent() *corev1.Event {
	return &corev1.Event{
		Metadata:       &metav1.ObjectMeta{Name: "web.17a", Namespace: "default"},
		InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", Uid: "u1", ApiVersion: "v1"},
		Reason:         "Scheduled", Message: "Successfully assigned default/web to node-1",
		Source: &corev1.EventSource{Component: "default-scheduler"}, Count: 1, Type: "Normal",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Event)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.Event) {}, "", ""},
		{"namespace mismatch", func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" }, field.ErrorTypeInvalid, "involvedObject.namespace"},
		{"cluster-scoped object in default", func(e *corev1.Event) { e.InvolvedObject = &corev1.ObjectReference{Kind: "Node", Name: "node-1"} }, "", ""},
		{"cluster-scoped object elsewhere", func(e *corev1.Event) {
			e.InvolvedObject = &corev1.ObjectReference{Kind: "Node", Name: "node-1"}
			e.Metadata.Namespace = "team-a"
		}, field.ErrorTypeInvalid, "involvedObject.namespace"},
		{"new style without action", func(e *corev1.Event) {
			e.EventTime = &metav1.MicroTime{Seconds: 10}
			e.ReportingComponent, e.ReportingInstance = "kubelet", "node-1"
		}, field.ErrorTypeRequired, "action"},
		{"new style without controller", func(e *corev1.Event) {
			e.EventTime = &metav1.MicroTime{Seconds: 10}
			e.Action, e.ReportingInstance = "Binding", "node-1"
		}, field.ErrorTypeRequired, "reportingController"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent()
			tt.mutate(e)
			errs := Strategy.Validate(e)
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected: %v", errs)
				}
				return
			}
			found := false
			for _, er := range errs {
				found = found || (er.Type == tt.typ && er.Field == tt.path)
			}
			if !found {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
	e := newEvent()
	e.InvolvedObject.Namespace = "other"
	if errs := Strategy.ValidateUpdate(e, newEvent()); len(errs) != 1 || errs[0].Error() != `involvedObject.namespace: Invalid value: "other": does not match event.namespace` {
		t.Errorf("update: %v", errs)
	}
}

func TestFields(t *testing.T) {
	f := Strategy.Fields(newEvent())
	want := map[string]string{
		"metadata.name": "web.17a", "metadata.namespace": "default",
		"involvedObject.kind": "Pod", "involvedObject.namespace": "default", "involvedObject.name": "web",
		"involvedObject.uid": "u1", "involvedObject.apiVersion": "v1", "involvedObject.resourceVersion": "",
		"involvedObject.fieldPath": "", "reason": "Scheduled", "reportingComponent": "", "source": "default-scheduler", "type": "Normal",
	}
	if len(f) != len(want) {
		t.Errorf("fields %v", f)
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
}
