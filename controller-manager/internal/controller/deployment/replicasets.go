package deployment

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/events"

	"kube5/controller-manager/internal/controller/controllerref"
)

// Upstream's annotation, label and strategy names.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	// PodTemplateHashLabel tells the ReplicaSets (and pods) of one Deployment apart.
	PodTemplateHashLabel = "pod-template-hash"

	RecreateStrategy      = "Recreate"
	RollingUpdateStrategy = "RollingUpdate"
)

// annotationsNotCopied are the Deployment annotations a ReplicaSet does not inherit.
var annotationsNotCopied = map[string]bool{
	"kubectl.kubernetes.io/last-applied-configuration": true,
	RevisionAnnotation:                  true,
	RevisionHistoryAnnotation:           true,
	DesiredReplicasAnnotation:           true,
	MaxReplicasAnnotation:               true,
	"deprecated.deployment.rollback.to": true,
}

var errGone = errors.New("the deployment is gone or being deleted")

// safeAlphabet has no vowels (no words) and no look-alikes, as upstream's
// rand.SafeEncodeString.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// ComputeHash is the pod-template-hash of a template: fnv32a of its deterministic proto
// encoding (plus the collision count, to step around a name collision), printed in
// safeAlphabet as upstream prints its hash. Equal templates hash equal in every
// controller-manager built from the same API.
func ComputeHash(t *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(t)
	h.Write(b)
	if collisionCount != nil {
		var buf [4]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*collisionCount))
		h.Write(buf[:])
	}
	s := []byte(strconv.FormatUint(uint64(h.Sum32()), 10))
	for i, c := range s {
		s[i] = safeAlphabet[int(c)%len(safeAlphabet)]
	}
	return string(s)
}

// EqualIgnoreHash compares two templates ignoring the pod-template-hash label.
func EqualIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = proto.Clone(a).(*corev1.PodTemplateSpec), proto.Clone(b).(*corev1.PodTemplateSpec)
	for _, t := range []*corev1.PodTemplateSpec{a, b} {
		if t.GetMetadata() != nil {
			delete(t.Metadata.Labels, PodTemplateHashLabel)
			if len(t.Metadata.Labels) == 0 {
				t.Metadata.Labels = nil
			}
		}
	}
	return proto.Equal(a, b)
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func rsReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return replicas(rs.GetSpec().Replicas)
}

func dReplicas(d *appsv1.Deployment) int32 { return replicas(d.GetSpec().Replicas) }

// revision reads a ReplicaSet's revision annotation (0 when absent or invalid).
func revision(obj interface{ GetMetadata() *metav1.ObjectMeta }) int64 {
	v, err := strconv.ParseInt(obj.GetMetadata().GetAnnotations()[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func maxRevision(rss []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		m = max(m, revision(rs))
	}
	return m
}

// byCreation sorts oldest first, by name on a tie.
func byCreation(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		a, b := rss[i].GetMetadata(), rss[j].GetMetadata()
		ta, tb := a.GetCreationTimestamp().AsTime(), b.GetCreationTimestamp().AsTime()
		if ta.Equal(tb) {
			return a.GetName() < b.GetName()
		}
		return ta.Before(tb)
	})
}

// findNewReplicaSet returns the oldest ReplicaSet whose template is the Deployment's.
func findNewReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := append([]*appsv1.ReplicaSet(nil), rsList...)
	byCreation(sorted)
	for _, rs := range sorted {
		if EqualIgnoreHash(rs.GetSpec().GetTemplate(), d.GetSpec().GetTemplate()) {
			return rs
		}
	}
	return nil
}

// findOldReplicaSets returns every ReplicaSet but the new one.
func findOldReplicaSets(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	newRS := findNewReplicaSet(d, rsList)
	var old []*appsv1.ReplicaSet
	for _, rs := range rsList {
		if newRS == nil || rs.GetMetadata().GetUid() != newRS.GetMetadata().GetUid() {
			old = append(old, rs)
		}
	}
	return old
}

// activeReplicaSets keeps those with replicas > 0.
func activeReplicaSets(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs != nil && rsReplicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// specReplicaCount sums spec.replicas; podReplicaCount sums max(spec, status) so that a
// scaled-down ReplicaSet whose pods are not all gone yet still counts them: this keeps the
// number of pods, not only the sum of specs, within replicas+maxSurge (upstream counts
// specs only, and briefly exceeds it while old pods are being deleted).
func specReplicaCount(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rsReplicas(rs)
	}
	return n
}

func podReplicaCount(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += max(rsReplicas(rs), rs.GetStatus().GetReplicas())
		}
	}
	return n
}

func actualReplicaCount(rss []*appsv1.ReplicaSet) (replicas, ready, available int32) {
	for _, rs := range rss {
		if rs != nil {
			replicas += rs.GetStatus().GetReplicas()
			ready += rs.GetStatus().GetReadyReplicas()
			available += rs.GetStatus().GetAvailableReplicas()
		}
	}
	return
}

