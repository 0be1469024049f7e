// Package app assembles kube-proxy: informers on Services, Endpoints and Nodes, the
// proxier of the chosen mode, the pod network, and the metrics and health endpoints.
package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/client"
	"kube5/proto/daemon"
	"kube5/proto/informer"
	"kube5/proto/version"
	"kube5/proxy/app/options"
	"kube5/proxy/internal/conntrack"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/iptablesproxy"
	"kube5/proxy/internal/metrics"
	"kube5/proxy/internal/podnet"
	"kube5/proxy/internal/proxy"
	"kube5/proxy/internal/runner"
	"kube5/proxy/internal/userspace"
)

// NewCommand parses the command line and runs kube-proxy until SIGINT/SIGTERM.
func NewCommand() int {
	fs := pflag.NewFlagSet("kube-proxy", pflag.ContinueOnError)
	opts := options.New()
	opts.AddFlags(fs)
	daemon.AddGlobalFlags(fs)
	daemon.AddVersionFlag(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "kube-proxy:", err)
		return 2
	}
	daemon.PrintVersionAndExitIfRequested(fs)
	if errs := opts.Validate(); len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "kube-proxy:", err)
		}
		return 2
	}
	defer klog.Flush()
	deps := Deps{IPTables: iptables.New(iptables.HostExec()), Exec: iptables.HostExec(), Conntrack: conntrack.New()}
	if opts.Cleanup {
		if err := Cleanup(context.Background(), opts, deps); err != nil {
			klog.ErrorS(err, "Cleanup failed")
			return 1
		}
		klog.InfoS("Removed kube-proxy's iptables rules, routes and service guard bridge")
		return 0
	}
	ctx := daemon.SignalContext()
	s, err := Setup(ctx, opts, deps)
	if err != nil {
		klog.ErrorS(err, "kube-proxy failed to start")
		return 1
	}
	if err := s.Run(ctx); err != nil {
		klog.ErrorS(err, "kube-proxy stopped with an error")
		return 1
	}
	return 0
}

// Deps are what kube-proxy programs: the host, or a test's namespace or fakes.
type Deps struct {
	IPTables iptables.Interface
	// Exec runs the ip command; nil disables routes and the service guard.
	Exec iptables.Exec
	// Client overrides the client made from --master/--kubeconfig.
	Client *client.Clientset
	// Conntrack deletes stale UDP conntrack entries after syncs; nil: never.
	Conntrack conntrack.Interface
}

// proxier is what the two modes have in common.
type proxier interface {
	Run(ctx context.Context)
	Changed()
}

// Server is a set-up kube-proxy, ready to Run.
type Server struct {
	Options  *options.Options
	NodeName string
	client   *clientsetCloser
	deps     Deps
	tracker  *proxy.Tracker
	proxier  proxier
	// Userspace is the userspace proxier in that mode (tests read its ports).
	Userspace *userspace.Proxier
	// IPTablesProxier is the iptables proxier in that mode.
	IPTablesProxier *iptablesproxy.Proxier
	routes          *podnet.Routes
	health          *metrics.Health
	metricsSrv      *daemon.Server
	healthMux       *http.ServeMux
}

type clientsetCloser struct {
	*client.Clientset
	own bool
}

