// Package eviction is the kubelet's eviction manager, as upstream's: every monitoring
// interval (10s) it reads the node's signals (memory.available, nodefs/imagefs
// available bytes and free inodes, pid.available), compares them with the
// --eviction-hard and --eviction-soft thresholds, reports the MemoryPressure,
// DiskPressure and PIDPressure node conditions (held for
// --eviction-pressure-transition-period after a threshold was last met, so a node does
// not flap), rejects new pods the pressure forbids, and, while a hard threshold (or a
// soft one past its grace period) is met, evicts one pod per interval: the one upstream's
// ranking puts first (usage above requests, then lowest priority, then largest usage).
// Static pods and pods of priority >= 2000000000 are critical and never evicted.
package eviction

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/events"
	"kube5/proto/scheme"

	"kube5/kubelet/internal/status"
)

// PodUsage is what a pod uses of the resources eviction reclaims.
type PodUsage struct {
	// Memory is the working set of each container, by container name.
	Memory map[string]int64
	// Disk is the bytes of the pod's volumes and logs under --root-dir.
	Disk int64
	// PIDs is the number of processes in the pod.
	PIDs int64
}

// Recorder records events (events.Recorder satisfies it).
type Recorder interface {
	Eventf(obj scheme.Object, eventType, reason, format string, args ...any)
}

// Config configures the manager. Signals, Pods, Usage and Evict are required.
type Config struct {
	NodeName   string
	Thresholds []Threshold
	// PressureTransitionPeriod: a pressure condition stays True this long after its
	// threshold was last met (--eviction-pressure-transition-period, 5m).
	PressureTransitionPeriod time.Duration
	// MaxPodGracePeriod caps the grace period of a soft eviction
	// (--eviction-max-pod-grace-period; hard evictions kill at once).
	MaxPodGracePeriod time.Duration
	// MonitoringInterval is how often the signals are read (10s).
	MonitoringInterval time.Duration
	Signals            func() (Observations, error)
	// Pods are the pods that run here and may be evicted.
	Pods func() []*corev1.Pod
	// Usage reports the pods' usage (read only when a pod must be chosen).
	Usage func(ctx context.Context, pods []*corev1.Pod) map[string]PodUsage
	// Evict stops a pod within grace and reports it Failed for f; false: it is gone.
	Evict func(uid string, f *status.Failure, grace time.Duration) bool
	// Stopped says whether an evicted pod's containers have all stopped (nil: do not
	// wait). Before the next round the manager waits for it, up to 30s, as upstream's:
	// the memory of a pod being killed is not free yet, and counting it again would
	// evict a second pod for the same shortage.
	Stopped  func(ctx context.Context, uid string) bool
	Recorder Recorder
	Now      func() time.Time
}

// Pressure names a node condition the manager drives.
type Pressure string

// The node conditions.
const (
	MemoryPressure Pressure = "MemoryPressure"
	DiskPressure   Pressure = "DiskPressure"
	PIDPressure    Pressure = "PIDPressure"
)

func (s Signal) pressure() Pressure {
	switch s {
	case MemoryAvailable:
		return MemoryPressure
	case PIDAvailable:
		return PIDPressure
	}
	return DiskPressure
}

// resource is the resource a signal's eviction reclaims, as upstream's messages name it.
func (s Signal) resource() string {
	switch s {
	case MemoryAvailable:
		return "memory"
	case PIDAvailable:
		return "pids"
	}
	return "ephemeral-storage"
}

// Manager is the eviction manager. Its methods are safe for concurrent use.
type Manager struct {
	cfg  Config
	node scheme.Object

	mu sync.Mutex
	// firstMet: when each threshold (by its text) was first seen met, for soft grace.
	firstMet map[string]time.Time
	// lastSeen: when each pressure was last observed, for the transition period.
	lastSeen   map[Pressure]time.Time
	conditions map[Pressure]bool
}

// New returns a manager; Run starts it.
func New(cfg Config) *Manager {
	if cfg.MonitoringInterval == 0 {
		cfg.MonitoringInterval = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	node := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: cfg.NodeName, Uid: cfg.NodeName}}
	return &Manager{cfg: cfg, node: node, firstMet: map[string]time.Time{}, lastSeen: map[Pressure]time.Time{}, conditions: map[Pressure]bool{}}
}

