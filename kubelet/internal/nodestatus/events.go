package nodestatus

import (
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/events"
	"kube5/proto/scheme"
)

// Recorder records events (events.Recorder satisfies it).
type Recorder interface {
	Eventf(obj scheme.Object, eventType, reason, format string, args ...any)
}

// conditionReasons are upstream's node event reasons for each condition's status.
var conditionReasons = map[string]map[string]string{
	"MemoryPressure": {"True": "NodeHasInsufficientMemory", "False": "NodeHasSufficientMemory"},
	"DiskPressure":   {"True": "NodeHasDiskPressure", "False": "NodeHasNoDiskPressure"},
	"PIDPressure":    {"True": "NodeHasInsufficientPID", "False": "NodeHasSufficientPID"},
	"Ready":          {"True": "NodeReady", "False": "NodeNotReady"},
}

// conditionEvents names the events a status change calls for, as upstream's kubelet
// records them ("Node n status is now: NodeHasInsufficientMemory"): one per condition
// whose status differs from what was last sent (old nil: the first status, so every
// condition's current state, as a starting kubelet reports it).
func conditionEvents(old, cur *corev1.NodeStatus) []string {
	was := map[string]string{}
	for _, c := range old.GetConditions() {
		was[c.GetType()] = c.GetStatus()
	}
	var out []string
	for _, c := range cur.GetConditions() {
		if old != nil && was[c.GetType()] == c.GetStatus() {
			continue
		}
		if r := conditionReasons[c.GetType()][c.GetStatus()]; r != "" {
			out = append(out, r)
		}
	}
	return out
}

// recordConditionEvents records the events of a status change on the node.
func (n *Controller) recordConditionEvents(old, cur *corev1.NodeStatus) {
	if n.cfg.Recorder == nil {
		return
	}
	// Upstream's node reference: the node's name stands for its uid.
	node := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: n.cfg.NodeName, Uid: n.cfg.NodeName}}
	for _, r := range conditionEvents(old, cur) {
		n.cfg.Recorder.Eventf(node, events.Normal, r, "Node %s status is now: %s", n.cfg.NodeName, r)
	}
}
