package nodestatus

import (
	"context"
	goruntime "runtime"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/version"
)

// LeaseNamespace holds the nodes' heartbeat leases.
const LeaseNamespace = "kube-node-lease"

// Config configures the node status loop.
type Config struct {
	NodeName       string
	NodeIP         string
	Hostname       string
	MaxPods        int
	Port           int // the kubelet's port, for daemonEndpoints
	Machine        Machine
	RuntimeVersion func(ctx context.Context) (string, error)
	// UpdateFrequency is --node-status-update-frequency (10s); unchanged statuses are
	// still sent every ReportInterval (1m).
	UpdateFrequency, ReportInterval, LeaseInterval time.Duration
	LeaseDuration                                  int32
	// OnPodCIDR is called whenever the node's podCIDR is seen (set or changed).
	OnPodCIDR func(cidr string)
	// Pressure says whether MemoryPressure, DiskPressure or PIDPressure is True (the
	// eviction manager's verdict); nil: never.
	Pressure func(condition string) bool
	// Recorder records the node's condition events (nil: none).
	Recorder Recorder
	// MemoryReserved is subtracted from the memory capacity for allocatable: the hard
	// memory.available eviction threshold, as upstream.
	MemoryReserved int64
}

// Controller keeps the node registered and alive.
type Controller struct {
	cfg Config
	c   *client.Clientset

	mu         sync.Mutex
	podCIDR    string
	lastSent   *corev1.NodeStatus
	lastTime   time.Time
	registered chan struct{}
	once       sync.Once
}

// New returns a controller.
func New(cfg Config, c *client.Clientset) *Controller {
	if cfg.UpdateFrequency == 0 {
		cfg.UpdateFrequency = 10 * time.Second
	}
	if cfg.ReportInterval == 0 {
		cfg.ReportInterval = time.Minute
	}
	if cfg.LeaseInterval == 0 {
		cfg.LeaseInterval = 10 * time.Second
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 40
	}
	return &Controller{cfg: cfg, c: c, registered: make(chan struct{})}
}

// Registered is closed once the node object exists.
func (n *Controller) Registered() <-chan struct{} { return n.registered }

// PodCIDR is the node's podCIDR as last seen.
func (n *Controller) PodCIDR() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.podCIDR
}

// Run registers the node, then renews the lease and updates the status until ctx ends.
func (n *Controller) Run(ctx context.Context) {
	// As upstream's kubelet: retry from 100ms, doubling up to 7s. An apiserver that cannot
	// be reached is already reported by the client (at a bounded rate, naming the address
	// and --kubeconfig), so only the apiserver's own refusals get a line per attempt.
	for delay := 100 * time.Millisecond; ctx.Err() == nil; delay = min(2*delay, 7*time.Second) {
		err := n.register(ctx)
		if err == nil {
			break
		}
		if ctx.Err() == nil {
			client.LogRetryFailure(err, "Registering the node failed; retrying", "node", n.cfg.NodeName, "retryIn", delay)
		}
		sleep(ctx, delay)
	}
	n.once.Do(func() { close(n.registered) })
	go n.leaseLoop(ctx)
	t := time.NewTicker(n.cfg.UpdateFrequency)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := n.updateStatus(ctx, false); err != nil && ctx.Err() == nil {
			client.LogRetryFailure(err, "Updating node status failed", "node", n.cfg.NodeName)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (n *Controller) register(ctx context.Context) error {
	node := &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: n.cfg.NodeName, Labels: map[string]string{
			"kubernetes.io/hostname": n.cfg.NodeName, "kubernetes.io/os": goruntime.GOOS, "kubernetes.io/arch": goruntime.GOARCH,
			"beta.kubernetes.io/os": goruntime.GOOS, "beta.kubernetes.io/arch": goruntime.GOARCH,
		}},
		Spec: &corev1.NodeSpec{},
	}
	_, err := n.c.Nodes().Create(ctx, node)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err == nil {
		klog.InfoS("Node registered", "node", n.cfg.NodeName)
	} else {
		klog.InfoS("Node already registered: taking it over", "node", n.cfg.NodeName)
	}
	return n.updateStatus(ctx, true)
}

