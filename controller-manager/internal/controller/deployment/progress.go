package deployment

import (
	"context"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	appsv1 "kube5/proto/api/apps/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/informer"
)

// Condition types and reasons, as upstream.
const (
	AvailableCondition      = "Available"
	ProgressingCondition    = "Progressing"
	ReplicaFailureCondition = "ReplicaFailure"

	NewRSReason                = "NewReplicaSetCreated"
	FoundNewRSReason           = "FoundNewReplicaSet"
	NewRSAvailableReason       = "NewReplicaSetAvailable"
	RSUpdatedReason            = "ReplicaSetUpdated"
	TimedOutReason             = "ProgressDeadlineExceeded"
	PausedReason               = "DeploymentPaused"
	ResumedReason              = "DeploymentResumed"
	FailedRSCreateReason       = "ReplicaSetCreateError"
	MinimumReplicasAvailable   = "MinimumReplicasAvailable"
	MinimumReplicasUnavailable = "MinimumReplicasUnavailable"
)

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

func statusOf(d *appsv1.Deployment) *appsv1.DeploymentStatus {
	if d.GetStatus() == nil {
		return &appsv1.DeploymentStatus{}
	}
	return proto.Clone(d.GetStatus()).(*appsv1.DeploymentStatus)
}

func getCondition(st *appsv1.DeploymentStatus, typ string) *appsv1.DeploymentCondition {
	for _, c := range st.GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

func newCondition(typ, status, reason, msg string, now time.Time) *appsv1.DeploymentCondition {
	t := metav1.NewTime(now)
	return &appsv1.DeploymentCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastUpdateTime: t, LastTransitionTime: t}
}

// setCondition replaces the condition of c's type, keeping lastTransitionTime when the
// status does not change, and leaves it alone when only the update time would change.
func setCondition(st *appsv1.DeploymentStatus, c *appsv1.DeploymentCondition) {
	cur := getCondition(st, c.GetType())
	if cur != nil && cur.GetStatus() == c.GetStatus() && cur.GetReason() == c.GetReason() {
		return
	}
	if cur != nil && cur.GetStatus() == c.GetStatus() {
		c.LastTransitionTime = cur.GetLastTransitionTime()
	}
	removeCondition(st, c.GetType())
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *appsv1.DeploymentStatus, typ string) {
	kept := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.GetType() != typ {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
}

func hasProgressDeadline(d *appsv1.Deployment) bool {
	p := d.GetSpec().ProgressDeadlineSeconds
	return p != nil && *p != math.MaxInt32
}

// deploymentComplete: every replica is updated and available, and the status is of the
// current generation.
func deploymentComplete(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	return st.GetUpdatedReplicas() == dReplicas(d) && st.GetReplicas() == dReplicas(d) &&
		st.GetAvailableReplicas() == dReplicas(d) && st.GetObservedGeneration() >= d.GetMetadata().GetGeneration()
}

// deploymentProgressing: the new status moved the rollout forward from the stored one.
func deploymentProgressing(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	old := d.GetStatus()
	oldOld := old.GetReplicas() - old.GetUpdatedReplicas()
	newOld := st.GetReplicas() - st.GetUpdatedReplicas()
	return st.GetUpdatedReplicas() > old.GetUpdatedReplicas() || newOld < oldOld ||
		st.GetReadyReplicas() > old.GetReadyReplicas() || st.GetAvailableReplicas() > old.GetAvailableReplicas()
}

// deploymentTimedOut: no progress for progressDeadlineSeconds since the Progressing
// condition was last updated.
func deploymentTimedOut(d *appsv1.Deployment, st *appsv1.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	c := getCondition(st, ProgressingCondition)
	if c == nil || c.GetReason() == NewRSAvailableReason {
		return false
	}
	if c.GetReason() == TimedOutReason {
		return true
	}
	deadline := c.GetLastUpdateTime().AsTime().Add(time.Duration(*d.GetSpec().ProgressDeadlineSeconds) * time.Second)
	return deadline.Before(now)
}

// calculateStatus computes the Deployment's status from its ReplicaSets.
func (c *Controller) calculateStatus(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) *appsv1.DeploymentStatus {
	replicas, ready, available := actualReplicaCount(allRSs)
	updated, _, _ := actualReplicaCount([]*appsv1.ReplicaSet{newRS})
	st := statusOf(d)
	st.ObservedGeneration = d.GetMetadata().GetGeneration()
	st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas = replicas, updated, ready, available
	st.UnavailableReplicas = max(specReplicaCount(allRSs)-available, 0)
	if available >= dReplicas(d)-maxUnavailable(d) {
		setCondition(st, newCondition(AvailableCondition, "True", MinimumReplicasAvailable, "Deployment has minimum availability.", c.now()))
	} else {
		setCondition(st, newCondition(AvailableCondition, "False", MinimumReplicasUnavailable, "Deployment does not have minimum availability.", c.now()))
	}
	return st
}

// syncDeploymentStatus writes the status computed from the ReplicaSets (scaling, paused).
func (c *Controller) syncDeploymentStatus(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) error {
	return c.writeStatus(ctx, d, c.calculateStatus(allRSs, newRS, d))
}

// syncStatusOnly is the sync of a Deployment being deleted.
func (c *Controller) syncStatusOnly(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.newAndOldReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	return c.syncDeploymentStatus(ctx, append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS), newRS, d)
}

