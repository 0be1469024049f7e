package nodestatus

import (
	"context"
	"strings"
	"testing"
)

// The eviction manager's verdicts become the node's pressure conditions with upstream's
// reasons, and the hard memory threshold is kept out of allocatable memory.
func TestPressureConditionsAndAllocatable(t *testing.T) {
	under := map[string]bool{"DiskPressure": true}
	n := New(Config{
		NodeName: "n", NodeIP: "192.0.2.1", MaxPods: 110, Machine: Machine{CPUs: 2, MemoryBytes: 1 << 30},
		RuntimeVersion: func(context.Context) (string, error) { return "docker://20.10", nil },
		Pressure:       func(c string) bool { return under[c] },
		MemoryReserved: 100 << 20,
	}, nil)
	st := n.Status(context.Background(), nil)
	want := map[string][2]string{
		"MemoryPressure": {"False", "KubeletHasSufficientMemory"},
		"DiskPressure":   {"True", "KubeletHasDiskPressure"},
		"PIDPressure":    {"False", "KubeletHasSufficientPID"},
		"Ready":          {"True", "KubeletReady"},
	}
	for _, c := range st.GetConditions() {
		if w := want[c.GetType()]; c.GetStatus() != w[0] || c.GetReason() != w[1] {
			t.Errorf("%s = %s/%s, want %s/%s", c.GetType(), c.GetStatus(), c.GetReason(), w[0], w[1])
		}
	}
	if got := st.GetAllocatable()["memory"].Value(); got != 1<<30-100<<20 {
		t.Errorf("allocatable memory = %d, want capacity minus the 100Mi hard threshold (%d)", got, 1<<30-100<<20)
	}
	if got := st.GetCapacity()["memory"].Value(); got != 1<<30 {
		t.Errorf("capacity memory = %d", got)
	}
	under = map[string]bool{"MemoryPressure": true}
	st = n.Status(context.Background(), st)
	for _, c := range st.GetConditions() {
		if c.GetType() == "MemoryPressure" && (c.GetStatus() != "True" || c.GetReason() != "KubeletHasInsufficientMemory" || c.GetMessage() != "kubelet has insufficient memory available") {
			t.Errorf("MemoryPressure = %v", c)
		}
		if c.GetType() == "DiskPressure" && c.GetStatus() != "False" {
			t.Errorf("DiskPressure did not clear: %v", c)
		}
	}
}

// The node's events follow its conditions as upstream's kubelet records them: every
// condition's state on the first status, then only the ones that changed.
func TestConditionEvents(t *testing.T) {
	under := map[string]bool{}
	n := New(Config{
		NodeName: "n", Machine: Machine{CPUs: 1, MemoryBytes: 1 << 30},
		RuntimeVersion: func(context.Context) (string, error) { return "docker://20.10", nil },
		Pressure:       func(c string) bool { return under[c] },
	}, nil)
	first := n.Status(context.Background(), nil)
	got := strings.Join(conditionEvents(nil, first), " ")
	if want := "NodeHasSufficientMemory NodeHasNoDiskPressure NodeHasSufficientPID NodeReady"; got != want {
		t.Fatalf("first status events %q, want %q", got, want)
	}
	if ev := conditionEvents(first, n.Status(context.Background(), first)); len(ev) != 0 {
		t.Fatalf("an unchanged status records %v", ev)
	}
	under["MemoryPressure"] = true
	pressed := n.Status(context.Background(), first)
	if got := conditionEvents(first, pressed); len(got) != 1 || got[0] != "NodeHasInsufficientMemory" {
		t.Fatalf("memory pressure events %v", got)
	}
	under["MemoryPressure"] = false
	if got := conditionEvents(pressed, n.Status(context.Background(), pressed)); len(got) != 1 || got[0] != "NodeHasSufficientMemory" {
		t.Fatalf("recovery events %v", got)
	}
}