// Status builds the node's status (conditions' times kept from old where unchanged).
func (n *Controller) Status(ctx context.Context, old *corev1.NodeStatus) *corev1.NodeStatus {
	m := n.cfg.Machine
	rv, err := n.cfg.RuntimeVersion(ctx)
	ready, reason, msg := "True", "KubeletReady", "kubelet is posting ready status"
	if err != nil {
		ready, reason, msg = "False", "KubeletNotReady", "container runtime is down: "+err.Error()
		rv = ""
	}
	capacity := map[string]*metav1.Quantity{
		"cpu":    metav1.NewQuantity(int64(m.CPUs), metav1.DecimalSI),
		"memory": metav1.NewQuantity(m.MemoryBytes, metav1.BinarySI),
		"pods":   metav1.NewQuantity(int64(n.cfg.MaxPods), metav1.DecimalSI),
	}
	alloc := map[string]*metav1.Quantity{}
	for k, v := range capacity {
		alloc[k] = proto.Clone(v).(*metav1.Quantity)
	}
	if r := n.cfg.MemoryReserved; r > 0 && r < m.MemoryBytes {
		alloc["memory"] = metav1.NewQuantity(m.MemoryBytes-r, metav1.BinarySI)
	}
	now := metav1.Now()
	pressure := func(typ, okReason, okMsg, badReason, badMsg string) *corev1.NodeCondition {
		if n.cfg.Pressure != nil && n.cfg.Pressure(typ) {
			return &corev1.NodeCondition{Type: typ, Status: "True", Reason: badReason, Message: badMsg}
		}
		return &corev1.NodeCondition{Type: typ, Status: "False", Reason: okReason, Message: okMsg}
	}
	conds := []*corev1.NodeCondition{
		pressure("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
		pressure("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", "KubeletHasDiskPressure", "kubelet has disk pressure"),
		pressure("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available", "KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
		{Type: "Ready", Status: ready, Reason: reason, Message: msg},
	}
	for _, c := range conds {
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, o := range old.GetConditions() {
			if o.GetType() == c.Type && o.GetStatus() == c.Status && o.GetLastTransitionTime() != nil {
				c.LastTransitionTime = o.GetLastTransitionTime()
			}
		}
	}
	return &corev1.NodeStatus{
		Capacity: capacity, Allocatable: alloc, Conditions: conds,
		Addresses:       []*corev1.NodeAddress{{Type: "InternalIP", Address: n.cfg.NodeIP}, {Type: "Hostname", Address: n.cfg.Hostname}},
		DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: int32(n.cfg.Port)}},
		NodeInfo: &corev1.NodeSystemInfo{
			MachineId: m.MachineID, BootId: m.BootID, KernelVersion: m.KernelVersion, OsImage: m.OSImage,
			ContainerRuntimeVersion: rv, KubeletVersion: version.Get().GitVersion, KubeProxyVersion: version.Get().GitVersion,
			OperatingSystem: goruntime.GOOS, Architecture: goruntime.GOARCH,
		},
	}
}

// withoutHeartbeats strips the times that change on every report, to compare statuses.
func withoutHeartbeats(s *corev1.NodeStatus) *corev1.NodeStatus {
	c := proto.Clone(s).(*corev1.NodeStatus)
	for _, cond := range c.Conditions {
		cond.LastHeartbeatTime = nil
	}
	return c
}

func (n *Controller) updateStatus(ctx context.Context, force bool) error {
	node, err := n.c.Nodes().Get(ctx, n.cfg.NodeName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			// Someone deleted our node: register again.
			return n.register(ctx)
		}
		return err
	}
	n.notePodCIDR(node)
	st := n.Status(ctx, node.GetStatus())
	n.mu.Lock()
	changed := n.lastSent == nil || !proto.Equal(withoutHeartbeats(st), withoutHeartbeats(n.lastSent))
	due := time.Since(n.lastTime) >= n.cfg.ReportInterval
	n.mu.Unlock()
	if !force && !changed && !due {
		return nil
	}
	st.Images = node.GetStatus().GetImages()
	st.Phase = node.GetStatus().GetPhase()
	node.Status = st
	if _, err := n.c.Nodes().UpdateStatus(ctx, node); err != nil {
		return err
	}
	n.mu.Lock()
	prev := n.lastSent
	n.lastSent, n.lastTime = st, time.Now()
	n.mu.Unlock()
	n.recordConditionEvents(prev, st)
	return nil
}

func (n *Controller) notePodCIDR(node *corev1.Node) {
	cidr := node.GetSpec().GetPodCidr()
	n.mu.Lock()
	changed := cidr != n.podCIDR
	n.podCIDR = cidr
	n.mu.Unlock()
	if changed && cidr != "" && n.cfg.OnPodCIDR != nil {
		n.cfg.OnPodCIDR(cidr)
	}
}

// WatchPodCIDR polls the node for a podCIDR until one is set (the controller-manager
// allocates it soon after registration): every 200ms for 10s, since pods wait for it, then
// every second for the first minute.
func (n *Controller) WatchPodCIDR(ctx context.Context) {
	<-n.registered
	for i := 0; ctx.Err() == nil && n.PodCIDR() == ""; i++ {
		if node, err := n.c.Nodes().Get(ctx, n.cfg.NodeName); err == nil {
			n.notePodCIDR(node)
		}
		d := 200 * time.Millisecond
		if i > 50 {
			d = time.Second
		}
		if i > 100 {
			d = 10 * time.Second
		}
		sleep(ctx, d)
	}
}

func (n *Controller) leaseLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.LeaseInterval)
	defer t.Stop()
	for {
		if err := n.renewLease(ctx); err != nil && ctx.Err() == nil {
			client.LogRetryFailure(err, "Renewing the node lease failed", "node", n.cfg.NodeName)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Controller) renewLease(ctx context.Context) error {
	leases := n.c.Leases(LeaseNamespace)
	now := metav1.NowMicro()
	l, err := leases.Get(ctx, n.cfg.NodeName)
	if apierrors.IsNotFound(err) {
		holder, dur := n.cfg.NodeName, n.cfg.LeaseDuration
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			Metadata: &metav1.ObjectMeta{Name: n.cfg.NodeName, Namespace: LeaseNamespace},
			Spec:     &coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: now, AcquireTime: now},
		})
		return err
	}
	if err != nil {
		return err
	}
	if l.Spec == nil {
		l.Spec = &coordinationv1.LeaseSpec{}
	}
	holder, dur := n.cfg.NodeName, n.cfg.LeaseDuration
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &holder, &dur, now
	_, err = leases.Update(ctx, l)
	return err
}
