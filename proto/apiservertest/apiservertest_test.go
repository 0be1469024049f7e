package apiservertest

import (
	"context"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

func TestStartCreateRestart(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": "v"}}
	if _, err := s.Client.ConfigMaps("default").Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	got, err := s.Client.ConfigMaps("default").Get(ctx, "c")
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if got.GetData()["k"] != "v" {
		t.Fatalf("data after restart: %v", got.GetData())
	}
}
