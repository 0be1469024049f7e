package componentstatus

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

func TestFields(t *testing.T) {
	cs := &corev1.ComponentStatus{Metadata: &metav1.ObjectMeta{Name: "etcd-0"}}
	if f := Strategy.Fields(cs); len(f) != 1 || f["metadata.name"] != "etcd-0" {
		t.Errorf("fields %v", f)
	}
}
