// Package nodelifecycle is the node lifecycle controller, as upstream's: it watches node
// heartbeats (the node's Lease in kube-node-lease and the Ready condition's
// lastHeartbeatTime), marks a node whose kubelet has been silent for
// --node-monitor-grace-period Ready=Unknown, taints nodes by their Ready status
// (node.kubernetes.io/not-ready or /unreachable, NoSchedule and NoExecute), taints them
// NoSchedule by their other conditions and spec.unschedulable (memory-pressure,
// disk-pressure, pid-pressure, network-unavailable, unschedulable: upstream's
// TaintNodesByCondition), marks the pods of a not-ready node not ready, and evicts pods
// from NoExecute-tainted nodes once their tolerationSeconds run out (the taint manager).
//
// Every --node-monitor-period the controller passes over all nodes; a node change that
// calls for different taints (a kubelet reporting MemoryPressure=True, a cordon) starts a
// pass at once, as upstream's node update queue does.
//
// Silence is measured on this controller's own clock: a heartbeat counts when its value
// changes, whatever time it carries, so clock skew between nodes and the controller does
// not matter, and a restarted controller gives every node a full grace period.
package nodelifecycle

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in events (upstream's component "node-controller").
const Name = "node-controller"

// LeaseNamespace holds the kubelets' heartbeat Leases, one per node, named as the node.
const LeaseNamespace = "kube-node-lease"

// nodeNameIndex is this package's index of pods by node on the shared pod informer.
const nodeNameIndex = "nodelifecycle:spec.nodeName"

// Upstream defaults of the flags, used when Config leaves them zero.
const (
	DefaultGracePeriod   = 40 * time.Second
	DefaultMonitorPeriod = 5 * time.Second
	DefaultStartupGrace  = time.Minute
)

// Controller watches node health and evicts pods from failed nodes.
type Controller struct {
	client   *client.Clientset
	nodes    *informer.Informer[*corev1.Node]
	leases   *informer.Informer[*coordinationv1.Lease]
	pods     *informer.Informer[*corev1.Pod]
	recorder *events.Recorder
	evict    *workqueue.Queue[string] // pod keys

	gracePeriod, monitorPeriod, startupGrace time.Duration
	now                                      func() time.Time

	// kick, buffered 1, asks Run for a monitor pass now: a node's taints are not what
	// its conditions and spec call for.
	kick chan struct{}

	mu     sync.Mutex
	health map[string]*nodeHealth
	// taintSeen is when a NoExecute taint without timeAdded was first seen, by
	// node/key/effect: the start of its pods' toleration.
	taintSeen map[string]time.Time
}

// nodeHealth is what the monitor last saw of a node.
type nodeHealth struct {
	heartbeat time.Time // the Ready condition's lastHeartbeatTime
	renew     time.Time // the Lease's renewTime
	probe     time.Time // when either last changed, on our clock
	ready     string    // the Ready status after the last pass
}

// New registers the controller's informers and handlers.
func New(ctx *controller.Context) (controller.Controller, error) {
	cfg := ctx.Config
	c := &Controller{
		client:        ctx.Client,
		nodes:         informer.ForType[*corev1.Node](ctx.Informers),
		leases:        informer.ForTypeWith[*coordinationv1.Lease](ctx.Informers, LeaseNamespace, informer.Options{}),
		pods:          informer.ForType[*corev1.Pod](ctx.Informers),
		evict:         workqueue.New[string]("node_lifecycle_eviction"),
		gracePeriod:   orDefault(cfg.NodeMonitorGracePeriod, DefaultGracePeriod),
		monitorPeriod: orDefault(cfg.NodeMonitorPeriod, DefaultMonitorPeriod),
		startupGrace:  orDefault(cfg.NodeStartupGracePeriod, DefaultStartupGrace),
		now:           time.Now,
		health:        map[string]*nodeHealth{},
		taintSeen:     map[string]time.Time{},
		kick:          make(chan struct{}, 1),
	}
	if ctx.Events != nil {
		c.recorder = ctx.Events(Name)
	}
	if err := c.pods.AddIndexers(map[string]informer.IndexFunc[*corev1.Pod]{
		nodeNameIndex: func(p *corev1.Pod) []string {
			if n := p.GetSpec().GetNodeName(); n != "" {
				return []string{n}
			}
			return nil
		},
	}); err != nil {
		return nil, err
	}
	c.nodes.AddEventHandler(informer.Handler[*corev1.Node]{
		OnAdd: func(n *corev1.Node) {
			c.enqueuePodsOn(n)
			c.kickIfTaintsWrong(n)
		},
		OnUpdate: func(old, n *corev1.Node) {
			if !proto.Equal(&corev1.NodeSpec{Taints: noExecuteTaints(old)}, &corev1.NodeSpec{Taints: noExecuteTaints(n)}) {
				c.enqueuePodsOn(n)
			}
			c.kickIfTaintsWrong(n)
		},
	})
	c.pods.AddEventHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    c.enqueuePodIfTainted,
		OnUpdate: func(_, p *corev1.Pod) { c.enqueuePodIfTainted(p) },
	})
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func metaTime(t time.Time) *metav1.Time { return metav1.NewTime(t) }

