// Package podworkers runs the pods of this node: one goroutine per pod drives the runtime
// towards the pod's spec (sandbox, containers in order, restarts with back-off, probes'
// verdicts, termination with the grace period) and reports the status. A relister
// (upstream's PLEG) lists the runtime's containers every second and wakes the workers of
// pods whose containers changed; it also kills the containers of pods nobody wants.
package podworkers

import (
	"context"
	"sync"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/events"
	"kube5/proto/scheme"

	"kube5/kubelet/internal/images"
	"kube5/kubelet/internal/prober"
	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/status"
)

// Recorder records events (events.Recorder satisfies it).
type Recorder interface {
	Eventf(obj scheme.Object, eventType, reason, format string, args ...any)
}

// StatusSink receives pod statuses and final deletions.
type StatusSink interface {
	// SetStatus reports a pod's status; the sink sends it when it changed.
	SetStatus(ctx context.Context, pod *corev1.Pod, st *corev1.PodStatus)
	// Terminated is called once a deleted pod's containers are all stopped: the sink
	// removes the pod object (delete with grace 0). nil means the object is gone (or was
	// never the sink's to delete: a static pod, another pod of the same name); an error
	// (the apiserver is unreachable) makes the worker call it again, with back-off, until
	// it succeeds or the pod is removed from its source.
	Terminated(ctx context.Context, pod *corev1.Pod) error
}

// Objects reads configMaps and secrets for volumes and env (nil without an apiserver).
type Objects interface {
	ConfigMapData(namespace, name string) (map[string][]byte, error)
	SecretData(namespace, name string) (map[string][]byte, error)
}

// Config configures the manager.
type Config struct {
	NodeName   string
	NodeIP     string
	PauseImage string
	RootDir    string
	// Network returns the Docker network of the podCIDR ("" = the default bridge) and
	// whether pods may start on it: false while the kubelet still waits for the node's
	// podCIDR, so a pod bound early does not live on a network no other node routes to.
	Network func() (name string, ready bool)
	// Services lists the services of a namespace, for the service env variables.
	Services func(namespace string) []*corev1.Service
	Objects  Objects
	DNS      []string
	// RelistPeriod is how often the runtime is listed (1s).
	RelistPeriod time.Duration
	// ResyncPeriod is how often a worker syncs without a reason (10s).
	ResyncPeriod time.Duration
	// Admit says whether a new pod may start on this node (nil: every pod may); a pod it
	// rejects fails at once with the failure's reason, as upstream's admission handlers
	// (the eviction manager rejects pods while the node is under pressure).
	Admit func(pod *corev1.Pod) *status.Failure
	// BackOff: the first restart delay (10s), its cap (5m), and how long a container must
	// run for its back-off to reset (10m).
	BackOffInitial, BackOffMax, BackOffReset time.Duration
}

// Manager owns the pod workers.
type Manager struct {
	cfg    Config
	rt     runtime.Runtime
	rec    Recorder
	sink   StatusSink
	images *images.Manager
	probes *prober.Manager

	mu      sync.Mutex
	workers map[string]*worker // pod UID -> worker
	// synced: the pod sources delivered their initial state, so containers of pods not
	// in workers are orphans and can be killed. Before that they may be pods the sources
	// have not reported yet (a restarted kubelet adopts them instead).
	synced bool
	ctx    context.Context
	wg     sync.WaitGroup
}

// New returns a manager. Run starts its relister.
func New(cfg Config, rt runtime.Runtime, rec Recorder, sink StatusSink) *Manager {
	if cfg.RelistPeriod == 0 {
		cfg.RelistPeriod = time.Second
	}
	if cfg.ResyncPeriod == 0 {
		cfg.ResyncPeriod = 10 * time.Second
	}
	if cfg.BackOffInitial == 0 {
		cfg.BackOffInitial = 10 * time.Second
	}
	if cfg.BackOffMax == 0 {
		cfg.BackOffMax = 5 * time.Minute
	}
	if cfg.BackOffReset == 0 {
		cfg.BackOffReset = 10 * time.Minute
	}
	if cfg.Network == nil {
		cfg.Network = func() (string, bool) { return "", true }
	}
	m := &Manager{cfg: cfg, rt: rt, rec: rec, sink: sink, workers: map[string]*worker{}, ctx: context.Background()}
	m.images = images.New(rt, rec)
	m.probes = prober.New(rt, rec, m.wake)
	m.probes.FakeNetwork = rt.Type() == "fake"
	return m
}

// Probes returns the probe manager (the server reports readiness through it).
func (m *Manager) Probes() *prober.Manager { return m.probes }

