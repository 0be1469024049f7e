package nodelifecycle

import (
	"context"
	"strings"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/events"
	"kube5/proto/informer"
)

func (c *Controller) evictWorker(ctx context.Context) {
	for {
		key, shutdown := c.evict.Get()
		if shutdown {
			return
		}
		if err := c.syncEviction(ctx, key); err != nil {
			klog.V(2).InfoS("Eviction failed; retrying", "pod", key, "err", err)
			c.evict.AddRateLimited(key)
		} else {
			c.evict.Forget(key)
		}
		c.evict.Done(key)
	}
}

// taintsSince is when the pod's toleration clock started: the earliest time the node's
// NoExecute taints were added (see addedAt). A taint without timeAdded counts from when
// this controller first saw it.
func (c *Controller) taintsSince(node *corev1.Node, taints []*corev1.Taint) time.Time {
	var since time.Time
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range taints {
		k := taintKey(node.GetMetadata().GetName(), t)
		seen, ok := c.taintSeen[k]
		if !ok {
			seen = c.now()
			c.taintSeen[k] = seen
		}
		at := seen
		if t.TimeAdded != nil {
			at = addedAt(t.GetTimeAdded().AsTime(), seen)
		}
		if since.IsZero() || at.Before(since) {
			since = at
		}
	}
	return since
}

// addedAt estimates when a taint was added from its timeAdded, truncated to the second,
// and when this controller first saw it (at or after the addition): the observation
// while it falls within timeAdded's second, else the end of that second. The estimate is
// never early, so a toleration is never cut short, and at most a second late, also
// after a restart of the controller.
func addedAt(stamp, seen time.Time) time.Time {
	switch upper := stamp.Add(time.Second); {
	case seen.Before(stamp):
		return stamp
	case seen.Before(upper):
		return seen
	default:
		return upper
	}
}

func taintKey(node string, t *corev1.Taint) string {
	return node + "/" + t.GetKey() + "/" + t.GetEffect()
}

// forgetTaints drops the observations of node's taints that are gone.
func (c *Controller) forgetTaints(node string, taints []*corev1.Taint) {
	keep := map[string]bool{}
	for _, t := range taints {
		keep[taintKey(node, t)] = true
	}
	prefix := node + "/"
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.taintSeen {
		if strings.HasPrefix(k, prefix) && !keep[k] {
			delete(c.taintSeen, k)
		}
	}
}

// syncEviction deletes the pod when its node's NoExecute taints say so, or checks again
// when its toleration runs out.
func (c *Controller) syncEviction(ctx context.Context, key string) error {
	ns, name, err := informer.SplitKey(key)
	if err != nil {
		return nil
	}
	pod, ok := c.pods.Lister().Get(ns, name)
	if !ok || pod.GetMetadata().GetDeletionTimestamp() != nil || pod.GetSpec().GetNodeName() == "" {
		return nil
	}
	node, ok := c.nodes.Lister().Get("", pod.GetSpec().GetNodeName())
	if !ok {
		return nil // the pod GC's case
	}
	taints := noExecuteTaints(node)
	delay, forever := EvictionDelay(pod.GetSpec().GetTolerations(), taints)
	if forever {
		return nil
	}
	if delay > 0 {
		if left := c.taintsSince(node, taints).Add(delay).Sub(c.now()); left > 0 {
			c.evict.AddAfter(key, left)
			return nil
		}
	}
	uid := pod.GetMetadata().GetUid()
	err = c.client.Pods(ns).Delete(ctx, name, &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{Uid: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return err
	}
	klog.V(1).InfoS("Evicted pod from tainted node", "pod", key, "node", node.GetMetadata().GetName())
	if c.recorder != nil {
		c.recorder.Eventf(pod, events.Normal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	}
	return nil
}