func (c *Controller) enqueuePodsOn(n *corev1.Node) {
	if len(noExecuteTaints(n)) == 0 {
		return
	}
	for _, p := range c.pods.Lister().ByIndex(nodeNameIndex, n.GetMetadata().GetName()) {
		c.evict.Add(informer.Key(p))
	}
}

// kickIfTaintsWrong asks for a monitor pass now when n's taints are not those its
// conditions and spec call for. Once the pass has written them the node's update is
// quiet, so the controller's own writes do not loop.
func (c *Controller) kickIfTaintsWrong(n *corev1.Node) {
	if _, changed := DesiredTaints(n, time.Time{}); !changed {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default: // a pass is already asked for
	}
}

func (c *Controller) enqueuePodIfTainted(p *corev1.Pod) {
	name := p.GetSpec().GetNodeName()
	if name == "" || p.GetMetadata().GetDeletionTimestamp() != nil {
		return
	}
	if n, ok := c.nodes.Lister().Get("", name); ok && len(noExecuteTaints(n)) > 0 {
		c.evict.Add(informer.Key(p))
	}
}

// Run monitors nodes every --node-monitor-period, and at once when a node's taints need
// to change, and evicts with workers goroutines.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.evict.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.nodes.HasSynced, c.leases.HasSynced, c.pods.HasSynced) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", "nodelifecycle", "gracePeriod", c.gracePeriod,
		"monitorPeriod", c.monitorPeriod, "workers", workers)
	for i := 0; i < workers; i++ {
		go c.evictWorker(ctx)
	}
	t := time.NewTicker(c.monitorPeriod)
	defer t.Stop()
	for {
		c.monitor(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
	}
}

func readyCondition(n *corev1.Node) *corev1.NodeCondition {
	for _, cond := range n.GetStatus().GetConditions() {
		if cond.GetType() == "Ready" {
			return cond
		}
	}
	return nil
}

// monitor is one pass over every node.
func (c *Controller) monitor(ctx context.Context) {
	now := c.now()
	nodes := c.nodes.Lister().List(nil)
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		seen[n.GetMetadata().GetName()] = true
		if err := c.monitorNode(ctx, n, now); err != nil {
			klog.V(2).InfoS("Updating node health failed; next pass retries", "node", n.GetMetadata().GetName(), "err", err)
		}
	}
	c.mu.Lock()
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
		}
	}
	c.mu.Unlock()
}

