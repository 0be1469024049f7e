package deployment

import (
	"context"
	"math"
	"sort"

	"k8s.io/klog/v2"

	appsv1 "kube5/proto/api/apps/v1"
)

// syncScale handles a paused Deployment and a change of replicas: it resizes the
// ReplicaSets (proportionally during a rollout) without advancing the rollout.
func (c *Controller) syncScale(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.newAndOldReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	if err := c.scale(ctx, d, newRS, oldRSs); err != nil {
		return err
	}
	if d.GetSpec().GetPaused() {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncDeploymentStatus(ctx, append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS), newRS, d)
}

// isScalingEvent reports whether replicas changed since the active ReplicaSets were last
// sized (their desired-replicas annotation).
func (c *Controller) isScalingEvent(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (bool, error) {
	newRS, oldRSs, err := c.newAndOldReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return false, err
	}
	for _, rs := range activeReplicaSets(append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)) {
		if desired, ok := intAnnotation(rs, DesiredReplicasAnnotation); ok && desired != dReplicas(d) {
			return true, nil
		}
	}
	return false, nil
}

// activeOrLatest returns the one active ReplicaSet, or the newest when none is active,
// or nil when several are active.
func activeOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	sorted := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	byCreation(sorted)
	active := activeReplicaSets(append(append([]*appsv1.ReplicaSet(nil), sorted...), newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return sorted[len(sorted)-1]
	case 1:
		return active[0]
	}
	return nil
}

// isSaturated reports whether the new ReplicaSet alone runs the whole Deployment.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := intAnnotation(rs, DesiredReplicasAnnotation)
	return ok && desired == dReplicas(d) && rsReplicas(rs) == dReplicas(d) && rs.GetStatus().GetAvailableReplicas() == dReplicas(d)
}

// scale sizes the ReplicaSets for the Deployment's replicas. With one active ReplicaSet
// it gets them all; during a rollout the change is spread over the active ReplicaSets in
// proportion to their sizes, as upstream, so a rollout in progress is not disturbed.
func (c *Controller) scale(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) error {
	if rs := activeOrLatest(newRS, oldRSs); rs != nil {
		if rsReplicas(rs) == dReplicas(d) {
			return nil
		}
		_, _, err := c.scaleReplicaSet(ctx, rs, dReplicas(d), d)
		return err
	}
	if isSaturated(d, newRS) {
		for _, old := range activeReplicaSets(oldRSs) {
			if _, _, err := c.scaleReplicaSet(ctx, old, 0, d); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRollingUpdate(d) {
		return nil
	}
	all := activeReplicaSets(append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS))
	allowed := dReplicas(d)
	if allowed > 0 {
		allowed += maxSurge(d)
	}
	toAdd := allowed - specReplicaCount(all)
	switch {
	case toAdd > 0: // largest first, newest first on a tie
		sort.SliceStable(all, func(i, j int) bool {
			if rsReplicas(all[i]) != rsReplicas(all[j]) {
				return rsReplicas(all[i]) > rsReplicas(all[j])
			}
			return all[i].GetMetadata().GetCreationTimestamp().AsTime().After(all[j].GetMetadata().GetCreationTimestamp().AsTime())
		})
	case toAdd < 0: // largest first, oldest first on a tie
		sort.SliceStable(all, func(i, j int) bool {
			if rsReplicas(all[i]) != rsReplicas(all[j]) {
				return rsReplicas(all[i]) > rsReplicas(all[j])
			}
			return all[i].GetMetadata().GetCreationTimestamp().AsTime().Before(all[j].GetMetadata().GetCreationTimestamp().AsTime())
		})
	}
	var added int32
	sizes := make([]int32, len(all))
	for i, rs := range all {
		sizes[i] = rsReplicas(rs)
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	if len(all) > 0 && toAdd != 0 {
		sizes[0] = max(sizes[0]+toAdd-added, 0) // the rounding leftover goes to the largest
	}
	for i, rs := range all {
		if _, _, err := c.scaleReplicaSet(ctx, rs, sizes[i], d); err != nil {
			return err
		}
	}
	klog.V(2).InfoS("Scaled replica sets proportionally", "deployment", d.GetMetadata().GetName(), "added", toAdd)
	return nil
}

// proportion is the share of toAdd a ReplicaSet gets, from the Deployment size it was
// last sized for (its max-replicas annotation).
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if rs == nil || rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	var fraction int32
	if dReplicas(d) == 0 {
		fraction = -rsReplicas(rs)
	} else {
		target := dReplicas(d) + maxSurge(d)
		annotated, ok := intAnnotation(rs, MaxReplicasAnnotation)
		if !ok || annotated == 0 {
			annotated = d.GetStatus().GetReplicas()
		}
		if annotated == 0 {
			annotated = target
		}
		size := float64(rsReplicas(rs)*target) / float64(annotated)
		fraction = int32(math.Round(size)) - rsReplicas(rs)
	}
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// cleanupDeployment deletes the oldest scaled-down ReplicaSets beyond
// revisionHistoryLimit.
func (c *Controller) cleanupDeployment(ctx context.Context, oldRSs []*appsv1.ReplicaSet, d *appsv1.Deployment) error {
	limitPtr := d.GetSpec().RevisionHistoryLimit
	if limitPtr == nil {
		return nil
	}
	var cleanable []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.GetMetadata().GetDeletionTimestamp() == nil {
			cleanable = append(cleanable, rs)
		}
	}
	diff := len(cleanable) - int(*limitPtr)
	if diff <= 0 {
		return nil
	}
	sort.SliceStable(cleanable, func(i, j int) bool {
		ri, rj := revision(cleanable[i]), revision(cleanable[j])
		if ri != rj {
			return ri < rj
		}
		return cleanable[i].GetMetadata().GetCreationTimestamp().AsTime().Before(cleanable[j].GetMetadata().GetCreationTimestamp().AsTime())
	})
	for _, rs := range cleanable[:diff] {
		md := rs.GetMetadata()
		// Only ReplicaSets that run nothing, whose status is current.
		if rs.GetStatus().GetReplicas() != 0 || rsReplicas(rs) != 0 || md.GetGeneration() > rs.GetStatus().GetObservedGeneration() {
			continue
		}
		klog.V(2).InfoS("Deleting old replica set beyond revisionHistoryLimit", "replicaSet", md.GetNamespace()+"/"+md.GetName())
		if err := c.cs.ReplicaSets(md.GetNamespace()).Delete(ctx, md.GetName(), nil); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}
