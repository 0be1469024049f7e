package disruption

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	policyv1 "kube5/proto/api/policy/v1"
	"kube5/proto/events"

	"kube5/controller-manager/internal/controller/controllerref"
)

// The DisruptionAllowed condition and its reasons, as upstream's policy/v1 constants.
const (
	ConditionDisruptionAllowed = "DisruptionAllowed"
	ReasonSufficientPods       = "SufficientPods"
	ReasonInsufficientPods     = "InsufficientPods"
	ReasonSyncFailed           = "SyncFailed"
)

// expectedPodCount is upstream's getExpectedPodCount: with an integer minAvailable the
// budget expects the pods it selects and wants minAvailable of them healthy; with a
// percentage minAvailable or any maxUnavailable it expects the summed scale of the pods'
// controllers and wants ceil(minAvailable% of that), or that minus maxUnavailable
// (a percentage rounded up). Pods without a controller are returned as unmanaged and
// left out of the scale; a pod whose controller cannot be found is an error.
func (c *Controller) expectedPodCount(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (expected, desired int32, unmanaged []string, err error) {
	spec := pdb.GetSpec()
	switch {
	case spec.GetMaxUnavailable() != nil:
		if expected, unmanaged, err = c.expectedScale(pdb, pods); err != nil {
			return 0, 0, nil, err
		}
		maxUnavailable, err := metav1.GetScaledValueFromIntOrPercent(spec.GetMaxUnavailable(), int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = max(expected-int32(maxUnavailable), 0)
	case spec.GetMinAvailable() != nil && spec.GetMinAvailable().GetType() == metav1.IntOrStringInt:
		desired = spec.GetMinAvailable().GetIntVal()
		expected = int32(len(pods))
	case spec.GetMinAvailable() != nil && spec.GetMinAvailable().GetType() == metav1.IntOrStringString:
		if expected, unmanaged, err = c.expectedScale(pdb, pods); err != nil {
			return 0, 0, nil, err
		}
		minAvailable, err := metav1.GetScaledValueFromIntOrPercent(spec.GetMinAvailable(), int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		desired = int32(minAvailable)
	}
	return expected, desired, unmanaged, nil
}

// expectedScale sums the scale (spec.replicas) of the controllers of pods, each counted
// once; a Deployment's pods count the Deployment, not its ReplicaSets.
func (c *Controller) expectedScale(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (int32, []string, error) {
	scales := map[string]int32{} // controller uid -> scale
	var unmanaged []string
	for _, p := range pods {
		ref := controllerref.Of(p)
		if ref == nil {
			unmanaged = append(unmanaged, p.GetMetadata().GetName())
			continue
		}
		if _, ok := scales[ref.GetUid()]; ok {
			continue
		}
		uid, scale, ok := c.findController(ref, p.GetMetadata().GetNamespace())
		if !ok {
			err := fmt.Errorf("found no controllers for pod %q", p.GetMetadata().GetName())
			c.event(pdb, events.Warning, "NoControllers", "%v", err)
			return 0, nil, err
		}
		scales[uid] = scale
	}
	var total int32
	for _, s := range scales {
		total += s
	}
	return total, unmanaged, nil
}

// findController is upstream's finders in turn: a ReplicaSet not owned by a Deployment,
// the Deployment owning a pod's ReplicaSet, a ReplicationController. (kube5 serves no
// StatefulSet, and no scale subresource of custom resources.) It returns the uid and
// scale of the controller that sizes the pod's set.
func (c *Controller) findController(ref *metav1.OwnerReference, ns string) (uid string, scale int32, ok bool) {
	switch {
	case isGroupKind(ref, "ReplicaSet", "apps", "extensions"):
		rs, found := c.rss.Lister().Get(ns, ref.GetName())
		if !found || rs.GetMetadata().GetUid() != ref.GetUid() {
			return "", 0, false
		}
		owner := controllerref.Of(rs)
		if owner == nil || owner.GetKind() != "Deployment" {
			return rs.GetMetadata().GetUid(), rs.GetSpec().GetReplicas(), true
		}
		if !isGroupKind(owner, "Deployment", "apps", "extensions") {
			return "", 0, false
		}
		d, found := c.deploys.Lister().Get(ns, owner.GetName())
		if !found || d.GetMetadata().GetUid() != owner.GetUid() {
			return "", 0, false
		}
		return d.GetMetadata().GetUid(), d.GetSpec().GetReplicas(), true
	case isGroupKind(ref, "ReplicationController", ""):
		rc, found := c.rcs.Lister().Get(ns, ref.GetName())
		if !found || rc.GetMetadata().GetUid() != ref.GetUid() {
			return "", 0, false
		}
		return rc.GetMetadata().GetUid(), rc.GetSpec().GetReplicas(), true
	}
	return "", 0, false
}

// isGroupKind reports whether ref names kind in one of groups (by its apiVersion).
func isGroupKind(ref *metav1.OwnerReference, kind string, groups ...string) bool {
	if ref.GetKind() != kind {
		return false
	}
	group := ""
	if g, _, ok := strings.Cut(ref.GetApiVersion(), "/"); ok {
		group = g
	}
	for _, g := range groups {
		if g == group {
			return true
		}
	}
	return false
}

// disruptedPodMap is upstream's buildDisruptedPodMap: it keeps the evictions whose pod
// still exists, is not being deleted, and was evicted less than DeletionTimeout ago; it
// returns when the earliest kept one expires (nil: none kept). A pod that outlived its
// entry gets a NotDeleted warning.
func (c *Controller) disruptedPodMap(pods []*corev1.Pod, pdb *policyv1.PodDisruptionBudget, now time.Time) (map[string]*metav1.Time, *time.Time) {
	recorded := pdb.GetStatus().GetDisruptedPods()
	out := map[string]*metav1.Time{}
	var recheck *time.Time
	if len(recorded) == 0 {
		return out, nil
	}
	for _, p := range pods {
		if p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		at, ok := recorded[p.GetMetadata().GetName()]
		if !ok {
			continue
		}
		expires := at.AsTime().Add(DeletionTimeout)
		if expires.Before(now) {
			klog.V(1).InfoS("Pod was expected to be deleted but it wasn't, updating PDB", "pod", p.GetMetadata().GetName(), "podDisruptionBudget", pdb.GetMetadata().GetName())
			if c.recorder != nil {
				c.recorder.Eventf(p, events.Warning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't",
					pdb.GetMetadata().GetNamespace(), pdb.GetMetadata().GetName())
			}
			continue
		}
		if recheck == nil || expires.Before(*recheck) {
			recheck = &expires
		}
		out[p.GetMetadata().GetName()] = at
	}
	return out, recheck
}

// countHealthy counts the pods that are Ready, not being deleted, and not recently
// evicted (in disrupted and younger than DeletionTimeout).
func countHealthy(pods []*corev1.Pod, disrupted map[string]*metav1.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		if at, ok := disrupted[p.GetMetadata().GetName()]; ok && at.AsTime().Add(DeletionTimeout).After(now) {
			continue
		}
		if podReady(p) {
			n++
		}
	}
	return n
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

// updateDisruptionAllowedCondition is upstream's UpdateDisruptionAllowedCondition.
func updateDisruptionAllowedCondition(st *policyv1.PodDisruptionBudgetStatus, now time.Time) {
	cond := &policyv1.Condition{Type: ConditionDisruptionAllowed, Status: "False", Reason: ReasonInsufficientPods, ObservedGeneration: st.ObservedGeneration}
	if st.DisruptionsAllowed > 0 {
		cond.Status, cond.Reason = "True", ReasonSufficientPods
	}
	setCondition(st, cond, now)
}

// setCondition is upstream's meta.SetStatusCondition: it adds or replaces the condition
// of cond's type, keeping lastTransitionTime while the status stays the same.
func setCondition(st *policyv1.PodDisruptionBudgetStatus, cond *policyv1.Condition, now time.Time) {
	for _, old := range st.Conditions {
		if old.GetType() != cond.GetType() {
			continue
		}
		if old.GetStatus() != cond.GetStatus() || old.LastTransitionTime == nil {
			old.Status = cond.GetStatus()
			old.LastTransitionTime = metav1.NewTime(now)
		}
		old.Reason, old.Message, old.ObservedGeneration = cond.GetReason(), cond.GetMessage(), cond.GetObservedGeneration()
		return
	}
	if cond.LastTransitionTime == nil {
		cond.LastTransitionTime = metav1.NewTime(now)
	}
	st.Conditions = append(st.Conditions, cond)
}
