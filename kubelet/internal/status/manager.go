package status

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

// MirrorLookup maps a static pod to its mirror pod in the apiserver (nil: none yet).
type MirrorLookup func(static *corev1.Pod) *corev1.Pod

// Manager sends pod statuses to the apiserver's status subresource, only when they
// changed, and deletes terminated pods. With a nil client (standalone kubelet) it only
// remembers the statuses for the server's /pods.
type Manager struct {
	c      *client.Clientset
	mirror MirrorLookup

	mu   sync.Mutex
	last map[string]*corev1.PodStatus // pod UID -> last status computed
	sent map[string]*corev1.PodStatus // apiserver pod UID -> last status sent
}

// NewManager returns a manager; c may be nil.
func NewManager(c *client.Clientset, mirror MirrorLookup) *Manager {
	return &Manager{c: c, mirror: mirror, last: map[string]*corev1.PodStatus{}, sent: map[string]*corev1.PodStatus{}}
}

// Status returns the last status computed for a pod.
func (m *Manager) Status(uid string) *corev1.PodStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last[uid]
}

// IsStatic says whether a pod came from a manifest file.
func IsStatic(pod *corev1.Pod) bool {
	return pod.GetMetadata().GetAnnotations()["kubernetes.io/config.source"] == "file"
}

// SetStatus sends st when it differs from what the apiserver has.
func (m *Manager) SetStatus(ctx context.Context, pod *corev1.Pod, st *corev1.PodStatus) {
	uid := pod.GetMetadata().GetUid()
	m.mu.Lock()
	m.last[uid] = st
	m.mu.Unlock()
	if m.c == nil {
		return
	}
	target := pod
	if IsStatic(pod) {
		if m.mirror == nil {
			return
		}
		if target = m.mirror(pod); target == nil {
			return
		}
	}
	tuid := target.GetMetadata().GetUid()
	m.mu.Lock()
	// The pod object may predate our last update (its watch event is on its way), so a
	// status equal to the last one sent is not sent again either.
	same := proto.Equal(st, target.GetStatus()) || proto.Equal(st, m.sent[tuid])
	if !same {
		m.sent[tuid] = st
	}
	m.mu.Unlock()
	if same {
		return
	}
	if err := m.send(ctx, target, st); err != nil {
		m.mu.Lock()
		delete(m.sent, tuid) // retry on the next sync
		m.mu.Unlock()
		if ctx.Err() == nil && !apierrors.IsNotFound(err) {
			client.LogRetryFailure(err, "Updating pod status failed; retrying on the next sync", "pod", klog.KObj(target.GetMetadata()))
		}
	}
}

func (m *Manager) send(ctx context.Context, pod *corev1.Pod, st *corev1.PodStatus) error {
	upd := &corev1.Pod{Metadata: proto.Clone(pod.GetMetadata()).(*metav1.ObjectMeta), Spec: pod.GetSpec(), Status: st}
	// No resourceVersion: the kubelet owns the status, so the update is unconditional.
	upd.Metadata.ResourceVersion = ""
	_, err := m.c.Pods(pod.GetMetadata().GetNamespace()).UpdateStatus(ctx, upd)
	if err == nil {
		klog.V(3).InfoS("Pod status updated", "pod", klog.KObj(pod.GetMetadata()), "phase", st.GetPhase())
	}
	return err
}

// Terminated deletes a pod whose containers all stopped (grace 0, for this UID only). It
// returns an error only when the pod may still be there (the apiserver could not be
// reached, or refused): the caller retries. A pod already gone, or replaced by a new pod
// of the same name (the UID precondition fails), is done.
func (m *Manager) Terminated(ctx context.Context, pod *corev1.Pod) error {
	uid := pod.GetMetadata().GetUid()
	m.mu.Lock()
	delete(m.last, uid)
	delete(m.sent, uid)
	m.mu.Unlock()
	if m.c == nil || IsStatic(pod) {
		return nil
	}
	var zero int64
	err := m.c.Pods(pod.GetMetadata().GetNamespace()).Delete(ctx, pod.GetMetadata().GetName(),
		&metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{Uid: &uid}})
	switch {
	case err == nil:
		klog.V(2).InfoS("Pod deleted after its containers stopped", "pod", klog.KObj(pod.GetMetadata()))
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		klog.V(2).InfoS("Pod already gone after its containers stopped", "pod", klog.KObj(pod.GetMetadata()), "err", err)
	case ctx.Err() != nil:
		return err
	default:
		client.LogRetryFailure(err, "Deleting terminated pod failed; will retry", "pod", klog.KObj(pod.GetMetadata()))
		return err
	}
	return nil
}