// Setup checks the flags against the host and builds the daemon. Errors name the flag.
func Setup(ctx context.Context, o *options.Options, deps Deps) (*Server, error) {
	s := &Server{Options: o, deps: deps}
	s.NodeName = strings.ToLower(strings.TrimSpace(o.HostnameOverride))
	if s.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("cannot get the hostname; set --hostname-override: %w", err)
		}
		s.NodeName = strings.ToLower(h)
	}
	if deps.Client != nil {
		s.client = &clientsetCloser{Clientset: deps.Client}
	} else {
		cfg, err := o.Master.ClientConfig()
		if err != nil {
			return nil, err
		}
		cfg.UserAgent = "kube-proxy/" + version.Get().GitVersion
		cs, err := client.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("connecting to the apiserver at %s (--master/--kubeconfig): %w", cfg.Server, err)
		}
		s.client = &clientsetCloser{Clientset: cs, own: true}
	}
	reg := daemon.NewRegistry()
	m := metrics.New(reg)
	s.health = metrics.NewHealth(2 * o.SyncPeriod)
	s.metricsSrv = daemon.NewServer("kube-proxy", reg)
	check := daemon.HealthCheck{Name: "proxier-sync", Check: func(*http.Request) error { return s.health.Check() }}
	s.metricsSrv.AddHealthCheck(check)
	s.healthMux = http.NewServeMux()
	s.healthMux.HandleFunc("/healthz", s.serveHealthz)
	s.healthMux.HandleFunc("/livez", s.serveHealthz)

	switch o.ProxyMode {
	case options.ModeUserspace:
		// Leftovers of iptables mode would DNAT ClusterIPs before the portals see them.
		if err := iptablesproxy.Cleanup(deps.IPTables, nil, nil); err != nil {
			klog.ErrorS(err, "Removing iptables-mode rules failed")
		}
		p := userspace.New(userspace.Config{IPTables: deps.IPTables, MinSyncPeriod: o.MinSyncPeriod, SyncPeriod: o.SyncPeriod, Metrics: m, Health: s.health, Conntrack: deps.Conntrack})
		s.proxier, s.tracker, s.Userspace = p, p.Tracker, p
	default:
		for _, j := range userspace.JumpRules {
			_ = deps.IPTables.DeleteRule(j.Table, j.From, j.Args...)
		}
		for _, c := range userspace.Chains[:2] { // the filter chain is shared with iptables mode
			_ = deps.IPTables.FlushChain(c.Table, c.Chain)
			_ = deps.IPTables.DeleteChain(c.Table, c.Chain)
		}
		p := iptablesproxy.New(iptablesproxy.Config{
			IPTables: deps.IPTables, ClusterCIDR: o.ClusterCIDR, MasqueradeBit: o.MasqueradeBit,
			MinSyncPeriod: o.MinSyncPeriod, SyncPeriod: o.SyncPeriod, Metrics: m, Health: s.health,
			Conntrack: deps.Conntrack,
		})
		s.proxier, s.tracker, s.IPTablesProxier = p, p.Tracker, p
	}
	if deps.Exec != nil && o.ServiceGuardBridge != "" {
		if err := podnet.EnsureServiceGuard(ctx, deps.Exec, o.ServiceGuardBridge, o.ServiceClusterIPRange); err != nil {
			return nil, fmt.Errorf("routing --service-cluster-ip-range %s to bridge %s (--service-guard-bridge): %w", o.ServiceClusterIPRange, o.ServiceGuardBridge, err)
		}
	}
	if deps.Exec != nil && o.PodNetwork {
		s.routes = podnet.NewRoutes(podnet.Config{Exec: deps.Exec, IPTables: deps.IPTables, NodeName: s.NodeName, ClusterCIDR: o.ClusterCIDR})
	}
	return s, nil
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer func() {
		if s.client.own {
			s.client.Close()
		}
	}()
	mln, err := s.metricsSrv.Listen(s.Options.MetricsBindAddress, "metrics-bind-address")
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.metricsSrv.Serve(ctx, mln) }()
	if s.Options.HealthzBindAddress != "" {
		hln, err := s.metricsSrv.Listen(s.Options.HealthzBindAddress, "healthz-bind-address")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: s.healthMux, ReadHeaderTimeout: 30 * time.Second}
		wg.Add(2)
		go func() { defer wg.Done(); _ = srv.Serve(hln) }()
		go func() { defer wg.Done(); <-ctx.Done(); srv.Close() }()
	}

	f := informer.NewFactory(s.client.Clientset, 0)
	svcReg := informer.ForType[*corev1.Service](f).AddEventHandler(informer.Handler[*corev1.Service]{
		OnAdd:    func(o *corev1.Service) { s.serviceChanged(o, false) },
		OnUpdate: func(_, o *corev1.Service) { s.serviceChanged(o, false) },
		OnDelete: func(o *corev1.Service) { s.serviceChanged(o, true) },
	})
	epReg := informer.ForType[*corev1.Endpoints](f).AddEventHandler(informer.Handler[*corev1.Endpoints]{
		OnAdd:    func(o *corev1.Endpoints) { s.endpointsChanged(o, false) },
		OnUpdate: func(_, o *corev1.Endpoints) { s.endpointsChanged(o, false) },
		OnDelete: func(o *corev1.Endpoints) { s.endpointsChanged(o, true) },
	})
	if s.routes != nil {
		var nodeReg informer.Registration
		rr := runner.New("pod-network-routes", func() {
			if nodeReg == nil || !nodeReg.HasSynced() {
				// Before the Nodes are known every route would look stale: a restarted
				// kube-proxy must not cut the pod network while it lists them.
				return
			}
			if err := s.routes.Sync(ctx); err != nil {
				klog.ErrorS(err, "Syncing pod network routes failed")
			}
			if err := podnet.EnsureRules(podnet.Config{IPTables: s.deps.IPTables, ClusterCIDR: s.Options.ClusterCIDR}); err != nil {
				klog.ErrorS(err, "Writing pod network rules failed")
			}
		}, s.Options.MinSyncPeriod, s.Options.SyncPeriod)
		node := func(n *corev1.Node, deleted bool) {
			if deleted {
				s.routes.NodeChanged(n.Metadata.Name, nil)
			} else {
				s.routes.NodeChanged(n.Metadata.Name, n)
			}
			rr.Run()
		}
		nodeReg = informer.ForType[*corev1.Node](f).AddEventHandler(informer.Handler[*corev1.Node]{
			OnAdd:    func(n *corev1.Node) { node(n, false) },
			OnUpdate: func(_, n *corev1.Node) { node(n, false) },
			OnDelete: func(n *corev1.Node) { node(n, true) },
		})
		wg.Add(2)
		go func() { defer wg.Done(); rr.Loop(ctx) }()
		go func() {
			defer wg.Done()
			if informer.WaitForCacheSync(ctx, nodeReg.HasSynced) {
				rr.Run()
			}
		}()
	}
	f.Start(ctx)
	defer f.Shutdown()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if !informer.WaitForCacheSync(ctx, svcReg.HasSynced, epReg.HasSynced) {
			return
		}
		klog.InfoS("Services and Endpoints received; programming rules", "mode", s.Options.ProxyMode, "node", s.NodeName)
		s.tracker.SetSynced(true, true)
		s.proxier.Changed()
	}()
	s.proxier.Run(ctx)
	return nil
}

