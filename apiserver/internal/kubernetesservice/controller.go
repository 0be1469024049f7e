// Package kubernetesservice keeps the Service "kubernetes" in the default namespace and
// its Endpoints pointing at the running apiservers, as upstream's bootstrap controller
// and lease endpoint reconciler do. Pods find the API through it (the kubelet turns it
// into KUBERNETES_SERVICE_HOST/_PORT in every container) and kube-proxy programs it like
// any other service.
//
// One difference from upstream, on purpose: kube5 serves the API over plain HTTP only,
// so the service has one port named "http" (80 -> the apiserver's port) where upstream
// has "https" (443 -> 6443). A client that tried TLS on it would fail in a confusing way.
package kubernetesservice

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
)

const (
	// Name and Namespace of the service, as upstream.
	Name      = "kubernetes"
	Namespace = "default"
	// ServicePort is the port of the service (see the package comment).
	ServicePort = 80
	// PortName names the one port.
	PortName = "http"

	// leasePrefix holds one key per running apiserver (its advertised IP), each with an
	// etcd lease, as upstream's /registry/masterleases/: an apiserver that dies without
	// saying goodbye drops out of the endpoints when its lease expires.
	leasePrefix = "/registry/masterleases/"
)

// Store is what the controller needs of a resource's storage (generic.Store has it).
type Store interface {
	Get(ctx context.Context, namespace, name string) (scheme.Object, error)
	Create(ctx context.Context, namespace string, obj scheme.Object, dryRun bool) (scheme.Object, error)
	Update(ctx context.Context, namespace, name, subresource string, obj scheme.Object, dryRun bool) (scheme.Object, error)
}

// Controller reconciles the service and its endpoints.
type Controller struct {
	Services  Store
	Endpoints Store
	Etcd      *clientv3.Client
	// ClusterIP is the service's address: the first of --service-cluster-ip-range.
	ClusterIP netip.Addr
	// IP and Port are this apiserver's advertised address and its API port; without an
	// IP only the service is kept.
	IP   netip.Addr
	Port int32
	// Interval is how often to reconcile (upstream: 10s); TTL is how long an apiserver
	// stays in the endpoints after its last reconcile (upstream: 15s).
	Interval, TTL time.Duration

	lease  clientv3.LeaseID
	synced atomic.Bool
}

// Synced reports whether a reconcile has succeeded: /readyz waits for it, as upstream's
// waits for its bootstrap controller, so clients never see a cluster without the service.
func (c *Controller) Synced() bool { return c.synced.Load() }

// Run reconciles now and every Interval until ctx ends, then takes this apiserver out of
// the endpoints (so clients stop being sent to an apiserver that is going away).
// Failures are logged and retried: the API works without the service.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		if err := c.Reconcile(ctx); err != nil {
			if ctx.Err() == nil {
				klog.ErrorS(err, "Reconciling the kubernetes service and its endpoints")
			}
		} else {
			c.synced.Store(true)
		}
		select {
		case <-ctx.Done():
			stopCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := c.remove(stopCtx); err != nil {
				klog.ErrorS(err, "Removing this apiserver from the kubernetes endpoints")
			}
			return
		case <-t.C:
		}
	}
}

// Reconcile makes the service exist with the right port, renews this apiserver's lease,
// and writes the endpoints from the live leases.
func (c *Controller) Reconcile(ctx context.Context) error {
	if err := c.ensureService(ctx); err != nil {
		return err
	}
	if !c.IP.IsValid() { // no address to advertise: the service has no endpoints of ours
		return nil
	}
	if err := c.renew(ctx); err != nil {
		return err
	}
	return c.syncEndpoints(ctx)
}

func (c *Controller) wantPorts() []*corev1.ServicePort {
	return []*corev1.ServicePort{{
		Name: PortName, Protocol: "TCP", Port: ServicePort,
		TargetPort: &metav1.IntOrString{IntVal: c.Port},
	}}
}