// observe records n's heartbeats and returns when it was last heard from.
func (c *Controller) observe(n *corev1.Node, now time.Time) *nodeHealth {
	name := n.GetMetadata().GetName()
	var hb, renew time.Time
	if rc := readyCondition(n); rc != nil && rc.LastHeartbeatTime != nil {
		hb = rc.GetLastHeartbeatTime().AsTime()
	}
	if l, ok := c.leases.Lister().Get(LeaseNamespace, name); ok && l.GetSpec().GetRenewTime() != nil {
		renew = l.GetSpec().GetRenewTime().AsTime()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.health[name]
	if h == nil {
		h = &nodeHealth{heartbeat: hb, renew: renew, probe: now, ready: readyCondition(n).GetStatus()}
		c.health[name] = h
	}
	if !hb.Equal(h.heartbeat) || !renew.Equal(h.renew) {
		h.heartbeat, h.renew, h.probe = hb, renew, now
	}
	cp := *h
	return &cp
}

// monitorNode updates one node's conditions and taints, and its pods' readiness.
func (c *Controller) monitorNode(ctx context.Context, cached *corev1.Node, now time.Time) error {
	name := cached.GetMetadata().GetName()
	h := c.observe(cached, now)
	node := cached
	ready := readyCondition(node)
	grace := c.gracePeriod
	if ready == nil {
		grace = c.startupGrace
	}
	if now.Sub(h.probe) > grace && ready.GetStatus() != "Unknown" {
		upd := proto.Clone(node).(*corev1.Node)
		markUnknown(upd, now)
		out, err := c.client.Nodes().UpdateStatus(ctx, upd)
		if err != nil {
			return err
		}
		klog.V(1).InfoS("Node stopped posting status", "node", name, "silentFor", now.Sub(h.probe).Round(time.Millisecond))
		node = out
	}
	status := readyCondition(node).GetStatus()

	c.mu.Lock()
	prev := h.ready
	if cur := c.health[name]; cur != nil {
		cur.ready = status
	}
	c.mu.Unlock()
	if prev == "True" && status != "True" && c.recorder != nil {
		c.recorder.Eventf(node, events.Normal, "NodeNotReady", "Node %s status is now: NodeNotReady", name)
	}

	taints, changed := DesiredTaints(node, now)
	if changed {
		upd := proto.Clone(node).(*corev1.Node)
		if upd.Spec == nil {
			upd.Spec = &corev1.NodeSpec{}
		}
		upd.Spec.Taints = taints
		if _, err := c.client.Nodes().Update(ctx, upd); err != nil {
			return err
		}
		klog.V(2).InfoS("Updated node taints", "node", name, "ready", status, "taints", taintList(taints))
	}
	if status != "True" && status != "" {
		c.markPodsNotReady(ctx, node, now)
	}
	c.forgetTaints(name, taints)
	return nil
}

// taintList is taints as key:effect, for logs.
func taintList(taints []*corev1.Taint) []string {
	out := make([]string, 0, len(taints))
	for _, t := range taints {
		out = append(out, t.GetKey()+":"+t.GetEffect())
	}
	return out
}

// markUnknown sets the kubelet's conditions to Unknown, as upstream does when the kubelet
// is silent; a node that never posted a Ready condition gets one.
func markUnknown(n *corev1.Node, now time.Time) {
	if n.Status == nil {
		n.Status = &corev1.NodeStatus{}
	}
	reason, msg := "NodeStatusUnknown", "Kubelet stopped posting node status."
	if readyCondition(n) == nil {
		reason, msg = "NodeStatusNeverUpdated", "Kubelet never posted node status."
		n.Status.Conditions = append(n.Status.Conditions, &corev1.NodeCondition{Type: "Ready"})
	}
	for _, cond := range n.Status.Conditions {
		switch cond.GetType() {
		case "Ready", "MemoryPressure", "DiskPressure", "PIDPressure":
		default:
			continue
		}
		if cond.Status != "Unknown" {
			cond.LastTransitionTime = metaTime(now)
		}
		cond.Status, cond.Reason, cond.Message = "Unknown", reason, msg
	}
}

// markPodsNotReady sets Ready=False on the node's pods that still say True; a conflict
// is left to the next pass.
func (c *Controller) markPodsNotReady(ctx context.Context, node *corev1.Node, now time.Time) {
	for _, p := range c.pods.Lister().ByIndex(nodeNameIndex, node.GetMetadata().GetName()) {
		if p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		idx := -1
		for i, cond := range p.GetStatus().GetConditions() {
			if cond.GetType() == "Ready" {
				idx = i
			}
		}
		if idx < 0 || p.Status.Conditions[idx].GetStatus() == "False" {
			continue
		}
		upd := proto.Clone(p).(*corev1.Pod)
		cond := upd.Status.Conditions[idx]
		cond.Status, cond.LastTransitionTime = "False", metaTime(now)
		cond.Reason, cond.Message = "NodeNotReady", "Node is not ready"
		if _, err := c.client.Pods(p.GetMetadata().GetNamespace()).UpdateStatus(ctx, upd); err != nil {
			klog.V(2).InfoS("Marking pod not ready failed", "pod", klog.KObj(p.GetMetadata()), "err", err)
			continue
		}
		if c.recorder != nil {
			c.recorder.Event(p, events.Warning, "NodeNotReady", "Node is not ready")
		}
	}
}