// serveHealthz answers :10256/healthz as upstream's proxier health server does: JSON
// with the last successful sync and the current time, 200 when syncs keep up and 503
// when they stall (load balancers probing nodes read the code).
func (s *Server) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	code := http.StatusOK
	if err := s.health.Check(); err != nil {
		code = http.StatusServiceUnavailable
		klog.V(2).InfoS("Reporting unhealthy", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"lastUpdated": %q,"currentTime": %q}`,
		s.health.LastUpdated().UTC().Format(time.RFC3339Nano), time.Now().UTC().Format(time.RFC3339Nano))
}

func (s *Server) serviceChanged(o *corev1.Service, deleted bool) {
	if o.Metadata == nil {
		return
	}
	ns, name := o.Metadata.Namespace, o.Metadata.Name
	if deleted {
		o = nil
	}
	s.tracker.ServiceChanged(ns, name, o)
	s.proxier.Changed()
}

func (s *Server) endpointsChanged(o *corev1.Endpoints, deleted bool) {
	if o.Metadata == nil {
		return
	}
	ns, name := o.Metadata.Namespace, o.Metadata.Name
	if deleted {
		o = nil
	}
	s.tracker.EndpointsChanged(ns, name, o)
	s.proxier.Changed()
}

// Cleanup removes everything kube-proxy added in either mode: the KUBE-* chains and the
// jumps to them, the pod network routes, and the service guard bridge and its route.
func Cleanup(ctx context.Context, o *options.Options, deps Deps) error {
	var jumps []iptablesproxy.JumpRule
	for _, j := range userspace.JumpRules {
		jumps = append(jumps, iptablesproxy.JumpRule{Table: j.Table, From: j.From, Args: j.Args})
	}
	for _, j := range podnet.JumpRules {
		jumps = append(jumps, iptablesproxy.JumpRule{Table: j.Table, From: j.From, Args: j.Args})
	}
	chains := []iptablesproxy.ChainRef{
		{Table: iptables.TableNAT, Chain: podnet.PodMasq}, {Table: iptables.TableFilter, Chain: podnet.PodForward},
	}
	for _, c := range userspace.Chains {
		chains = append(chains, iptablesproxy.ChainRef{Table: c.Table, Chain: c.Chain})
	}
	var errs []error
	if err := iptablesproxy.Cleanup(deps.IPTables, jumps, chains); err != nil {
		errs = append(errs, err)
	}
	if deps.Exec != nil {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := podnet.Cleanup(cctx, deps.Exec, o.ServiceGuardBridge); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
