package config

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

// Mirrors keeps a mirror pod in the apiserver for every static pod, so `kubectl get pods`
// shows them: created when missing (or deleted by a user), replaced when the static pod
// changed, deleted when it is gone.
type Mirrors struct {
	c *client.Clientset

	mu      sync.Mutex
	static  map[string]*corev1.Pod // ns/name -> static pod
	mirrors map[string]*corev1.Pod // ns/name -> mirror pod as last seen
	kick    chan struct{}
}

// NewMirrors returns a mirror manager.
func NewMirrors(c *client.Clientset) *Mirrors {
	return &Mirrors{c: c, static: map[string]*corev1.Pod{}, mirrors: map[string]*corev1.Pod{}, kick: make(chan struct{}, 1)}
}

func key(p *corev1.Pod) string {
	return p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
}

// SetStatic records the current static pods (FileSource.OnChange).
func (m *Mirrors) SetStatic(pods []*corev1.Pod) {
	m.mu.Lock()
	m.static = map[string]*corev1.Pod{}
	for _, p := range pods {
		m.static[key(p)] = p
	}
	m.mu.Unlock()
	m.poke()
}

func (m *Mirrors) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Mirrors) seen(p *corev1.Pod) {
	m.mu.Lock()
	m.mirrors[key(p)] = p
	m.mu.Unlock()
	m.poke()
}

func (m *Mirrors) deleted(p *corev1.Pod) {
	m.mu.Lock()
	if cur, ok := m.mirrors[key(p)]; ok && cur.GetMetadata().GetUid() == p.GetMetadata().GetUid() {
		delete(m.mirrors, key(p))
	}
	m.mu.Unlock()
	m.poke()
}

// Mirror returns the mirror pod of a static pod, when it exists and is current.
func (m *Mirrors) Mirror(static *corev1.Pod) *corev1.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	mp := m.mirrors[key(static)]
	if mp == nil || mp.GetMetadata().GetAnnotations()[AnnotationMirror] != static.GetMetadata().GetUid() {
		return nil
	}
	return mp
}

// Run reconciles mirror pods until ctx ends (on every change, and every 10s).
func (m *Mirrors) Run(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		m.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		case <-t.C:
		}
	}
}

func (m *Mirrors) reconcile(ctx context.Context) {
	m.mu.Lock()
	var create []*corev1.Pod
	var del []*corev1.Pod
	for k, s := range m.static {
		mp := m.mirrors[k]
		switch {
		case mp == nil:
			create = append(create, s)
		case mp.GetMetadata().GetAnnotations()[AnnotationMirror] != s.GetMetadata().GetUid() || mp.GetMetadata().GetDeletionTimestamp() != nil:
			// Outdated, or deleted by a user (it comes back: the static pod still runs).
			del = append(del, mp)
		}
	}
	for k, mp := range m.mirrors {
		if _, ok := m.static[k]; !ok {
			del = append(del, mp)
		}
	}
	m.mu.Unlock()
	var zero int64
	for _, mp := range del {
		uid := mp.GetMetadata().GetUid()
		err := m.c.Pods(mp.GetMetadata().GetNamespace()).Delete(ctx, mp.GetMetadata().GetName(), &metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{Uid: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			client.LogRetryFailure(err, "Deleting mirror pod failed", "pod", klog.KObj(mp.GetMetadata()))
		}
	}
	for _, s := range create {
		mp := &corev1.Pod{Metadata: proto.Clone(s.GetMetadata()).(*metav1.ObjectMeta), Spec: proto.Clone(s.GetSpec()).(*corev1.PodSpec)}
		mp.Metadata.Uid, mp.Metadata.ResourceVersion, mp.Metadata.CreationTimestamp = "", "", nil
		mp.Metadata.Annotations[AnnotationMirror] = s.GetMetadata().GetUid()
		created, err := m.c.Pods(mp.GetMetadata().GetNamespace()).Create(ctx, mp)
		switch {
		case err == nil:
			klog.InfoS("Created mirror pod", "pod", klog.KObj(mp.GetMetadata()))
			m.seen(created)
		case apierrors.IsAlreadyExists(err):
			// A stale one from before a restart: the watch reports it and the next round
			// replaces it if needed.
		case ctx.Err() == nil:
			client.LogRetryFailure(err, "Creating mirror pod failed", "pod", klog.KObj(mp.GetMetadata()))
		}
	}
}
