package plugins

import (
	"testing"

	"kube5/scheduler/internal/framework"
)

func TestDefaultProfileBuilds(t *testing.T) {
	reg := NewRegistry()
	for _, pc := range DefaultProfile() {
		if _, ok := reg[pc.Name]; !ok {
			t.Errorf("default profile names unregistered plugin %q", pc.Name)
		}
	}
	if _, err := framework.New(reg, DefaultProfile(), framework.Handle{}); err != nil {
		t.Fatal(err)
	}
	if _, err := framework.New(reg, []framework.PluginConfig{{Name: "NoSuchPlugin"}}, framework.Handle{}); err == nil {
		t.Error("unknown plugin accepted")
	}
}