// setReplicaSetAnnotations gives a new (or newly current) ReplicaSet the Deployment's
// annotations and the revision; it reports whether anything changed.
func setReplicaSetAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision string) bool {
	md := rs.GetMetadata()
	if md.Annotations == nil {
		md.Annotations = map[string]string{}
	}
	changed := false
	for k, v := range d.GetMetadata().GetAnnotations() {
		if annotationsNotCopied[k] || md.Annotations[k] == v {
			continue
		}
		md.Annotations[k] = v
		changed = true
	}
	oldRev, _ := strconv.ParseInt(md.Annotations[RevisionAnnotation], 10, 64)
	newRev, _ := strconv.ParseInt(newRevision, 10, 64)
	if md.Annotations[RevisionAnnotation] == "" || oldRev < newRev {
		md.Annotations[RevisionAnnotation] = newRevision
		changed = true
		klog.V(4).InfoS("Updating replica set revision", "replicaSet", md.GetName(), "revision", newRevision)
	}
	return changed
}

// setReplicasAnnotations records the Deployment size a ReplicaSet was scaled for, which
// proportional scaling reads later.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desired, maxReplicas int32) bool {
	md := rs.GetMetadata()
	if md.Annotations == nil {
		md.Annotations = map[string]string{}
	}
	d, m := strconv.Itoa(int(desired)), strconv.Itoa(int(maxReplicas))
	if md.Annotations[DesiredReplicasAnnotation] == d && md.Annotations[MaxReplicasAnnotation] == m {
		return false
	}
	md.Annotations[DesiredReplicasAnnotation] = d
	md.Annotations[MaxReplicasAnnotation] = m
	return true
}

func intAnnotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.GetMetadata().GetAnnotations()[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// replaceDeployment makes d the object the apiserver returned, in place, so callers
// holding d see the new state.
func replaceDeployment(d, updated *appsv1.Deployment) {
	proto.Reset(d)
	proto.Merge(d, updated)
}

// newAndOldReplicaSets finds the new ReplicaSet (creating it when create is set) and the
// old ones, and brings the revision annotations of both up to date.
func (c *Controller) newAndOldReplicaSets(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	oldRSs := findOldReplicaSets(d, rsList)
	newRS, err := c.getNewReplicaSet(ctx, d, rsList, oldRSs, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, oldRSs, nil
}

func (c *Controller) getNewReplicaSet(ctx context.Context, d *appsv1.Deployment, rsList, oldRSs []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	existing := findNewReplicaSet(d, rsList)
	newRevision := strconv.FormatInt(maxRevision(oldRSs)+1, 10)
	ns := d.GetMetadata().GetNamespace()
	if existing != nil {
		rs := proto.Clone(existing).(*appsv1.ReplicaSet)
		changed := setReplicaSetAnnotations(d, rs, newRevision)
		if rs.Spec.MinReadySeconds != d.GetSpec().GetMinReadySeconds() {
			rs.Spec.MinReadySeconds = d.GetSpec().GetMinReadySeconds()
			changed = true
		}
		if changed {
			// The next sync (on this update's event) continues; returning the written
			// object keeps this one consistent.
			return c.cs.ReplicaSets(ns).Update(ctx, rs)
		}
		if err := c.setDeploymentRevision(ctx, d, rs.GetMetadata().GetAnnotations()[RevisionAnnotation]); err != nil {
			return nil, err
		}
		if hasProgressDeadline(d) && getCondition(d.GetStatus(), ProgressingCondition) == nil {
			st := statusOf(d)
			setCondition(st, newCondition(ProgressingCondition, "True", FoundNewRSReason, fmt.Sprintf("Found new replica set %q", rs.GetMetadata().GetName()), c.now()))
			if err := c.writeStatus(ctx, d, st); err != nil {
				return nil, err
			}
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}
	tmpl := proto.Clone(d.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
	hash := ComputeHash(d.GetSpec().GetTemplate(), d.GetStatus().CollisionCount)
	if tmpl.Metadata == nil {
		tmpl.Metadata = &metav1.ObjectMeta{}
	}
	tmpl.Metadata.Labels = maps.Clone(tmpl.Metadata.Labels)
	if tmpl.Metadata.Labels == nil {
		tmpl.Metadata.Labels = map[string]string{}
	}
	tmpl.Metadata.Labels[PodTemplateHashLabel] = hash
	sel := proto.Clone(d.GetSpec().GetSelector()).(*metav1.LabelSelector)
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[PodTemplateHashLabel] = hash
	name := d.GetMetadata().GetName() + "-" + hash
	newReplicas, err := newRSNewReplicas(d, oldRSs, nil)
	if err != nil {
		return nil, err
	}
	rs := &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{
			Name: name, Namespace: ns,
			Labels:          maps.Clone(tmpl.Metadata.Labels),
			OwnerReferences: []*metav1.OwnerReference{controllerref.New(d, "apps/v1", "Deployment")},
		},
		Spec: &appsv1.ReplicaSetSpec{
			Replicas:        proto.Int32(newReplicas),
			MinReadySeconds: d.GetSpec().GetMinReadySeconds(),
			Selector:        sel,
			Template:        tmpl,
		},
	}
	setReplicaSetAnnotations(d, rs, newRevision)
	setReplicasAnnotations(rs, dReplicas(d), dReplicas(d)+maxSurge(d))
	created, err := c.cs.ReplicaSets(ns).Create(ctx, rs)
	switch {
	case apierrors.IsAlreadyExists(err):
		// Ours already (the cache had not seen it), or a hash collision with someone else's.
		cur, gerr := c.cs.ReplicaSets(ns).Get(ctx, name)
		if gerr != nil {
			return nil, gerr
		}
		if ref := controllerref.Of(cur); ref != nil && ref.GetUid() == d.GetMetadata().GetUid() &&
			EqualIgnoreHash(cur.GetSpec().GetTemplate(), d.GetSpec().GetTemplate()) {
			return cur, nil
		}
		st := statusOf(d)
		st.CollisionCount = proto.Int32(d.GetStatus().GetCollisionCount() + 1)
		klog.InfoS("Hash collision; bumping collisionCount", "deployment", ns+"/"+d.GetMetadata().GetName(), "replicaSet", name)
		if werr := c.writeStatus(ctx, d, st); werr != nil {
			return nil, werr
		}
		return nil, fmt.Errorf("replica set %s exists and is not this deployment's; retrying with collisionCount %d", name, st.GetCollisionCount())
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", name, err)
		c.rec.Eventf(d, events.Warning, FailedRSCreateReason, "%s", msg)
		if hasProgressDeadline(d) {
			st := statusOf(d)
			setCondition(st, newCondition(ProgressingCondition, "False", FailedRSCreateReason, msg, c.now()))
			_ = c.writeStatus(ctx, d, st)
		}
		return nil, err
	}
	if newReplicas > 0 {
		c.rec.Eventf(d, events.Normal, "ScalingReplicaSet", "Scaled up replica set %s to %d", name, newReplicas)
	}
	if err := c.setDeploymentRevision(ctx, d, newRevision); err != nil {
		return nil, err
	}
	if hasProgressDeadline(d) {
		st := statusOf(d)
		setCondition(st, newCondition(ProgressingCondition, "True", NewRSReason, fmt.Sprintf("Created new replica set %q", name), c.now()))
		if err := c.writeStatus(ctx, d, st); err != nil {
			return nil, err
		}
	}
	return created, nil
}

// setDeploymentRevision writes the revision annotation on the Deployment when it
// changed. It goes through the main resource: the status subresource keeps metadata.
func (c *Controller) setDeploymentRevision(ctx context.Context, d *appsv1.Deployment, rev string) error {
	if rev == "" || d.GetMetadata().GetAnnotations()[RevisionAnnotation] == rev {
		return nil
	}
	cp := proto.Clone(d).(*appsv1.Deployment)
	if cp.Metadata.Annotations == nil {
		cp.Metadata.Annotations = map[string]string{}
	}
	cp.Metadata.Annotations[RevisionAnnotation] = rev
	updated, err := c.cs.Deployments(d.GetMetadata().GetNamespace()).Update(ctx, cp)
	if err != nil {
		return err
	}
	replaceDeployment(d, updated)
	return nil
}

// scaleReplicaSet sets a ReplicaSet's replicas (and the size annotations), with the
// ScalingReplicaSet event; it returns the updated object.
func (c *Controller) scaleReplicaSet(ctx context.Context, rs *appsv1.ReplicaSet, newScale int32, d *appsv1.Deployment) (bool, *appsv1.ReplicaSet, error) {
	sizeChanged := rsReplicas(rs) != newScale
	cp := proto.Clone(rs).(*appsv1.ReplicaSet)
	annotationsChanged := setReplicasAnnotations(cp, dReplicas(d), dReplicas(d)+maxSurge(d))
	if !sizeChanged && !annotationsChanged {
		return false, rs, nil
	}
	cp.Spec.Replicas = proto.Int32(newScale)
	updated, err := c.cs.ReplicaSets(cp.GetMetadata().GetNamespace()).Update(ctx, cp)
	if err != nil {
		return false, nil, err
	}
	if sizeChanged {
		dir := "up"
		if newScale < rsReplicas(rs) {
			dir = "down"
		}
		c.rec.Eventf(d, events.Normal, "ScalingReplicaSet", "Scaled %s replica set %s to %d", dir, rs.GetMetadata().GetName(), newScale)
	}
	return sizeChanged, updated, nil
}
