package deployment

import (
	"context"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
)

// rolloutRecreate scales every old ReplicaSet to zero, waits until no old pod runs, then
// creates (or scales up) the new one.
func (c *Controller) rolloutRecreate(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, podMap map[string][]*corev1.Pod) error {
	newRS, oldRSs, err := c.newAndOldReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	allRSs := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledDown := false
	for _, rs := range activeReplicaSets(oldRSs) {
		scaled, _, err := c.scaleReplicaSet(ctx, rs, 0, d)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if oldPodsRunning(newRS, oldRSs, podMap) {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if newRS == nil {
		if newRS, oldRSs, err = c.newAndOldReplicaSets(ctx, d, rsList, true); err != nil {
			return err
		}
		allRSs = append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	}
	if _, _, err := c.scaleReplicaSet(ctx, newRS, dReplicas(d), d); err != nil {
		return err
	}
	if deploymentComplete(d, d.GetStatus()) {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, allRSs, newRS, d)
}

// oldPodsRunning reports whether any pod of an old ReplicaSet may still run.
func oldPodsRunning(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, podMap map[string][]*corev1.Pod) bool {
	if n, _, _ := actualReplicaCount(oldRSs); n > 0 {
		return true
	}
	for uid, pods := range podMap {
		if newRS != nil && newRS.GetMetadata().GetUid() == uid {
			continue
		}
		for _, p := range pods {
			switch p.GetStatus().GetPhase() {
			case "Failed", "Succeeded":
				continue
			default:
				return true
			}
		}
	}
	return false
}
