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
)

// ownTaint reports whether t is one this controller adds and removes.
func ownTaint(t *corev1.Taint) bool {
	return (t.GetKey() == TaintNotReady || t.GetKey() == TaintUnreachable) &&
		(t.GetEffect() == NoExecute || t.GetEffect() == NoSchedule)
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

// DesiredTaints returns the node's taints with this controller's replaced by those its
// Ready status calls for, and whether that is a change. Taints already right keep their
// timeAdded, so the eviction clock does not restart.
func DesiredTaints(cur []*corev1.Taint, readyStatus string, now time.Time) ([]*corev1.Taint, bool) {
	key := wantedTaintKey(readyStatus)
	var out []*corev1.Taint
	have := map[string]bool{}
	changed := false
	for _, t := range cur {
		if ownTaint(t) {
			if t.GetKey() != key {
				changed = true
				continue
			}
			have[t.GetEffect()] = true
		}
		out = append(out, t)
	}
	if key != "" {
		for _, effect := range []string{NoSchedule, NoExecute} {
			if !have[effect] {
				out = append(out, &corev1.Taint{Key: key, Effect: effect, TimeAdded: metaTime(now)})
				changed = true
			}
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