// ensureService creates the service, or puts its port back if someone changed it (as
// upstream); labels, annotations and the clusterIP a user may have touched are kept.
func (c *Controller) ensureService(ctx context.Context) error {
	obj, err := c.Services.Get(ctx, Namespace, Name)
	if apierrors.IsNotFound(err) {
		svc := &corev1.Service{
			Metadata: &metav1.ObjectMeta{Name: Name, Namespace: Namespace,
				Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
			Spec: &corev1.ServiceSpec{Type: "ClusterIP", ClusterIp: c.ClusterIP.String(),
				SessionAffinity: "None", Ports: c.wantPorts()},
		}
		_, err = c.Services.Create(ctx, Namespace, svc, false)
		if apierrors.IsInvalid(err) && c.ClusterIP.IsValid() {
			// The first address went to a user's service before this apiserver made
			// "kubernetes" (a cluster from an older kube5): take any free one.
			klog.InfoS("The first address of --service-cluster-ip-range is taken; the kubernetes service gets another one", "address", c.ClusterIP, "reason", err)
			svc.Spec.ClusterIp = ""
			_, err = c.Services.Create(ctx, Namespace, svc, false)
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating service %s/%s: %w", Namespace, Name, err)
		}
		if err == nil {
			klog.InfoS("Created the kubernetes service", "namespace", Namespace, "port", ServicePort, "targetPort", c.Port)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading service %s/%s: %w", Namespace, Name, err)
	}
	svc := obj.(*corev1.Service)
	if portsEqual(svc.GetSpec().GetPorts(), c.wantPorts()) {
		return nil
	}
	next := proto.Clone(svc).(*corev1.Service)
	next.Spec.Ports = c.wantPorts()
	if _, err := c.Services.Update(ctx, Namespace, Name, "", next, false); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("restoring the ports of service %s/%s: %w", Namespace, Name, err)
	}
	return nil
}

func portsEqual(a, b []*corev1.ServicePort) bool {
	return slices.EqualFunc(a, b, func(x, y *corev1.ServicePort) bool {
		return x.GetName() == y.GetName() && x.GetProtocol() == y.GetProtocol() && x.GetPort() == y.GetPort() &&
			x.GetTargetPort().GetIntVal() == y.GetTargetPort().GetIntVal() && x.GetTargetPort().GetStrVal() == y.GetTargetPort().GetStrVal()
	})
}

// renew keeps this apiserver's key alive, granting a new lease when the old one is gone
// (first run, or etcd lost it).
func (c *Controller) renew(ctx context.Context) error {
	if c.lease != 0 {
		if _, err := c.Etcd.KeepAliveOnce(ctx, c.lease); err == nil {
			return nil
		}
	}
	ttl := int64(c.TTL / time.Second)
	if ttl < 1 {
		ttl = 1
	}
	l, err := c.Etcd.Grant(ctx, ttl)
	if err != nil {
		return fmt.Errorf("granting the apiserver lease: %w", err)
	}
	if _, err := c.Etcd.Put(ctx, leasePrefix+c.IP.String(), fmt.Sprint(c.Port), clientv3.WithLease(l.ID)); err != nil {
		return fmt.Errorf("writing the apiserver lease: %w", err)
	}
	c.lease = l.ID
	return nil
}

// remove deletes this apiserver's key and rewrites the endpoints without it.
func (c *Controller) remove(ctx context.Context) error {
	if !c.IP.IsValid() {
		return nil
	}
	if _, err := c.Etcd.Delete(ctx, leasePrefix+c.IP.String()); err != nil {
		return err
	}
	if c.lease != 0 {
		_, _ = c.Etcd.Revoke(ctx, c.lease)
	}
	return c.syncEndpoints(ctx)
}

// syncEndpoints writes one subset with every apiserver that holds a live lease.
func (c *Controller) syncEndpoints(ctx context.Context) error {
	resp, err := c.Etcd.Get(ctx, leasePrefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("listing the apiserver leases: %w", err)
	}
	var ips []string
	for _, kv := range resp.Kvs {
		ips = append(ips, strings.TrimPrefix(string(kv.Key), leasePrefix))
	}
	slices.Sort(ips)
	var subsets []*corev1.EndpointSubset
	if len(ips) > 0 {
		s := &corev1.EndpointSubset{Ports: []*corev1.EndpointPort{{Name: PortName, Port: c.Port, Protocol: "TCP"}}}
		for _, ip := range ips {
			s.Addresses = append(s.Addresses, &corev1.EndpointAddress{Ip: ip})
		}
		subsets = []*corev1.EndpointSubset{s}
	}
	obj, err := c.Endpoints.Get(ctx, Namespace, Name)
	if apierrors.IsNotFound(err) {
		ep := &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Name: Name, Namespace: Namespace,
			Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}}, Subsets: subsets}
		if _, err := c.Endpoints.Create(ctx, Namespace, ep, false); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating endpoints %s/%s: %w", Namespace, Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading endpoints %s/%s: %w", Namespace, Name, err)
	}
	cur := obj.(*corev1.Endpoints)
	if subsetsEqual(cur.GetSubsets(), subsets) {
		return nil
	}
	next := proto.Clone(cur).(*corev1.Endpoints)
	next.Subsets = subsets
	if _, err := c.Endpoints.Update(ctx, Namespace, Name, "", next, false); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("updating endpoints %s/%s: %w", Namespace, Name, err)
	}
	return nil
}

func subsetsEqual(a, b []*corev1.EndpointSubset) bool {
	return slices.EqualFunc(a, b, func(x, y *corev1.EndpointSubset) bool { return proto.Equal(x, y) })
}
