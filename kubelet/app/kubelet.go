package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/scheme"

	"kube5/kubelet/internal/config"
	"kube5/kubelet/internal/eviction"
	"kube5/kubelet/internal/nodestatus"
	"kube5/kubelet/internal/podworkers"
	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/server"
	"kube5/kubelet/internal/status"
)

// KubeletConfig is one kubelet's wiring: what Setup builds from the flags, and what tests
// and hollow nodes fill directly.
type KubeletConfig struct {
	NodeName string
	NodeIP   string
	// Client is the apiserver; nil runs standalone (static pods only).
	Client          *client.Clientset
	Runtime         runtime.Runtime
	PauseImage      string
	RootDir         string
	PodManifestPath string
	MaxPods         int
	Port            int
	DNS             []string
	Machine         nodestatus.Machine
	// Services lists a namespace's services (service env variables); nil: none.
	Services                  func(namespace string) []*corev1.Service
	NodeStatusUpdateFrequency time.Duration
	FileCheckFrequency        time.Duration
	RelistPeriod              time.Duration
	ResyncPeriod              time.Duration
	// BackOffInitial overrides the 10s first restart back-off (tests).
	BackOffInitial time.Duration
	// PodCIDRTimeout bounds how long pods wait for the node's podCIDR (--pod-cidr-timeout).
	PodCIDRTimeout time.Duration
	// NodeUsage reads the node's memory and eviction signals; nil runs no eviction manager
	// and reports the pods' sum as the node's usage (a hollow node has no resources of its
	// own to run out of).
	NodeUsage                                                                               func() (eviction.NodeMemory, eviction.Observations, error)
	EvictionThresholds                                                                      []eviction.Threshold
	EvictionPressureTransitionPeriod, EvictionMaxPodGracePeriod, EvictionMonitoringInterval time.Duration
}

// Kubelet is one node's agent.
type Kubelet struct {
	cfg     KubeletConfig
	workers *podworkers.Manager
	status  *status.Manager
	mirrors *config.Mirrors
	node    *nodestatus.Controller
	rec     interface {
		Eventf(obj scheme.Object, eventType, reason, format string, args ...any)
	}
	recorder *events.Recorder
	eviction *eviction.Manager // nil: none

	mu      sync.Mutex
	network string
	// networkWaitUntil: until then (or until the podCIDR's network exists) pods do not
	// start. Zero: no wait (standalone, or --pod-cidr-timeout=0).
	networkWaitUntil time.Time
}

// logRecorder logs events (standalone kubelets have nowhere to send them).
type logRecorder struct{}

func (logRecorder) Eventf(obj scheme.Object, eventType, reason, format string, args ...any) {
	klog.V(2).InfoS("Event", "object", klog.KObj(obj.GetMetadata()), "type", eventType, "reason", reason, "message", fmt.Sprintf(format, args...))
}

// NewKubelet wires a kubelet.
func NewKubelet(cfg KubeletConfig) *Kubelet {
	k := &Kubelet{cfg: cfg, rec: logRecorder{}}
	if cfg.Client != nil {
		k.recorder = events.NewRecorder(cfg.Client, "kubelet", cfg.NodeName)
		k.rec = k.recorder
		k.mirrors = config.NewMirrors(cfg.Client)
		k.status = status.NewManager(cfg.Client, k.mirrors.Mirror)
	} else {
		k.status = status.NewManager(nil, nil)
	}
	var objects podworkers.Objects
	if cfg.Client != nil {
		objects = apiObjects{cfg.Client}
	}
	wcfg := podworkers.Config{
		NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, PauseImage: cfg.PauseImage, RootDir: cfg.RootDir,
		Network: k.podNetwork, Services: cfg.Services, Objects: objects, DNS: cfg.DNS,
		RelistPeriod: cfg.RelistPeriod, ResyncPeriod: cfg.ResyncPeriod, BackOffInitial: cfg.BackOffInitial,
	}
	if cfg.NodeUsage != nil {
		signals := func() (eviction.Observations, error) {
			_, obs, err := cfg.NodeUsage()
			return obs, err
		}
		k.eviction = eviction.New(eviction.Config{
			NodeName: cfg.NodeName, Thresholds: cfg.EvictionThresholds, Signals: signals,
			PressureTransitionPeriod: cfg.EvictionPressureTransitionPeriod, MaxPodGracePeriod: cfg.EvictionMaxPodGracePeriod,
			MonitoringInterval: cfg.EvictionMonitoringInterval, Recorder: k.rec,
			Pods:  func() []*corev1.Pod { return k.workers.ActivePods() },
			Usage: eviction.RuntimeUsage(cfg.Runtime, cfg.RootDir),
			Evict: func(uid string, f *status.Failure, grace time.Duration) bool { return k.workers.FailPod(uid, f, grace) },
			Stopped: func(ctx context.Context, uid string) bool {
				list, err := cfg.Runtime.ListContainers(ctx, uid)
				for _, c := range list {
					if c.State == runtime.StateRunning {
						return false
					}
				}
				return err == nil
			},
		})
		wcfg.Admit = k.eviction.Admit
	}
	k.workers = podworkers.New(wcfg, cfg.Runtime, k.rec, k.status)
	if cfg.Client != nil {
		ncfg := nodestatus.Config{
			NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, Hostname: cfg.NodeName, MaxPods: cfg.MaxPods, Port: cfg.Port,
			Machine: cfg.Machine, RuntimeVersion: cfg.Runtime.Version, UpdateFrequency: cfg.NodeStatusUpdateFrequency,
			OnPodCIDR: k.onPodCIDR,
		}
		if k.eviction != nil {
			// Only a real node's conditions change: hollow nodes (thousands in a scale
			// test) send no condition events.
			ncfg.Recorder = k.rec
			ncfg.Pressure = func(condition string) bool { return k.eviction.Pressure(eviction.Pressure(condition)) }
			ncfg.MemoryReserved = eviction.MemoryReserved(cfg.EvictionThresholds, cfg.Machine.MemoryBytes)
		}
		k.node = nodestatus.New(ncfg, cfg.Client)
	}
	return k
}

