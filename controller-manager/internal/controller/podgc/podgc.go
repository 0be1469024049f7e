// Package podgc is the pod garbage collector, as upstream's podgc controller: every
// period it deletes terminated pods beyond --terminated-pod-gc-threshold (oldest first),
// and pods bound to nodes that no longer exist (after a quarantine, confirmed by a live
// read of the node, so a node that is just slow to appear in the cache keeps its pods),
// which includes pods left terminating on a deleted node.
package podgc

import (
	"context"
	"sort"
	"sync"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in logs.
const Name = "pod-garbage-collector"

// Upstream's timings: a pass every 20s, and a node must be missing for 40s before its
// pods go.
const (
	DefaultPeriod     = 20 * time.Second
	DefaultQuarantine = 40 * time.Second
)

// Controller deletes pods nobody will clean up otherwise.
type Controller struct {
	client    *client.Clientset
	pods      *informer.Informer[*corev1.Pod]
	nodes     *informer.Informer[*corev1.Node]
	threshold int

	// Period and Quarantine are upstream's fixed timings; tests shorten them.
	Period, Quarantine time.Duration

	mu           sync.Mutex
	missingSince map[string]time.Time // node name -> first pass that did not find it
	now          func() time.Time
}

// New registers the informers the controller reads.
func New(ctx *controller.Context) (controller.Controller, error) {
	return &Controller{
		client:       ctx.Client,
		pods:         informer.ForType[*corev1.Pod](ctx.Informers),
		nodes:        informer.ForType[*corev1.Node](ctx.Informers),
		threshold:    ctx.Config.TerminatedPodGCThreshold,
		Period:       DefaultPeriod,
		Quarantine:   DefaultQuarantine,
		missingSince: map[string]time.Time{},
		now:          time.Now,
	}, nil
}

// Run collects every Period until ctx ends. It is one loop whatever workers says: a pass
// reads the whole cache, and two passes at once would only race each other.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !informer.WaitForCacheSync(ctx, c.pods.HasSynced, c.nodes.HasSynced) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", Name, "threshold", c.threshold)
	t := time.NewTicker(c.Period)
	defer t.Stop()
	for {
		c.gc(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gc is one pass.
func (c *Controller) gc(ctx context.Context) {
	pods := c.pods.Lister().List(nil)
	if c.threshold > 0 {
		c.gcTerminated(ctx, pods)
	}
	c.gcOrphaned(ctx, pods)
}

func terminated(p *corev1.Pod) bool {
	phase := p.GetStatus().GetPhase()
	return phase == "Succeeded" || phase == "Failed"
}

// ExcessTerminated returns the terminated pods beyond threshold, oldest first.
func ExcessTerminated(pods []*corev1.Pod, threshold int) []*corev1.Pod {
	var done []*corev1.Pod
	for _, p := range pods {
		if terminated(p) && p.GetMetadata().GetDeletionTimestamp() == nil {
			done = append(done, p)
		}
	}
	excess := len(done) - threshold
	if excess <= 0 {
		return nil
	}
	sort.SliceStable(done, func(i, j int) bool {
		a, b := done[i].GetMetadata().GetCreationTimestamp().AsTime(), done[j].GetMetadata().GetCreationTimestamp().AsTime()
		if !a.Equal(b) {
			return a.Before(b)
		}
		return informer.Key(done[i]) < informer.Key(done[j])
	})
	return done[:excess]
}

func (c *Controller) gcTerminated(ctx context.Context, pods []*corev1.Pod) {
	excess := ExcessTerminated(pods, c.threshold)
	if len(excess) > 0 {
		klog.V(2).InfoS("Garbage collecting terminated pods", "count", len(excess), "threshold", c.threshold)
	}
	for _, p := range excess {
		c.forceDelete(ctx, p, "terminated pod beyond threshold")
	}
}

// gcOrphaned deletes pods bound to nodes that have been missing for Quarantine.
func (c *Controller) gcOrphaned(ctx context.Context, pods []*corev1.Pod) {
	now := c.now()
	byNode := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if n := p.GetSpec().GetNodeName(); n != "" {
			if _, ok := c.nodes.Lister().Get("", n); !ok {
				byNode[n] = append(byNode[n], p)
			}
		}
	}
	c.mu.Lock()
	for n := range c.missingSince {
		if _, ok := byNode[n]; !ok {
			delete(c.missingSince, n) // back, or no pods left on it
		}
	}
	var expired []string
	for n := range byNode {
		first, ok := c.missingSince[n]
		if !ok {
			c.missingSince[n] = now
			continue
		}
		if now.Sub(first) >= c.Quarantine {
			expired = append(expired, n)
		}
	}
	c.mu.Unlock()
	sort.Strings(expired)
	for _, n := range expired {
		// The cache may lag: only a live NotFound condemns the node's pods.
		if _, err := c.client.Nodes().Get(ctx, n); !apierrors.IsNotFound(err) {
			continue
		}
		for _, p := range byNode[n] {
			c.forceDelete(ctx, p, "pod bound to deleted node "+n)
		}
	}
}

// forceDelete deletes at once (grace 0): no kubelet will finish these pods; the uid
// precondition spares a pod recreated under the same name.
func (c *Controller) forceDelete(ctx context.Context, p *corev1.Pod, why string) {
	zero := int64(0)
	uid := p.GetMetadata().GetUid()
	err := c.client.Pods(p.GetMetadata().GetNamespace()).Delete(ctx, p.GetMetadata().GetName(),
		&metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{Uid: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		klog.ErrorS(err, "Deleting pod failed", "pod", klog.KObj(p.GetMetadata()), "reason", why)
		return
	}
	klog.V(2).InfoS("Garbage collected pod", "pod", klog.KObj(p.GetMetadata()), "reason", why)
}
