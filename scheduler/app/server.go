// Package app assembles kube-scheduler: the client, the informers feeding the cache and
// the queue, the plugins, leader election, and the /healthz + /metrics endpoint.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/client"
	"kube5/proto/daemon"
	"kube5/proto/events"
	"kube5/proto/informer"
	"kube5/proto/leaderelection"
	"kube5/proto/version"
	"kube5/scheduler/app/options"
	"kube5/scheduler/internal/cache"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/plugins"
	"kube5/scheduler/internal/queue"
	"kube5/scheduler/internal/scheduler"
)

// NewCommand parses the command line and runs the scheduler until SIGINT/SIGTERM.
func NewCommand() int {
	fs := pflag.NewFlagSet("kube-scheduler", pflag.ContinueOnError)
	fs.SetNormalizeFunc(daemon.WordSepNormalizeFunc)
	opts := options.New()
	opts.AddFlags(fs)
	daemon.AddGlobalFlags(fs)
	daemon.AddVersionFlag(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "kube-scheduler:", err)
		return 2
	}
	daemon.PrintVersionAndExitIfRequested(fs)
	if errs := opts.Validate(); len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "kube-scheduler:", err)
		}
		return 2
	}
	defer klog.Flush()
	ctx := daemon.SignalContext()
	s, err := Setup(ctx, opts)
	if err != nil {
		klog.ErrorS(err, "kube-scheduler failed to start")
		return 1
	}
	if err := s.Run(ctx); err != nil {
		klog.ErrorS(err, "kube-scheduler stopped with an error")
		return 1
	}
	return 0
}

// Server is a set-up scheduler, ready to Run.
type Server struct {
	Options   *options.Options
	Client    *client.Clientset
	Scheduler *scheduler.Scheduler
	Cache     *cache.Cache
	Queue     *queue.Queue
	Registry  *prometheus.Registry

	factory  *informer.Factory
	recorder *events.Recorder
	http     *daemon.Server
	listener net.Listener
	identity string

	mu      sync.Mutex
	leading bool
}

// Setup builds the scheduler and binds the health port; errors name the flag to fix.
func Setup(_ context.Context, o *options.Options) (*Server, error) {
	cfg, err := o.Master.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "kube-scheduler/" + version.Get().GitVersion
	cs, err := client.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("--master/--kubeconfig: %w", err)
	}
	s := &Server{Options: o, Client: cs, Registry: daemon.NewRegistry(), identity: identity()}
	metrics, err := scheduler.NewMetrics(s.Registry, o.SchedulerName)
	if err != nil {
		cs.Close()
		return nil, err
	}
	f := informer.NewFactory(cs, 0)
	s.factory = f
	pods := informer.ForTypeWith[*corev1.Pod](f, "", informer.Options{FieldSelector: scheduler.PodFieldSelector})
	nodes := informer.ForType[*corev1.Node](f)
	h := framework.Handle{Listers: framework.Listers{
		Services:               informer.ForType[*corev1.Service](f).Lister(),
		ReplicationControllers: informer.ForType[*corev1.ReplicationController](f).Lister(),
		ReplicaSets:            informer.ForType[*appsv1.ReplicaSet](f).Lister(),
		Namespaces:             informer.ForType[*corev1.Namespace](f).Lister(),
	}}
	fw, err := framework.New(plugins.NewRegistry(), plugins.DefaultProfile(), h)
	if err != nil {
		cs.Close()
		return nil, err
	}
	s.Cache, s.Queue = cache.New(), queue.New()
	s.Queue.OnChange = metrics.SetPending
	s.recorder = events.NewRecorder(cs, o.SchedulerName, "")
	sc := scheduler.Config{
		SchedulerName: o.SchedulerName, Framework: fw, Cache: s.Cache, Queue: s.Queue,
		Binder: scheduler.APIBinder{Client: cs}, Status: scheduler.APIStatusUpdater{Client: cs},
		Recorder: s.recorder, Metrics: metrics, PercentageOfNodesToScore: o.PercentageOfNodesToScore,
	}
	s.Scheduler = scheduler.New(sc)
	pods.AddEventHandler(s.Scheduler.PodHandler())
	nodes.AddEventHandler(s.Scheduler.NodeHandler())

	s.http = daemon.NewServer("kube-scheduler", s.Registry)
	s.http.AddReadyzCheck(daemon.HealthCheck{Name: "informer-sync", Check: func(*http.Request) error {
		if !pods.HasSynced() || !nodes.HasSynced() {
			return errors.New("informers not synced")
		}
		return nil
	}})
	addr := net.JoinHostPort(o.BindAddress, strconv.Itoa(o.Port))
	if s.listener, err = s.http.Listen(addr, "--port"); err != nil {
		cs.Close()
		return nil, err
	}
	return s, nil
}

// identity is upstream's leader election identity: hostname_<random>.
func identity() string {
	host, _ := os.Hostname()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return host + "_" + hex.EncodeToString(b)
}

// Addr is the address /healthz and /metrics are served on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Identity is this instance's leader election identity.
func (s *Server) Identity() string { return s.identity }

// Leading reports whether this instance is scheduling (leader, or no election).
func (s *Server) Leading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}

func (s *Server) setLeading(v bool) {
	s.mu.Lock()
	s.leading = v
	s.mu.Unlock()
}

// ErrLeaderElectionLost is returned by Run when leadership ends before ctx: as upstream,
// the process exits and its supervisor restarts it as a fresh candidate.
var ErrLeaderElectionLost = errors.New("leaderelection lost")

// Run serves health and metrics, syncs the informers, and schedules (once leader, with
// --leader-elect) until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer s.Client.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.http.Serve(ctx, s.listener); err != nil {
			klog.ErrorS(err, "Health server stopped")
		}
	}()
	go func() {
		defer wg.Done()
		s.recorder.Run(ctx)
	}()
	klog.InfoS("Starting kube-scheduler", "version", version.Get().GitVersion, "schedulerName", s.Options.SchedulerName, "healthz", s.Addr())
	s.factory.Start(ctx)
	defer s.factory.Shutdown()
	if !s.factory.WaitForCacheSync(ctx) {
		return nil // stopped before the caches synced
	}
	nodes, pods, _ := s.Cache.Counts()
	klog.V(1).InfoS("Caches synced", "nodes", nodes, "boundPods", pods, "pending", s.Queue.Stats())
	run := func(ctx context.Context) {
		s.setLeading(true)
		defer s.setLeading(false)
		s.Scheduler.Run(ctx)
	}
	if !s.Options.LeaderElect {
		run(ctx)
		return nil
	}
	done := make(chan struct{})
	var led bool
	err := leaderelection.Run(ctx, leaderelection.Config{
		Client: s.Client, Namespace: s.Options.LeaderElectResourceNamespace, Name: s.Options.LeaderElectResourceName,
		Identity: s.identity, LeaseDuration: s.Options.LeaseDuration, RenewDeadline: s.Options.RenewDeadline,
		RetryPeriod: s.Options.RetryPeriod, ReleaseOnCancel: true,
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: func(ctx context.Context) {
				defer close(done)
				klog.InfoS("Started leading", "identity", s.identity)
				run(ctx)
			},
			OnStoppedLeading: func() { led = true },
			OnNewLeader: func(id string) {
				if id != s.identity {
					klog.InfoS("New leader elected", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	if led {
		<-done // the scheduling loop stops with the leadership context
		if ctx.Err() == nil {
			return ErrLeaderElectionLost
		}
	}
	return nil
}
