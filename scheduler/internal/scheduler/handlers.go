package scheduler

import (
	"context"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/informer"
	"kube5/scheduler/internal/queue"
)

// PodFieldSelector is what the pod informer watches: terminated pods hold no resources
// and need no scheduling, as upstream's scheduler.
const PodFieldSelector = "status.phase!=Succeeded,status.phase!=Failed"

func assigned(p *corev1.Pod) bool { return p.GetSpec().GetNodeName() != "" }

// responsible reports whether an unassigned pod is this scheduler's to place.
func (s *Scheduler) responsible(p *corev1.Pod) bool {
	return p.GetSpec().GetSchedulerName() == s.cfg.SchedulerName && p.GetMetadata().GetDeletionTimestamp() == nil
}

// PodHandler keeps the cache (bound pods) and the queue (our pending pods) current.
// Handlers only update the cache and queue, which are cheap and never block on the API.
func (s *Scheduler) PodHandler() informer.Handler[*corev1.Pod] {
	c, q := s.cfg.Cache, s.cfg.Queue
	return informer.Handler[*corev1.Pod]{
		OnAdd: func(p *corev1.Pod) {
			switch {
			case assigned(p):
				c.AddPod(p)
				q.MoveIf(waitsForPods)
			case s.responsible(p) && !c.Has(queue.Key(p)):
				q.Add(p)
			}
		},
		OnUpdate: func(old, p *corev1.Pod) {
			switch {
			case assigned(p):
				if !assigned(old) {
					q.Delete(p) // bound, by us (confirming the assumption) or by someone else
					c.AddPod(p)
					q.MoveIf(waitsForPods)
					return
				}
				c.UpdatePod(p)
			case !s.responsible(p):
				q.Delete(p)
			case !c.IsAssumed(queue.Key(p)):
				q.Update(p)
			}
		},
		OnDelete: func(p *corev1.Pod) {
			q.Delete(p)
			c.RemovePod(p)
			if assigned(p) {
				q.MoveAllToActiveOrBackoff() // its resources and ports are free now
			}
		},
	}
}

// waitsForPods reports whether an unschedulable pod may fit once another pod is bound:
// one with required pod affinity.
func waitsForPods(p *corev1.Pod) bool {
	return len(p.GetSpec().GetAffinity().GetPodAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()) > 0
}

// NodeHandler keeps the cache's nodes current and retries unschedulable pods when a node
// appears or changes in a way that may let them fit.
func (s *Scheduler) NodeHandler() informer.Handler[*corev1.Node] {
	c, q := s.cfg.Cache, s.cfg.Queue
	return informer.Handler[*corev1.Node]{
		OnAdd: func(n *corev1.Node) {
			c.AddNode(n)
			q.MoveAllToActiveOrBackoff()
		},
		OnUpdate: func(old, n *corev1.Node) {
			c.UpdateNode(n)
			if schedulingPropertiesChanged(old, n) {
				q.MoveAllToActiveOrBackoff()
			}
		},
		OnDelete: func(n *corev1.Node) { c.RemoveNode(n) },
	}
}

// schedulingPropertiesChanged ignores heartbeats: only what a filter reads counts.
func schedulingPropertiesChanged(a, b *corev1.Node) bool {
	if a.GetSpec().GetUnschedulable() != b.GetSpec().GetUnschedulable() ||
		!proto.Equal(&corev1.NodeSpec{Taints: a.GetSpec().GetTaints()}, &corev1.NodeSpec{Taints: b.GetSpec().GetTaints()}) ||
		!proto.Equal(&metav1.ObjectMeta{Labels: a.GetMetadata().GetLabels()}, &metav1.ObjectMeta{Labels: b.GetMetadata().GetLabels()}) ||
		!proto.Equal(&corev1.NodeStatus{Allocatable: a.GetStatus().GetAllocatable()}, &corev1.NodeStatus{Allocatable: b.GetStatus().GetAllocatable()}) {
		return true
	}
	return readyStatus(a) != readyStatus(b)
}

func readyStatus(n *corev1.Node) string {
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus()
		}
	}
	return ""
}

// APIBinder binds through the apiserver's pods/binding subresource.
type APIBinder struct{ Client *client.Clientset }

// Bind posts a Binding; the pod's UID is a precondition, so a pod deleted and re-created
// under the same name is not bound by mistake.
func (b APIBinder) Bind(ctx context.Context, pod *corev1.Pod, node string) error {
	m := pod.GetMetadata()
	return b.Client.Pods(m.GetNamespace()).CreateSubresource(ctx, m.GetName(), "binding", &corev1.Binding{
		Metadata: &metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), Uid: m.GetUid()},
		Target:   &corev1.ObjectReference{Kind: "Node", ApiVersion: "v1", Name: node},
	}, nil)
}

// APIStatusUpdater writes PodScheduled=False through the status subresource.
type APIStatusUpdater struct{ Client *client.Clientset }

// SetUnschedulable sets the condition, re-reading the pod on conflict; a pod bound or
// deleted meanwhile is left alone.
func (u APIStatusUpdater) SetUnschedulable(ctx context.Context, pod *corev1.Pod, message string) error {
	pods := u.Client.Pods(pod.GetMetadata().GetNamespace())
	cur := proto.Clone(pod).(*corev1.Pod)
	for attempt := 0; ; attempt++ {
		setUnschedulableCondition(cur, message)
		_, err := pods.UpdateStatus(ctx, cur)
		if err == nil || !apierrors.IsConflict(err) || attempt == 4 {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		cur, err = pods.Get(ctx, pod.GetMetadata().GetName())
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		if assigned(cur) || cur.GetMetadata().GetUid() != pod.GetMetadata().GetUid() {
			klog.V(4).InfoS("Pod changed hands; not marking it unschedulable", "pod", klog.KObj(cur.GetMetadata()))
			return nil
		}
	}
}

func setUnschedulableCondition(p *corev1.Pod, message string) {
	if p.Status == nil {
		p.Status = &corev1.PodStatus{}
	}
	for _, c := range p.Status.Conditions {
		if c.GetType() == "PodScheduled" {
			if c.Status != "False" {
				c.LastTransitionTime = metav1.Now()
			}
			c.Status, c.Reason, c.Message = "False", "Unschedulable", message
			c.LastProbeTime = nil
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, &corev1.PodCondition{
		Type: "PodScheduled", Status: "False", Reason: "Unschedulable", Message: message, LastTransitionTime: metav1.Now(),
	})
}
