package nodelifecycle

import (
	"time"

	corev1 "kube5/proto/api/core/v1"
)

// The taints this controller owns (upstream's well-known node taints).
const (
	TaintNotReady    = "node.kubernetes.io/not-ready"
	TaintUnreachable = "node.kubernetes.io/unreachable"
	NoExecute        = "NoExecute"
	NoSchedule       = "NoSchedule"

	// NoSchedule taints for node conditions and cordoning (upstream's
	// TaintNodesByCondition).
	TaintMemoryPressure     = "node.kubernetes.io/memory-pressure"
	TaintDiskPressure       = "node.kubernetes.io/disk-pressure"
	TaintPIDPressure        = "node.kubernetes.io/pid-pressure"
	TaintNetworkUnavailable = "node.kubernetes.io/network-unavailable"
	TaintUnschedulable      = "node.kubernetes.io/unschedulable"
)

// conditionTaints are the node conditions that taint a node NoSchedule while their status
// is "True" (upstream's nodeConditionToTaintKeyStatusMap), in the order the taints are
// added. Any other status (False, Unknown, missing) means no taint.
var conditionTaints = []struct{ condition, key string }{
	{"MemoryPressure", TaintMemoryPressure},
	{"DiskPressure", TaintDiskPressure},
	{"PIDPressure", TaintPIDPressure},
	{"NetworkUnavailable", TaintNetworkUnavailable},
}

// taintID is what identifies a node taint: its key and effect (upstream's MatchTaint).
type taintID struct{ key, effect string }

// ownTaint reports whether t is one this controller adds and removes: the not-ready and
// unreachable taints of either effect, and the NoSchedule condition and unschedulable
// taints. Other taints, also other effects of those keys, belong to the user.
func ownTaint(t *corev1.Taint) bool {
	switch t.GetKey() {
	case TaintNotReady, TaintUnreachable:
		return t.GetEffect() == NoExecute || t.GetEffect() == NoSchedule
	case TaintMemoryPressure, TaintDiskPressure, TaintPIDPressure, TaintNetworkUnavailable, TaintUnschedulable:
		return t.GetEffect() == NoSchedule
	}
	return false
}

// wantedTaintKey is the key of the taints a node with this Ready status should carry
// ("" for none): not-ready when the kubelet says False, unreachable when nobody knows.
func wantedTaintKey(readyStatus string) string {
	switch readyStatus {
	case "False":
		return TaintNotReady
	case "Unknown":
		return TaintUnreachable
	}
	return ""
}

// wantedTaints lists the controller's taints n should carry, in the order they are added:
// the Ready status's (NoSchedule and NoExecute), then a NoSchedule taint per condition
// that is True, then the unschedulable taint for a cordoned node.
func wantedTaints(n *corev1.Node) []taintID {
	var want []taintID
	if key := wantedTaintKey(readyCondition(n).GetStatus()); key != "" {
		want = append(want, taintID{key, NoSchedule}, taintID{key, NoExecute})
	}
	status := map[string]string{}
	for _, cond := range n.GetStatus().GetConditions() {
		if _, dup := status[cond.GetType()]; !dup {
			status[cond.GetType()] = cond.GetStatus()
		}
	}
	for _, ct := range conditionTaints {
		if status[ct.condition] == "True" {
			want = append(want, taintID{ct.key, NoSchedule})
		}
	}
	if n.GetSpec().GetUnschedulable() {
		want = append(want, taintID{TaintUnschedulable, NoSchedule})
	}
	return want
}

// DesiredTaints returns n's taints with this controller's replaced by those its
// conditions and spec.unschedulable call for (see wantedTaints), and whether that is a
// change. Other taints are kept as they are, in place; taints already right keep their
// timeAdded, so the eviction clock does not restart; new ones are appended, added now.
func DesiredTaints(n *corev1.Node, now time.Time) ([]*corev1.Taint, bool) {
	want := wantedTaints(n)
	wanted := make(map[taintID]bool, len(want))
	for _, id := range want {
		wanted[id] = true
	}
	var out []*corev1.Taint
	have := map[taintID]bool{}
	changed := false
	for _, t := range n.GetSpec().GetTaints() {
		if ownTaint(t) {
			id := taintID{t.GetKey(), t.GetEffect()}
			if !wanted[id] || have[id] {
				changed = true
				continue
			}
			have[id] = true
		}
		out = append(out, t)
	}
	for _, id := range want {
		if !have[id] {
			out = append(out, &corev1.Taint{Key: id.key, Effect: id.effect, TimeAdded: metaTime(now)})
			changed = true
		}
	}
	return out, changed
}

// Tolerates reports whether tol tolerates taint (upstream's ToleratesTaint).
func Tolerates(tol *corev1.Toleration, taint *corev1.Taint) bool {
	if tol.GetEffect() != "" && tol.GetEffect() != taint.GetEffect() {
		return false
	}
	switch tol.GetOperator() {
	case "Exists":
		return tol.GetKey() == "" || tol.GetKey() == taint.GetKey()
	case "", "Equal":
		return tol.GetKey() == taint.GetKey() && tol.GetValue() == taint.GetValue()
	}
	return false
}

// EvictionDelay decides what happens to a pod on a node with these NoExecute taints:
// evict at once (a taint it does not tolerate), never (no taints, or tolerated without
// a limit), or after the shortest tolerationSeconds among the tolerations in use,
// counted from since. forever is true when the pod stays.
func EvictionDelay(tolerations []*corev1.Toleration, taints []*corev1.Taint) (delay time.Duration, forever bool) {
	if len(taints) == 0 {
		return 0, true
	}
	minSeconds := int64(-1)
	for _, taint := range taints {
		tolerated := false
		for _, tol := range tolerations {
			if !Tolerates(tol, taint) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds != nil {
				s := tol.GetTolerationSeconds()
				if s < 0 {
					s = 0
				}
				if minSeconds < 0 || s < minSeconds {
					minSeconds = s
				}
			}
		}
		if !tolerated {
			return 0, false
		}
	}
	if minSeconds < 0 {
		return 0, true
	}
	return time.Duration(minSeconds) * time.Second, false
}

func noExecuteTaints(n *corev1.Node) []*corev1.Taint {
	var out []*corev1.Taint
	for _, t := range n.GetSpec().GetTaints() {
		if t.GetEffect() == NoExecute {
			out = append(out, t)
		}
	}
	return out
}
