// Package endpoints is the endpoints controller: for every Service with a selector it
// keeps an Endpoints object of the same name listing the IPs of the pods the selector
// matches, ready ones under addresses and not-ready ones under notReadyAddresses, with
// the service's ports resolved per pod (a named targetPort is looked up in each pod's
// container ports), as upstream's endpoint controller.
package endpoints

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"
	"kube5/proto/labels"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in --controllers and in events.
const Name = "endpoint-controller"

// Controller reconciles Endpoints with Services and pods.
type Controller struct {
	client    *client.Clientset
	services  *informer.Informer[*corev1.Service]
	pods      *informer.Informer[*corev1.Pod]
	endpoints *informer.Informer[*corev1.Endpoints]
	recorder  *events.Recorder
	queue     *workqueue.Queue[string]
}

// New registers the controller's handlers on the shared informers.
func New(ctx *controller.Context) (controller.Controller, error) {
	c := &Controller{
		client:    ctx.Client,
		services:  informer.ForType[*corev1.Service](ctx.Informers),
		pods:      informer.ForType[*corev1.Pod](ctx.Informers),
		endpoints: informer.ForType[*corev1.Endpoints](ctx.Informers),
		queue:     workqueue.New[string]("endpoint"),
	}
	if ctx.Events != nil {
		c.recorder = ctx.Events(Name)
	}
	c.services.AddEventHandler(informer.Handler[*corev1.Service]{
		OnAdd:    func(s *corev1.Service) { c.queue.Add(informer.Key(s)) },
		OnUpdate: func(_, s *corev1.Service) { c.queue.Add(informer.Key(s)) },
		OnDelete: func(s *corev1.Service) { c.queue.Add(informer.Key(s)) },
	})
	c.pods.AddEventHandler(informer.Handler[*corev1.Pod]{
		OnAdd: func(p *corev1.Pod) { c.enqueueServicesOf(p) },
		OnUpdate: func(old, p *corev1.Pod) {
			if old.GetMetadata().GetResourceVersion() == p.GetMetadata().GetResourceVersion() {
				return // resync: nothing changed
			}
			c.enqueueServicesOf(p)
			if !sameLabels(old.GetMetadata().GetLabels(), p.GetMetadata().GetLabels()) {
				c.enqueueServicesOf(old) // services the pod left
			}
		},
		OnDelete: func(p *corev1.Pod) { c.enqueueServicesOf(p) },
	})
	// A changed or deleted Endpoints object is put back as the service wants it.
	c.endpoints.AddEventHandler(informer.Handler[*corev1.Endpoints]{
		OnUpdate: func(_, e *corev1.Endpoints) { c.queue.Add(informer.Key(e)) },
		OnDelete: func(e *corev1.Endpoints) { c.queue.Add(informer.Key(e)) },
	})
	return c, nil
}

// enqueueServicesOf queues every service in the pod's namespace whose selector matches it.
func (c *Controller) enqueueServicesOf(p *corev1.Pod) {
	set := labels.Set(p.GetMetadata().GetLabels())
	for _, s := range c.services.Lister().ByNamespace(p.GetMetadata().GetNamespace(), nil) {
		sel := s.GetSpec().GetSelector()
		if len(sel) == 0 {
			continue
		}
		if labels.SelectorFromSet(sel).Matches(set) {
			c.queue.Add(informer.Key(s))
		}
	}
}

// Run syncs services with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.services.HasSynced, c.pods.HasSynced, c.endpoints.HasSynced) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", Name, "workers", workers)
	for i := 0; i < workers; i++ {
		go controller.Work(ctx, c.queue, c.sync, "Endpoints sync failed; retrying", "service")
	}
	<-ctx.Done()
}

// sync makes the Endpoints of service key match its pods; it writes only on a change.
func (c *Controller) sync(ctx context.Context, key string) error {
	start := time.Now()
	defer func() { klog.V(4).InfoS("Synced endpoints", "service", key, "duration", time.Since(start)) }()
	ns, name, err := informer.SplitKey(key)
	if err != nil {
		return nil
	}
	svc, ok := c.services.Lister().Get(ns, name)
	if !ok {
		// The service is gone: so are its endpoints (upstream deletes them too).
		if _, exists := c.endpoints.Lister().Get(ns, name); !exists {
			return nil
		}
		err := c.client.Endpoints(ns).Delete(ctx, name, nil)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if len(svc.GetSpec().GetSelector()) == 0 {
		return nil // endpoints of selector-less services are the user's
	}
	sel := labels.SelectorFromSet(svc.GetSpec().GetSelector())
	subsets := Subsets(svc, c.pods.Lister().ByNamespace(ns, sel))

	cur, exists := c.endpoints.Lister().Get(ns, name)
	wantLabels := svc.GetMetadata().GetLabels()
	if !exists {
		ep := &corev1.Endpoints{
			Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns, Labels: copyLabels(wantLabels)},
			Subsets:  subsets,
		}
		_, err := c.client.Endpoints(ns).Create(ctx, ep)
		switch {
		case err == nil:
			klog.V(2).InfoS("Created endpoints", "service", key, "subsets", len(subsets))
			return nil
		case apierrors.IsForbidden(err):
			return nil // the namespace is terminating
		case !apierrors.IsAlreadyExists(err):
			return err
		}
		// Our own earlier create, not in the cache yet: compare with the stored object.
		if cur, err = c.client.Endpoints(ns).Get(ctx, name); err != nil {
			return err
		}
	}
	if proto.Equal(&corev1.Endpoints{Subsets: cur.GetSubsets()}, &corev1.Endpoints{Subsets: subsets}) &&
		sameLabels(cur.GetMetadata().GetLabels(), wantLabels) {
		return nil
	}
	ep := proto.Clone(cur).(*corev1.Endpoints)
	ep.Subsets = subsets
	ep.Metadata.Labels = copyLabels(wantLabels)
	if _, err := c.client.Endpoints(ns).Update(ctx, ep); err != nil {
		if c.recorder != nil && !apierrors.IsConflict(err) {
			c.recorder.Eventf(svc, events.Warning, "FailedToUpdateEndpoint", "Failed to update endpoint %s: %v", key, err)
		}
		return err
	}
	klog.V(2).InfoS("Updated endpoints", "service", key, "subsets", len(subsets))
	return nil
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func copyLabels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
