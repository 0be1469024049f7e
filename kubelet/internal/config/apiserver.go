// Package config feeds the pod workers: the pods bound to this node from the apiserver (a
// field-selected watch on spec.nodeName, never a list of the whole cluster), and static
// pods from --pod-manifest-path, with their mirror pods in the apiserver.
package config

import (
	"context"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/client"
	"kube5/proto/informer"
)

// Annotations of static and mirror pods, as upstream's.
const (
	AnnotationSource = "kubernetes.io/config.source"
	AnnotationHash   = "kubernetes.io/config.hash"
	AnnotationMirror = "kubernetes.io/config.mirror"
)

// PodHandler receives the desired pods (podworkers.Manager satisfies it).
type PodHandler interface {
	UpdatePod(pod *corev1.Pod)
	RemovePod(uid string)
}

// IsMirror says whether pod is a mirror of a static pod (shown, never run).
func IsMirror(pod *corev1.Pod) bool {
	_, ok := pod.GetMetadata().GetAnnotations()[AnnotationMirror]
	return ok
}

// APIServerSource watches the pods bound to one node.
type APIServerSource struct {
	inf     *informer.Informer[*corev1.Pod]
	reg     informer.Registration
	mirrors *Mirrors
}

// NewAPIServerSource returns a source of the pods with spec.nodeName = node; mirror pods
// go to mirrors (may be nil).
func NewAPIServerSource(c *client.Clientset, node string, h PodHandler, mirrors *Mirrors) *APIServerSource {
	inf := informer.New[*corev1.Pod](c.Pods(""), informer.Options{FieldSelector: "spec.nodeName=" + node})
	s := &APIServerSource{inf: inf, mirrors: mirrors}
	s.reg = inf.AddEventHandler(informer.Handler[*corev1.Pod]{
		OnAdd: func(p *corev1.Pod) { s.update(h, p) },
		OnUpdate: func(_, p *corev1.Pod) {
			s.update(h, p)
		},
		OnDelete: func(p *corev1.Pod) {
			if IsMirror(p) {
				if mirrors != nil {
					mirrors.deleted(p)
				}
				return
			}
			klog.V(2).InfoS("Pod removed from the apiserver", "pod", klog.KObj(p.GetMetadata()))
			h.RemovePod(p.GetMetadata().GetUid())
		},
	})
	return s
}

func (s *APIServerSource) update(h PodHandler, p *corev1.Pod) {
	if IsMirror(p) {
		if s.mirrors != nil {
			s.mirrors.seen(p)
		}
		return
	}
	h.UpdatePod(p)
}

// Run watches until ctx ends.
func (s *APIServerSource) Run(ctx context.Context) { s.inf.Run(ctx) }

// WaitForSync waits until the handler has been given every pod of the initial list: only
// then are containers of unknown pods orphans (and not pods not delivered yet).
func (s *APIServerSource) WaitForSync(ctx context.Context) bool {
	return informer.WaitForCacheSync(ctx, s.inf.HasSynced, s.reg.HasSynced)
}
