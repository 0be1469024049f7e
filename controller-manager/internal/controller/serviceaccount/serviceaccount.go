// Package serviceaccount is the service-account controller: every active namespace has a
// "default" ServiceAccount, created with the namespace and recreated when deleted, as
// upstream's serviceaccounts-controller.
package serviceaccount

import (
	"context"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/informer"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in logs.
const Name = "serviceaccount-controller"

// DefaultName is the service account every namespace gets.
const DefaultName = "default"

// Controller keeps a default ServiceAccount in every namespace.
type Controller struct {
	client     *client.Clientset
	namespaces *informer.Informer[*corev1.Namespace]
	accounts   *informer.Informer[*corev1.ServiceAccount]
	queue      *workqueue.Queue[string] // namespace names
}

// New registers the controller's handlers on the shared informers.
func New(ctx *controller.Context) (controller.Controller, error) {
	c := &Controller{
		client:     ctx.Client,
		namespaces: informer.ForType[*corev1.Namespace](ctx.Informers),
		accounts:   informer.ForType[*corev1.ServiceAccount](ctx.Informers),
		queue:      workqueue.New[string]("serviceaccount"),
	}
	c.namespaces.AddEventHandler(informer.Handler[*corev1.Namespace]{
		OnAdd:    func(ns *corev1.Namespace) { c.queue.Add(ns.GetMetadata().GetName()) },
		OnUpdate: func(_, ns *corev1.Namespace) { c.queue.Add(ns.GetMetadata().GetName()) },
	})
	c.accounts.AddEventHandler(informer.Handler[*corev1.ServiceAccount]{
		OnDelete: func(sa *corev1.ServiceAccount) {
			if sa.GetMetadata().GetName() == DefaultName {
				c.queue.Add(sa.GetMetadata().GetNamespace())
			}
		},
	})
	return c, nil
}

// Run syncs namespaces with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.namespaces.HasSynced, c.accounts.HasSynced) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", Name, "workers", workers)
	for i := 0; i < workers; i++ {
		go controller.Work(ctx, c.queue, c.sync, "ServiceAccount sync failed; retrying", "namespace")
	}
	<-ctx.Done()
}

// sync creates the namespace's default ServiceAccount when it is missing.
func (c *Controller) sync(ctx context.Context, namespace string) error {
	ns, ok := c.namespaces.Lister().Get("", namespace)
	if !ok || ns.GetMetadata().GetDeletionTimestamp() != nil || ns.GetStatus().GetPhase() == "Terminating" {
		return nil
	}
	if _, ok := c.accounts.Lister().Get(namespace, DefaultName); ok {
		return nil
	}
	_, err := c.client.ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{
		Metadata: &metav1.ObjectMeta{Name: DefaultName, Namespace: namespace},
	})
	switch {
	case err == nil:
		klog.V(2).InfoS("Created default service account", "namespace", namespace)
		return nil
	case apierrors.IsAlreadyExists(err), apierrors.IsForbidden(err), apierrors.IsNotFound(err):
		// Someone was faster, or the namespace is terminating or gone.
		return nil
	}
	return err
}