// syncRolloutStatus writes the status with the Progressing condition of the rollout, and
// schedules a re-check at the progress deadline.
func (c *Controller) syncRolloutStatus(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) error {
	st := c.calculateStatus(allRSs, newRS, d)
	now := c.now()
	if !hasProgressDeadline(d) {
		removeCondition(st, ProgressingCondition)
	}
	cur := getCondition(st, ProgressingCondition)
	complete := st.GetReplicas() == st.GetUpdatedReplicas() && cur != nil && cur.GetReason() == NewRSAvailableReason
	if hasProgressDeadline(d) && !complete {
		// Messages name the new ReplicaSet, or the Deployment before it exists (Recreate
		// waiting for old pods to go).
		subject := fmt.Sprintf("Deployment %q", d.GetMetadata().GetName())
		if newRS != nil {
			subject = fmt.Sprintf("ReplicaSet %q", newRS.GetMetadata().GetName())
		}
		switch {
		case deploymentComplete(d, st):
			setCondition(st, newCondition(ProgressingCondition, "True", NewRSAvailableReason, subject+" has successfully progressed.", now))
		case deploymentProgressing(d, st):
			c := newCondition(ProgressingCondition, "True", RSUpdatedReason, subject+" is progressing.", now)
			// Progress refreshes lastUpdateTime even when the reason stays: that restarts
			// the deadline.
			if cur != nil && cur.GetStatus() == "True" {
				c.LastTransitionTime = cur.GetLastTransitionTime()
			}
			removeCondition(st, ProgressingCondition)
			st.Conditions = append(st.Conditions, c)
		case deploymentTimedOut(d, st, now):
			setCondition(st, newCondition(ProgressingCondition, "False", TimedOutReason, subject+" has timed out progressing.", now))
		}
	}
	// Surface a ReplicaSet's ReplicaFailure (pods it cannot create) on the Deployment, the
	// new ReplicaSet's first.
	removeCondition(st, ReplicaFailureCondition)
	for _, rs := range append([]*appsv1.ReplicaSet{newRS}, allRSs...) {
		if f := replicaFailure(rs); f != nil {
			cur := getCondition(d.GetStatus(), ReplicaFailureCondition)
			if cur != nil && cur.GetReason() == f.GetReason() && cur.GetMessage() == f.GetMessage() {
				f = cur // unchanged: keep its times
			}
			st.Conditions = append(st.Conditions, f)
			break
		}
	}
	if proto.Equal(d.GetStatus(), st) {
		c.requeueStuck(d, st)
		return nil
	}
	return c.writeStatus(ctx, d, st)
}

// requeueStuck re-checks an unfinished rollout when its progress deadline passes: nothing
// else would wake it then.
func (c *Controller) requeueStuck(d *appsv1.Deployment, st *appsv1.DeploymentStatus) {
	cur := getCondition(st, ProgressingCondition)
	if cur == nil || cur.GetReason() == TimedOutReason || deploymentComplete(d, st) || !hasProgressDeadline(d) {
		return
	}
	after := cur.GetLastUpdateTime().AsTime().Add(time.Duration(*d.GetSpec().ProgressDeadlineSeconds) * time.Second).Sub(c.now())
	key := informer.Key(d)
	if after < time.Second {
		c.queue.AddAfter(key, time.Second)
		return
	}
	klog.V(4).InfoS("Re-checking the progress deadline later", "deployment", key, "after", after)
	c.queue.AddAfter(key, after+time.Second)
}

// checkPausedConditions keeps the Progressing condition telling whether the Deployment
// is paused (the deadline does not run while paused).
func (c *Controller) checkPausedConditions(ctx context.Context, d *appsv1.Deployment) error {
	if !hasProgressDeadline(d) {
		return nil
	}
	cur := getCondition(d.GetStatus(), ProgressingCondition)
	if cur != nil && cur.GetReason() == TimedOutReason {
		return nil // a timed-out rollout stays so until it progresses
	}
	paused := cur != nil && cur.GetReason() == PausedReason
	st := statusOf(d)
	switch {
	case d.GetSpec().GetPaused() && !paused:
		setCondition(st, newCondition(ProgressingCondition, "Unknown", PausedReason, "Deployment is paused", c.now()))
	case !d.GetSpec().GetPaused() && paused:
		setCondition(st, newCondition(ProgressingCondition, "Unknown", ResumedReason, "Deployment is resumed", c.now()))
	default:
		return nil
	}
	return c.writeStatus(ctx, d, st)
}

// writeStatus writes st as d's status if it differs, replacing d with the result.
func (c *Controller) writeStatus(ctx context.Context, d *appsv1.Deployment, st *appsv1.DeploymentStatus) error {
	if proto.Equal(d.GetStatus(), st) {
		return nil
	}
	cp := proto.Clone(d).(*appsv1.Deployment)
	cp.Status = st
	updated, err := c.cs.Deployments(d.GetMetadata().GetNamespace()).UpdateStatus(ctx, cp)
	if err != nil {
		return err
	}
	replaceDeployment(d, updated)
	return nil
}

// replicaFailure converts a ReplicaSet's ReplicaFailure condition for the Deployment.
func replicaFailure(rs *appsv1.ReplicaSet) *appsv1.DeploymentCondition {
	for _, c := range rs.GetStatus().GetConditions() {
		if c.GetType() == ReplicaFailureCondition && c.GetStatus() == "True" {
			return &appsv1.DeploymentCondition{Type: ReplicaFailureCondition, Status: "True", Reason: c.GetReason(),
				Message: c.GetMessage(), LastUpdateTime: c.GetLastTransitionTime(), LastTransitionTime: c.GetLastTransitionTime()}
		}
	}
	return nil
}