// Run relists the runtime until ctx ends, then waits for the workers to stop.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	for _, w := range m.workers {
		m.startWorker(w)
	}
	m.mu.Unlock()
	t := time.NewTicker(m.cfg.RelistPeriod)
	defer t.Stop()
	last := map[string]seenContainer{}
	for {
		last = m.relist(ctx, last)
		select {
		case <-ctx.Done():
			m.wg.Wait()
			return
		case <-t.C:
		}
	}
}

// SetSynced says the pod sources delivered their initial state.
func (m *Manager) SetSynced() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.synced = true
}

// relist lists the runtime, wakes the workers of pods whose containers changed state and
// starts killers for orphans.
// seenContainer is what the relister remembers of a container.
type seenContainer struct {
	state  runtime.State
	podUID string
}

func (m *Manager) relist(ctx context.Context, last map[string]seenContainer) map[string]seenContainer {
	list, err := m.rt.ListContainers(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			klog.ErrorS(err, "Listing containers failed")
		}
		return last
	}
	now := make(map[string]seenContainer, len(list))
	changed := map[string]bool{}
	present := map[string]*runtime.Container{}
	for _, c := range list {
		now[c.ID] = seenContainer{c.State, c.PodUID}
		present[c.PodUID] = c
		if last[c.ID].state != c.State {
			changed[c.PodUID] = true
		}
	}
	for id, c := range last {
		if _, ok := now[id]; !ok {
			changed[c.podUID] = true // removed behind our back
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for uid := range changed {
		if w, ok := m.workers[uid]; ok {
			w.poke()
		}
	}
	if m.synced {
		for uid, c := range present {
			if _, ok := m.workers[uid]; !ok {
				klog.InfoS("Killing the containers of a pod this node does not run", "pod", c.PodNamespace+"/"+c.PodName, "podUID", uid)
				w := m.newWorker(uid, nil)
				w.removed = true
				w.orphan = c
				m.workers[uid] = w
				m.startWorker(w)
			}
		}
	}
	return now
}

// UpdatePod hands the pod's latest spec to its worker, starting one for a new pod.
func (m *Manager) UpdatePod(pod *corev1.Pod) {
	uid := pod.GetMetadata().GetUid()
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.workers[uid]; ok {
		w.update(pod)
		return
	}
	w := m.newWorker(uid, pod)
	// Only a pod that has not started here yet is admitted: a restarted kubelet adopts
	// the pods it was running, pressure or not.
	if p := pod.GetStatus().GetPhase(); m.cfg.Admit != nil && (p == "" || p == "Pending") {
		if f := m.cfg.Admit(pod); f != nil {
			klog.InfoS("Pod rejected at admission", "pod", klog.KObj(pod.GetMetadata()), "reason", f.Reason, "message", f.Message)
			m.rec.Eventf(pod, events.Warning, f.Reason, "%s", f.Message)
			w.failure = f
		}
	}
	m.workers[uid] = w
	m.startWorker(w)
}

// FailPod stops a running pod within grace and reports it Failed for f (the eviction
// manager evicts through it). It says whether the pod was running here.
func (m *Manager) FailPod(uid string, f *status.Failure, grace time.Duration) bool {
	m.mu.Lock()
	w, ok := m.workers[uid]
	m.mu.Unlock()
	if !ok {
		return false
	}
	if pod, removed := w.snapshot(); pod == nil || removed {
		return false
	}
	w.fail(f, grace)
	return true
}

// ActivePods returns the pods that run or may still run here: not deleted, not failed
// by the kubelet, not in a terminal phase (the eviction manager's candidates).
func (m *Manager) ActivePods() []*corev1.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*corev1.Pod
	for _, w := range m.workers {
		p, removed := w.snapshot()
		if p == nil || removed || p.GetMetadata().GetDeletionTimestamp() != nil || w.currentFailure() != nil {
			continue
		}
		if ph := p.GetStatus().GetPhase(); ph == "Succeeded" || ph == "Failed" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// RemovePod says the pod is gone from its source: its worker kills it and ends.
func (m *Manager) RemovePod(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.workers[uid]; ok {
		w.remove()
	}
}

// Pods returns the pods with workers (for the server's /pods).
func (m *Manager) Pods() []*corev1.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*corev1.Pod
	for _, w := range m.workers {
		if p, _ := w.snapshot(); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// WakeAll makes every worker sync now (the pod network became ready).
func (m *Manager) WakeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		w.poke()
	}
}

func (m *Manager) wake(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.workers[uid]; ok {
		w.poke()
	}
}

// startWorker runs w once Run has been called (m.mu held).
func (m *Manager) startWorker(w *worker) {
	if m.ctx == context.Background() || w.running {
		return
	}
	w.running = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.loop(m.ctx)
	}()
}

// forget drops a finished worker, unless a newer one replaced it.
func (m *Manager) forget(w *worker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.workers[w.uid] == w {
		delete(m.workers, w.uid)
	}
}