// Run observes and evicts every interval until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.MonitoringInterval)
	defer t.Stop()
	for {
		if p := m.Synchronize(ctx); p != nil && m.cfg.Stopped != nil {
			m.waitStopped(ctx, p)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// podCleanupTimeout bounds the wait for an evicted pod to stop (upstream's is 30s).
const podCleanupTimeout = 30 * time.Second

func (m *Manager) waitStopped(ctx context.Context, p *corev1.Pod) {
	ctx, cancel := context.WithTimeout(ctx, podCleanupTimeout)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for !m.cfg.Stopped(ctx, p.GetMetadata().GetUid()) {
		select {
		case <-ctx.Done():
			klog.InfoS("Eviction manager: the evicted pod has not stopped yet; going on", "pod", klog.KObj(p.GetMetadata()), "waited", podCleanupTimeout)
			return
		case <-t.C:
		}
	}
	klog.V(2).InfoS("Eviction manager: the evicted pod stopped", "pod", klog.KObj(p.GetMetadata()))
}

// Pressure says whether the node condition p is True.
func (m *Manager) Pressure(p Pressure) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conditions[p]
}

// met is a threshold met now, with what was observed.
type met struct {
	t   Threshold
	obs Observation
}

// Synchronize does one round: observe, update the conditions, and evict at most one pod.
// It returns the pod it evicted (nil: none).
func (m *Manager) Synchronize(ctx context.Context) *corev1.Pod {
	obs, err := m.cfg.Signals()
	if err != nil {
		klog.ErrorS(err, "Eviction manager: reading the node's signals failed")
		return nil
	}
	now := m.cfg.Now()
	var allMet []met
	for _, t := range m.cfg.Thresholds {
		o, ok := obs[t.Signal]
		if ok && o.Available < t.Value(o.Capacity) {
			allMet = append(allMet, met{t, o})
		}
	}
	m.mu.Lock()
	firstMet := map[string]time.Time{}
	var evictable []met
	for _, x := range allMet {
		first, ok := m.firstMet[x.t.raw]
		if !ok {
			first = now
		}
		firstMet[x.t.raw] = first
		m.lastSeen[x.t.Signal.pressure()] = now
		if x.t.Hard || now.Sub(first) >= x.t.GracePeriod {
			evictable = append(evictable, x)
		}
	}
	m.firstMet = firstMet
	for _, p := range []Pressure{MemoryPressure, DiskPressure, PIDPressure} {
		seen, ok := m.lastSeen[p]
		on := ok && (seen.Equal(now) || now.Sub(seen) < m.cfg.PressureTransitionPeriod)
		if on != m.conditions[p] {
			klog.InfoS("Eviction manager: node condition changed", "condition", p, "status", on)
		}
		m.conditions[p] = on
	}
	m.mu.Unlock()
	if len(evictable) == 0 {
		return nil
	}
	// Memory first, as upstream: it is the pressure that kills the node soonest.
	sort.SliceStable(evictable, func(i, j int) bool { return signalOrder(evictable[i].t.Signal) < signalOrder(evictable[j].t.Signal) })
	x := evictable[0]
	klog.InfoS("Eviction manager: attempting to reclaim", "resource", x.t.Signal.resource(), "threshold", x.t.raw, "available", x.obs.Available)
	if m.cfg.Recorder != nil {
		m.cfg.Recorder.Eventf(m.node, events.Warning, "EvictionThresholdMet", "Attempting to reclaim %s", x.t.Signal.resource())
	}
	var pods []*corev1.Pod
	for _, p := range m.cfg.Pods() {
		if !critical(p) {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		klog.InfoS("Eviction manager: no pod to evict (critical pods are never evicted)", "resource", x.t.Signal.resource())
		return nil
	}
	usage := m.cfg.Usage(ctx, pods)
	rank(x.t.Signal, pods, usage)
	grace := time.Duration(0)
	if !x.t.Hard {
		grace = m.cfg.MaxPodGracePeriod
	}
	for _, p := range pods {
		msg := message(x, p, usage[p.GetMetadata().GetUid()])
		if !m.cfg.Evict(p.GetMetadata().GetUid(), &status.Failure{Reason: "Evicted", Message: msg, Disruption: true}, podGrace(p, grace)) {
			continue
		}
		klog.InfoS("Eviction manager: evicted pod", "pod", klog.KObj(p.GetMetadata()), "message", msg)
		if m.cfg.Recorder != nil {
			m.cfg.Recorder.Eventf(p, events.Warning, "Evicted", "%s", msg)
		}
		return p
	}
	return nil
}

func signalOrder(s Signal) int {
	for i, k := range []Signal{MemoryAvailable, PIDAvailable, NodeFsAvailable, NodeFsInodesFree, ImageFsAvailable, ImageFsInodesFree} {
		if k == s {
			return i
		}
	}
	return 99
}

// podGrace is the eviction's grace period: the cap, or the pod's own when shorter.
func podGrace(p *corev1.Pod, limit time.Duration) time.Duration {
	if g := p.GetSpec().TerminationGracePeriodSeconds; g != nil && time.Duration(*g)*time.Second < limit {
		return time.Duration(*g) * time.Second
	}
	return limit
}

// SystemCriticalPriority is upstream's system-cluster-critical priority.
const SystemCriticalPriority = 2000000000

// critical pods are never evicted nor rejected: static and mirror pods, and those of
// system-critical priority.
func critical(p *corev1.Pod) bool {
	if status.IsStatic(p) || p.GetMetadata().GetAnnotations()["kubernetes.io/config.mirror"] != "" {
		return true
	}
	return p.GetSpec().Priority != nil && *p.GetSpec().Priority >= SystemCriticalPriority
}

// Admit rejects a new pod the node's pressure forbids, as upstream: under memory
// pressure alone only BestEffort pods are refused (unless they tolerate the
// memory-pressure taint), under disk or PID pressure every pod; critical pods always pass.
func (m *Manager) Admit(p *corev1.Pod) *status.Failure {
	m.mu.Lock()
	var conds []string
	for _, c := range []Pressure{MemoryPressure, DiskPressure, PIDPressure} {
		if m.conditions[c] {
			conds = append(conds, string(c))
		}
	}
	m.mu.Unlock()
	if len(conds) == 0 || critical(p) {
		return nil
	}
	if len(conds) == 1 && conds[0] == string(MemoryPressure) {
		if qosClass(p) != "BestEffort" || toleratesMemoryPressure(p) {
			return nil
		}
	}
	return &status.Failure{Reason: "Evicted", Message: fmt.Sprintf("The node had condition: %v. ", conds)}
}

func toleratesMemoryPressure(p *corev1.Pod) bool {
	for _, t := range p.GetSpec().GetTolerations() {
		keyOK := t.GetKey() == "node.kubernetes.io/memory-pressure" || t.GetKey() == "" && t.GetOperator() == "Exists"
		// The taint has no value: Equal (the default operator) tolerates it only without one.
		opOK := t.GetOperator() == "Exists" || (t.GetOperator() == "" || t.GetOperator() == "Equal") && t.GetValue() == ""
		if keyOK && opOK && (t.GetEffect() == "" || t.GetEffect() == "NoSchedule") {
			return true
		}
	}
	return false
}

// qosClass is the pod's QoS class: the apiserver's, or BestEffort when no container
// requests or limits cpu or memory.
func qosClass(p *corev1.Pod) string {
	if q := p.GetStatus().GetQosClass(); q != "" {
		return q
	}
	for _, c := range append(append([]*corev1.Container{}, p.GetSpec().GetInitContainers()...), p.GetSpec().GetContainers()...) {
		for _, rl := range []map[string]*metav1.Quantity{c.GetResources().GetRequests(), c.GetResources().GetLimits()} {
			if rl["cpu"] != nil || rl["memory"] != nil {
				return "Burstable"
			}
		}
	}
	return "BestEffort"
}
