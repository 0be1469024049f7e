package deployment

import (
	"context"

	"k8s.io/klog/v2"

	appsv1 "kube5/proto/api/apps/v1"
	metav1 "kube5/proto/api/meta/v1"
)

func isRollingUpdate(d *appsv1.Deployment) bool {
	return d.GetSpec().GetStrategy().GetType() != RecreateStrategy
}

// resolveFenceposts turns maxSurge and maxUnavailable into numbers for desired replicas:
// surge rounds up, unavailable down, and both zero would deadlock, so unavailable becomes
// 1 then, as upstream.
func resolveFenceposts(d *appsv1.Deployment) (surge, unavailable int32) {
	ru := d.GetSpec().GetStrategy().GetRollingUpdate()
	ms, mu := ru.GetMaxSurge(), ru.GetMaxUnavailable()
	if ms == nil {
		ms = metav1.FromString("25%")
	}
	if mu == nil {
		mu = metav1.FromString("25%")
	}
	desired := int(dReplicas(d))
	s, err := metav1.GetScaledValueFromIntOrPercent(ms, desired, true)
	if err != nil {
		s = 0
	}
	u, err := metav1.GetScaledValueFromIntOrPercent(mu, desired, false)
	if err != nil {
		u = 0
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u)
}

func maxSurge(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) {
		return 0
	}
	s, _ := resolveFenceposts(d)
	return s
}

func maxUnavailable(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) || dReplicas(d) == 0 {
		return 0
	}
	_, u := resolveFenceposts(d)
	return min(u, dReplicas(d))
}

// newRSNewReplicas is the size the new ReplicaSet may grow to now.
func newRSNewReplicas(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (int32, error) {
	if !isRollingUpdate(d) {
		return dReplicas(d), nil
	}
	current := podReplicaCount(allRSs) // with newRS == nil (creating it), the old ones
	maxTotal := dReplicas(d) + maxSurge(d)
	if current >= maxTotal {
		return rsReplicas(newRS), nil
	}
	scaleUp := min(maxTotal-current, dReplicas(d)-rsReplicas(newRS))
	return rsReplicas(newRS) + max(scaleUp, 0), nil
}

// rolloutRolling advances a RollingUpdate by one step: scale the new ReplicaSet up within
// maxSurge, or the old ones down within maxUnavailable; each step waits for the
// ReplicaSets' status (an event) before the next.
func (c *Controller) rolloutRolling(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.newAndOldReplicaSets(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	allRSs := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledUp, err := c.reconcileNewReplicaSet(ctx, allRSs, newRS, d)
	if err != nil {
		return err
	}
	if scaledUp {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	scaledDown, err := c.reconcileOldReplicaSets(ctx, allRSs, activeReplicaSets(oldRSs), newRS, d)
	if err != nil {
		return err
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if deploymentComplete(d, d.GetStatus()) {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, allRSs, newRS, d)
}

func (c *Controller) reconcileNewReplicaSet(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	if rsReplicas(newRS) == dReplicas(d) {
		return false, nil
	}
	if rsReplicas(newRS) > dReplicas(d) {
		scaled, _, err := c.scaleReplicaSet(ctx, newRS, dReplicas(d), d)
		return scaled, err
	}
	n, err := newRSNewReplicas(d, allRSs, newRS)
	if err != nil {
		return false, err
	}
	scaled, _, err := c.scaleReplicaSet(ctx, newRS, n, d)
	return scaled, err
}

// reconcileOldReplicaSets scales old ReplicaSets down as far as availability allows:
// first their unhealthy pods (they count for nothing), then healthy ones down to
// replicas - maxUnavailable available.
func (c *Controller) reconcileOldReplicaSets(ctx context.Context, allRSs, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	oldPods := specReplicaCount(oldRSs)
	if oldPods == 0 {
		return false, nil
	}
	allPods := specReplicaCount(allRSs)
	minAvailable := dReplicas(d) - maxUnavailable(d)
	newRSUnavailable := rsReplicas(newRS) - newRS.GetStatus().GetAvailableReplicas()
	maxScaledDown := allPods - minAvailable - newRSUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	oldRSs, cleaned, err := c.cleanupUnhealthyReplicas(ctx, oldRSs, d, maxScaledDown)
	if err != nil {
		return false, err
	}
	klog.V(4).InfoS("Cleaned up unhealthy replicas from old replica sets", "deployment", d.GetMetadata().GetName(), "count", cleaned)
	allRSs = append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaled, err := c.scaleDownOldReplicaSetsForRollingUpdate(ctx, allRSs, oldRSs, d)
	if err != nil {
		return false, err
	}
	return cleaned+scaled > 0, nil
}

func (c *Controller) cleanupUnhealthyReplicas(ctx context.Context, oldRSs []*appsv1.ReplicaSet, d *appsv1.Deployment, maxCleanup int32) ([]*appsv1.ReplicaSet, int32, error) {
	oldRSs = append([]*appsv1.ReplicaSet(nil), oldRSs...)
	byCreation(oldRSs)
	var total int32
	for i, rs := range oldRSs {
		if total >= maxCleanup {
			break
		}
		if rsReplicas(rs) == 0 || rsReplicas(rs) == rs.GetStatus().GetAvailableReplicas() {
			continue
		}
		n := min(maxCleanup-total, rsReplicas(rs)-rs.GetStatus().GetAvailableReplicas())
		_, updated, err := c.scaleReplicaSet(ctx, rs, rsReplicas(rs)-n, d)
		if err != nil {
			return nil, total, err
		}
		total += n
		oldRSs[i] = updated
	}
	return oldRSs, total, nil
}

func (c *Controller) scaleDownOldReplicaSetsForRollingUpdate(ctx context.Context, allRSs, oldRSs []*appsv1.ReplicaSet, d *appsv1.Deployment) (int32, error) {
	minAvailable := dReplicas(d) - maxUnavailable(d)
	_, _, available := actualReplicaCount(allRSs)
	if available <= minAvailable {
		return 0, nil
	}
	toScale := available - minAvailable
	oldRSs = append([]*appsv1.ReplicaSet(nil), oldRSs...)
	byCreation(oldRSs)
	var total int32
	for _, rs := range oldRSs {
		if total >= toScale {
			break
		}
		if rsReplicas(rs) == 0 {
			continue
		}
		n := min(rsReplicas(rs), toScale-total)
		if _, _, err := c.scaleReplicaSet(ctx, rs, rsReplicas(rs)-n, d); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
