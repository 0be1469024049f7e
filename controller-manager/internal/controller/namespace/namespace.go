// Package namespace is the namespace controller: when a namespace is deleted (the
// apiserver marks it Terminating and keeps it while spec.finalizers holds "kubernetes"),
// it deletes every namespaced object in it, waits until they are gone (pods may take
// their grace period), then removes "kubernetes" from spec.finalizers, upon which the
// apiserver removes the namespace.
package namespace

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/informer"
	"kube5/proto/scheme"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in logs.
const Name = "namespace-controller"

// FinalizerKubernetes is the spec finalizer this controller owns.
const FinalizerKubernetes = "kubernetes"

// Controller empties deleted namespaces.
type Controller struct {
	client     *client.Clientset
	namespaces *informer.Informer[*corev1.Namespace]
	queue      *workqueue.Queue[string]
}

// New registers the namespace handlers.
func New(ctx *controller.Context) (controller.Controller, error) {
	c := &Controller{
		client:     ctx.Client,
		namespaces: informer.ForType[*corev1.Namespace](ctx.Informers),
		// Content that is still going away is checked again soon, then less often.
		queue: workqueue.NewWithConfig(workqueue.Config[string]{
			Name:        "namespace",
			RateLimiter: workqueue.NewItemExponentialFailureRateLimiter[string](100*time.Millisecond, 5*time.Second),
		}),
	}
	enqueue := func(ns *corev1.Namespace) {
		if ns.GetMetadata().GetDeletionTimestamp() != nil {
			c.queue.Add(ns.GetMetadata().GetName())
		}
	}
	c.namespaces.AddEventHandler(informer.Handler[*corev1.Namespace]{
		OnAdd:    enqueue,
		OnUpdate: func(_, ns *corev1.Namespace) { enqueue(ns) },
	})
	return c, nil
}

// Run deletes namespaces with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.namespaces.HasSynced) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", Name, "workers", workers)
	for i := 0; i < workers; i++ {
		go controller.Work(ctx, c.queue, c.sync, "Namespace deletion not finished; retrying", "namespace")
	}
	<-ctx.Done()
}

// errContentRemaining asks for another pass: objects are still being deleted.
type errContentRemaining struct{ remaining map[string]int }

func (e errContentRemaining) Error() string {
	var parts []string
	for r, n := range e.remaining {
		parts = append(parts, fmt.Sprintf("%s: %d", r, n))
	}
	return "content remaining: " + strings.Join(parts, ", ")
}

// sync deletes the content of a deleted namespace, then releases the namespace.
func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.client.Namespaces().Get(ctx, name) // live: the cache may be behind our own update
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.GetMetadata().GetDeletionTimestamp() == nil {
		return nil
	}
	if ns.GetStatus().GetPhase() != "Terminating" {
		upd := proto.Clone(ns).(*corev1.Namespace)
		if upd.Status == nil {
			upd.Status = &corev1.NamespaceStatus{}
		}
		upd.Status.Phase = "Terminating"
		if ns, err = c.client.Namespaces().UpdateStatus(ctx, upd); err != nil {
			return err
		}
	}
	if !hasFinalizer(ns) {
		return nil // not ours (anymore)
	}
	remaining, err := c.deleteContent(ctx, name)
	if err != nil {
		return err
	}
	if len(remaining) > 0 {
		return errContentRemaining{remaining}
	}
	upd := proto.Clone(ns).(*corev1.Namespace)
	var keep []string
	for _, f := range upd.GetSpec().GetFinalizers() {
		if f != FinalizerKubernetes {
			keep = append(keep, f)
		}
	}
	upd.Spec.Finalizers = keep
	if _, err := c.client.Namespaces().Update(ctx, upd); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	klog.V(2).InfoS("Namespace emptied and released", "namespace", name)
	return nil
}

func hasFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.GetSpec().GetFinalizers() {
		if f == FinalizerKubernetes {
			return true
		}
	}
	return false
}

// Resources are the namespaced resources a namespace's deletion empties: every
// namespaced collection of the scheme except bindings, which are not stored.
func Resources() []*scheme.Resource {
	var out []*scheme.Resource
	for _, r := range scheme.All() {
		if r.Namespaced && r.Resource != "bindings" {
			out = append(out, r)
		}
	}
	return out
}

// deleteContent deletes what is left in the namespace and returns how many objects of
// each resource were still there.
func (c *Controller) deleteContent(ctx context.Context, namespace string) (map[string]int, error) {
	remaining := map[string]int{}
	for _, r := range Resources() {
		d := c.client.Resource(r, namespace)
		list, err := d.List(ctx, client.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", r.GroupResource(), namespace, err)
		}
		for _, obj := range list.Items {
			remaining[r.GroupResource()]++
			if obj.GetMetadata().GetDeletionTimestamp() != nil {
				continue // going already
			}
			err := d.Delete(ctx, obj.GetMetadata().GetName(), nil)
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return nil, fmt.Errorf("deleting %s %s/%s: %w", r.GroupResource(), namespace, obj.GetMetadata().GetName(), err)
			}
		}
	}
	return remaining, nil
}
