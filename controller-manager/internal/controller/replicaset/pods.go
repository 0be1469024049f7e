package replicaset

import (
	"sort"
	"time"

	corev1 "kube5/proto/api/core/v1"
)

// IsPodActive reports whether a pod counts toward its controller's replicas: not finished
// and not being deleted (upstream's FilterActivePods).
func IsPodActive(p *corev1.Pod) bool {
	phase := p.GetStatus().GetPhase()
	return phase != "Succeeded" && phase != "Failed" && p.GetMetadata().GetDeletionTimestamp() == nil
}

// podReadyCondition returns the pod's Ready condition, or nil.
func podReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c
		}
	}
	return nil
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(p *corev1.Pod) bool {
	c := podReadyCondition(p)
	return c != nil && c.GetStatus() == "True"
}

// IsPodAvailable reports whether the pod has been ready for at least minReadySeconds at
// now.
func IsPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := podReadyCondition(p)
	if c == nil || c.GetStatus() != "True" {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	since := c.GetLastTransitionTime()
	if since.IsZero() {
		return false
	}
	return !since.AsTime().Add(time.Duration(minReadySeconds) * time.Second).After(now)
}

// SortForDeletion orders pods so that the ones to delete first come first, as upstream's
// ActivePods: unscheduled before scheduled, Pending before Unknown before Running, not
// ready before ready, ready for less time before ready longer, more container restarts
// before fewer, newer before older.
func SortForDeletion(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return deleteFirst(pods[i], pods[j]) })
}

func phaseRank(phase string) int {
	switch phase {
	case "Pending":
		return 0
	case "Unknown":
		return 1
	case "Running":
		return 2
	}
	return 3
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.GetStatus().GetContainerStatuses() {
		n = max(n, cs.GetRestartCount())
	}
	return n
}

func deleteFirst(a, b *corev1.Pod) bool {
	aNode, bNode := a.GetSpec().GetNodeName(), b.GetSpec().GetNodeName()
	if (aNode == "") != (bNode == "") {
		return aNode == ""
	}
	if ra, rb := phaseRank(a.GetStatus().GetPhase()), phaseRank(b.GetStatus().GetPhase()); ra != rb {
		return ra < rb
	}
	if ra, rb := IsPodReady(a), IsPodReady(b); ra != rb {
		return !ra
	}
	if IsPodReady(a) && IsPodReady(b) {
		ta, tb := podReadyCondition(a).GetLastTransitionTime(), podReadyCondition(b).GetLastTransitionTime()
		if !ta.AsTime().Equal(tb.AsTime()) {
			return ta.AsTime().After(tb.AsTime()) // ready for less time goes first
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	ca, cb := a.GetMetadata().GetCreationTimestamp().AsTime(), b.GetMetadata().GetCreationTimestamp().AsTime()
	if !ca.Equal(cb) {
		return ca.After(cb)
	}
	return a.GetMetadata().GetName() > b.GetMetadata().GetName()
}