// podNetwork is the pods' network and whether pods may start. A kubelet in a cluster
// waits (bounded by --pod-cidr-timeout) for node.spec.podCIDR: a pod started before it is
// known would stay on Docker's default bridge, which no other node routes to, for its
// whole life. Upstream kubelets likewise start no pod until the network plugin is ready.
func (k *Kubelet) podNetwork() (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.network, k.network != "" || !time.Now().Before(k.networkWaitUntil)
}

// onPodCIDR creates the pods' bridge network for the node's podCIDR.
func (k *Kubelet) onPodCIDR(cidr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := k.cfg.Runtime.EnsureNetwork(ctx, cidr)
	if err != nil {
		klog.ErrorS(err, "Creating the pod network failed; pods use the runtime's default network", "podCIDR", cidr)
		return
	}
	k.mu.Lock()
	k.network = name
	k.mu.Unlock()
	k.workers.WakeAll()
}

// Server returns the kubelet's API handlers.
func (k *Kubelet) Server() *server.Server {
	return &server.Server{NodeName: k.cfg.NodeName, RT: k.cfg.Runtime, Pods: k.workers, Status: k.status.Status, Node: k.cfg.NodeUsage}
}

// Workers returns the pod workers (tests).
func (k *Kubelet) Workers() *podworkers.Manager { return k.workers }

// Run runs the kubelet until ctx ends.
func (k *Kubelet) Run(ctx context.Context) {
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	var file *config.FileSource
	if k.cfg.PodManifestPath != "" {
		file = config.NewFileSource(k.cfg.PodManifestPath, k.cfg.NodeName, k.cfg.FileCheckFrequency, k.workers)
		if k.mirrors != nil {
			file.OnChange = k.mirrors.SetStatic
		}
		file.Sync()
	}
	if k.cfg.Client != nil {
		if k.cfg.PodCIDRTimeout > 0 {
			k.mu.Lock()
			k.networkWaitUntil = time.Now().Add(k.cfg.PodCIDRTimeout)
			k.mu.Unlock()
			run(k.warnNoPodCIDR)
		}
		run(k.recorder.Run)
		run(k.node.Run)
		run(k.node.WatchPodCIDR)
		run(k.mirrors.Run)
		// Pods start once the node is registered (and its podCIDR is likely known).
		select {
		case <-k.node.Registered():
		case <-ctx.Done():
		}
		src := config.NewAPIServerSource(k.cfg.Client, k.cfg.NodeName, k.workers, k.mirrors)
		run(src.Run)
		run(func(ctx context.Context) {
			if src.WaitForSync(ctx) {
				k.workers.SetSynced()
			}
		})
	} else {
		k.workers.SetSynced()
	}
	if file != nil {
		run(func(ctx context.Context) {
			t := time.NewTicker(max(k.cfg.FileCheckFrequency, time.Second))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					file.Sync()
				}
			}
		})
	}
	if k.eviction != nil {
		run(k.eviction.Run)
	}
	klog.InfoS("Kubelet running", "node", k.cfg.NodeName, "runtime", k.cfg.Runtime.Type(), "standalone", k.cfg.Client == nil)
	k.workers.Run(ctx)
	wg.Wait()
}

// warnNoPodCIDR says, once, that the wait for a podCIDR is over and pods start anyway.
func (k *Kubelet) warnNoPodCIDR(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(k.cfg.PodCIDRTimeout):
	}
	if name, _ := k.podNetwork(); name == "" {
		klog.Warningf("Node %s has no podCIDR after %s: pods start on Docker's default bridge, reachable from this node only. Run kube-controller-manager with --allocate-node-cidrs (as make cluster does) so pods are reachable across nodes", k.cfg.NodeName, k.cfg.PodCIDRTimeout)
		k.workers.WakeAll()
	}
}

// PodNetwork is the Docker network pods join ("" until the node has a podCIDR).
func (k *Kubelet) PodNetwork() string {
	name, _ := k.podNetwork()
	return name
}
