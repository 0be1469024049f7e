// Package nodeipam is the node IPAM controller (upstream's range allocator): with
// --allocate-node-cidrs each node without spec.podCIDR gets the next free
// /--node-cidr-mask-size subnet of --cluster-cidr, in spec.podCIDR and spec.podCIDRs.
// The set of taken subnets is rebuilt from the nodes at start, so a restart never hands
// out a subnet twice, and a deleted node's subnet is released.
package nodeipam

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in events ("cidrAllocator" upstream reports as the node
// controller).
const Name = "node-controller"

// Controller assigns pod CIDRs to nodes.
type Controller struct {
	client   *client.Clientset
	nodes    *informer.Informer[*corev1.Node]
	recorder *events.Recorder
	queue    *workqueue.Queue[string] // node names

	mu    sync.Mutex
	set   *CIDRSet
	owner map[string]*net.IPNet // node name -> its subnet, as this controller knows it
}

// noop is the controller when allocation is off: upstream runs nothing either.
type noop struct{}

func (noop) Run(ctx context.Context, _ int) { <-ctx.Done() }

// New checks --cluster-cidr and --node-cidr-mask-size and registers the node handlers.
func New(ctx *controller.Context) (controller.Controller, error) {
	cfg := ctx.Config
	if !cfg.AllocateNodeCIDRs {
		return noop{}, nil
	}
	if cfg.ClusterCIDR == "" {
		return nil, fmt.Errorf("--cluster-cidr is required when --allocate-node-cidrs is true")
	}
	_, cluster, err := net.ParseCIDR(cfg.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("invalid --cluster-cidr %q: %v", cfg.ClusterCIDR, err)
	}
	mask := cfg.NodeCIDRMaskSize
	if mask == 0 {
		mask = 24
		if cluster.IP.To4() == nil {
			mask = 64
		}
	}
	set, err := NewCIDRSet(cluster, mask)
	if err != nil {
		return nil, fmt.Errorf("invalid --node-cidr-mask-size: %v", err)
	}
	c := &Controller{
		client: ctx.Client,
		nodes:  informer.ForType[*corev1.Node](ctx.Informers),
		queue:  workqueue.New[string]("nodeipam"),
		set:    set,
		owner:  map[string]*net.IPNet{},
	}
	if ctx.Events != nil {
		c.recorder = ctx.Events(Name)
	}
	enqueue := func(n *corev1.Node) { c.queue.Add(n.GetMetadata().GetName()) }
	c.nodes.AddEventHandler(informer.Handler[*corev1.Node]{
		OnAdd: enqueue,
		OnUpdate: func(old, n *corev1.Node) {
			if old.GetSpec().GetPodCidr() != n.GetSpec().GetPodCidr() || n.GetSpec().GetPodCidr() == "" {
				enqueue(n)
			}
		},
		OnDelete: enqueue,
	})
	return c, nil
}

// Run marks the subnets of existing nodes taken, then allocates with workers goroutines.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.nodes.HasSynced) {
		return
	}
	c.mu.Lock()
	for _, n := range c.nodes.Lister().List(nil) {
		c.occupy(n)
	}
	c.mu.Unlock()
	klog.V(1).InfoS("Starting controller", "controller", "nodeipam", "workers", workers)
	for i := 0; i < workers; i++ {
		go controller.Work(ctx, c.queue, c.sync, "Node CIDR allocation failed; retrying", "node")
	}
	<-ctx.Done()
}

// occupy records the subnet a node already has. Caller holds c.mu.
func (c *Controller) occupy(n *corev1.Node) {
	name := n.GetMetadata().GetName()
	cidr := n.GetSpec().GetPodCidr()
	if cidr == "" {
		return
	}
	_, ipn, err := net.ParseCIDR(cidr)
	if err == nil {
		err = c.set.Occupy(ipn)
	}
	if err != nil {
		// Set by someone else, outside our range: not ours to track or release.
		klog.V(2).InfoS("Node has a podCIDR outside the cluster CIDR", "node", name, "podCIDR", cidr, "err", err)
		return
	}
	if prev, ok := c.owner[name]; ok && prev.String() != ipn.String() {
		_ = c.set.Release(prev) // we allocated prev, but the node carries another
	}
	c.owner[name] = ipn
}

// sync gives node name a subnet when it has none, or releases the subnet of a deleted node.
func (c *Controller) sync(ctx context.Context, name string) error {
	cached, ok := c.nodes.Lister().Get("", name)
	if !ok {
		c.mu.Lock()
		if ipn, ok := c.owner[name]; ok {
			_ = c.set.Release(ipn)
			delete(c.owner, name)
			klog.V(2).InfoS("Released node CIDR", "node", name, "podCIDR", ipn)
		}
		c.mu.Unlock()
		return nil
	}
	if cached.GetSpec().GetPodCidr() != "" {
		c.mu.Lock()
		c.occupy(cached)
		c.mu.Unlock()
		return nil
	}
	// The cache may lag behind our own write: read the node before handing out a subnet.
	node, err := c.client.Nodes().Get(ctx, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	if node.GetSpec().GetPodCidr() != "" {
		c.occupy(node)
		c.mu.Unlock()
		return nil
	}
	ipn, mine := c.owner[name]
	if !mine {
		ipn, err = c.set.Allocate()
		if err != nil {
			c.mu.Unlock()
			if c.recorder != nil {
				c.recorder.Eventf(node, events.Normal, "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable", name)
			}
			return err
		}
		c.owner[name] = ipn
	}
	c.mu.Unlock()

	upd := proto.Clone(node).(*corev1.Node)
	if upd.Spec == nil {
		upd.Spec = &corev1.NodeSpec{}
	}
	upd.Spec.PodCidr = ipn.String()
	upd.Spec.PodCidrs = []string{ipn.String()}
	if _, err := c.client.Nodes().Update(ctx, upd); err != nil {
		if apierrors.IsNotFound(err) {
			c.mu.Lock()
			_ = c.set.Release(ipn)
			delete(c.owner, name)
			c.mu.Unlock()
			return nil
		}
		// Keep the subnet reserved for this node: the retry uses it again.
		if c.recorder != nil && !apierrors.IsConflict(err) {
			c.recorder.Eventf(node, events.Warning, "CIDRAssignmentFailed", "Node %s: failed to assign CIDR %s: %v", name, ipn, err)
		}
		return err
	}
	klog.V(2).InfoS("Assigned node CIDR", "node", name, "podCIDR", ipn)
	return nil
}
