// Package app assembles kube-apiserver: etcd (embedded or remote), the resource table,
// the REST and gRPC APIs on one port, and the health and metrics endpoints.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"k8s.io/klog/v2"

	"kube5/apiserver/app/options"
	"kube5/apiserver/internal/connmux"
	"kube5/apiserver/internal/etcdserver"
	"kube5/apiserver/internal/grpcapi"
	"kube5/apiserver/internal/kubernetesservice"
	"kube5/apiserver/internal/metrics"
	"kube5/apiserver/internal/registry/pod"
	"kube5/apiserver/internal/rest"
	"kube5/apiserver/internal/storage"
	"kube5/apiserver/internal/watchcache"
	"kube5/proto/daemon"
	"kube5/proto/outage"
	"kube5/proto/version"
)

// NewCommand parses the command line and runs the apiserver until SIGINT/SIGTERM.
func NewCommand() int {
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	opts := options.New()
	opts.AddFlags(fs)
	daemon.AddGlobalFlags(fs)
	daemon.AddVersionFlag(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "kube-apiserver:", err)
		return 2
	}
	daemon.PrintVersionAndExitIfRequested(fs)
	if errs := opts.Validate(); len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "kube-apiserver:", err)
		}
		return 2
	}
	defer klog.Flush()
	ctx := daemon.SignalContext()
	s, err := Setup(ctx, opts)
	if err != nil {
		klog.ErrorS(err, "kube-apiserver failed to start")
		return 1
	}
	if err := s.Run(ctx); err != nil {
		klog.ErrorS(err, "kube-apiserver stopped with an error")
		return 1
	}
	return 0
}

// Server is a set-up apiserver, ready to Run.
type Server struct {
	Options  *options.Options
	etcd     *etcdserver.Server // nil with --etcd-servers
	client   *clientv3.Client
	api      *API
	registry *prometheus.Registry
	listener net.Listener

	// etcdReporter logs, at a bounded rate, that etcd cannot be reached.
	etcdReporter *outage.Reporter
	// kubeService keeps the kubernetes service (nil with --endpoint-reconciler-type=none).
	kubeService *kubernetesservice.Controller
}

// Setup connects to (or starts) etcd, builds the API and binds the port. Errors name the
// flag to fix.
func Setup(ctx context.Context, o *options.Options) (*Server, error) {
	s := &Server{Options: o, registry: daemon.NewRegistry()}
	// The port first: a conflict is an error at once, not after etcd answers; and while
	// etcd is awaited the port says why (waiting.go).
	addr := net.JoinHostPort(o.BindAddress, strconv.Itoa(o.Port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serving the API on %s: %w (is another kube-apiserver running? change --insecure-port or --insecure-bind-address)", addr, err)
	}
	s.listener = l
	waiting := startWaiting(l, "kube-apiserver is starting: connecting to etcd")
	defer waiting.stop()
	endpoints := o.EtcdServers
	if len(endpoints) == 0 {
		klog.InfoS("No --etcd-servers given: running an embedded etcd", "dataDir", o.DataDir, "clientURL", o.EmbeddedEtcdClientURL)
		e, err := etcdserver.Start(ctx, etcdserver.Config{DataDir: o.DataDir, ListenClientURL: o.EmbeddedEtcdClientURL, ListenPeerURL: o.EmbeddedEtcdPeerURL})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("starting the embedded etcd (--data-dir=%s, --embedded-etcd-listen-client-url=%s): %w", o.DataDir, o.EmbeddedEtcdClientURL, err)
		}
		s.etcd, endpoints = e, e.Endpoints()
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: quietZap(),
		DialOptions: []grpc.DialOption{etcdReconnect}})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("connecting to etcd at %v (--etcd-servers): %w", endpoints, err)
	}
	s.client = cli
	s.etcdReporter = newEtcdReporter(endpoints, s.etcd != nil)
	klog.InfoS("Waiting for etcd; the API port answers 503 with the reason meanwhile", "address", l.Addr().String(), "etcd", endpoints)
	if err := waitForEtcd(ctx, cli, endpoints, s.etcdReporter, func(cause string) {
		waiting.setReason("kube-apiserver: " + s.etcdReporter.Message(cause))
	}); err != nil {
		s.close()
		return nil, err
	}
	waiting.setReason("kube-apiserver is starting: etcd answers, loading the watch caches")
	api, err := NewAPI(ctx, cli, APIConfig{
		ServiceClusterIPRange: o.ServiceClusterIPRange, ServiceNodePortRange: o.ServiceNodePortRange,
		BookmarkInterval: o.WatchBookmarkInterval, SchedulerHealthURL: o.SchedulerHealthURL,
		ControllerManagerHealthURL: o.ControllerManagerHealthURL,
		PodTolerations: &pod.TolerationSeconds{
			NotReady: o.DefaultNotReadyTolerationSeconds, Unreachable: o.DefaultUnreachableTolerationSeconds,
		},
	})
	if err != nil {
		s.close()
		return nil, err
	}
	s.api = api
	metrics.Register(s.registry)
	if err := storage.RegisterMetrics(s.registry); err != nil {
		s.close()
		return nil, err
	}
	if err := watchcache.RegisterMetrics(s.registry); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// Addr is the address the API is served on (useful with --insecure-port=0 in tests).
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Run serves until ctx ends, then stops gracefully.
func (s *Server) Run(ctx context.Context) error {
	defer s.close()
	if len(s.Options.EtcdServers) > 0 {
		// An external etcd may go away while we serve: say so in the log, not only in
		// /readyz. Stopped before the etcd client closes.
		mctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); monitorEtcd(mctx, s.client, s.Options.EtcdServers, s.etcdReporter) }()
		defer func() { stop(); <-done }()
	}
	if s.Options.EtcdCompactionInterval > 0 {
		s.api.Storage.StartCompactor(ctx, s.Options.EtcdCompactionInterval)
	}
	if s.Options.EndpointReconcilerType == "lease" {
		// Waited for before etcd closes: on the way out it takes this apiserver out of
		// the kubernetes endpoints.
		kctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		s.kubeService = s.kubernetesService()
		go func() { defer close(done); s.kubeService.Run(kctx) }()
		defer func() { stop(); <-done }()
	}
	mux := connmux.New(s.listener)
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(rest.MaxRequestBodyBytes+1024),
		grpc.MaxSendMsgSize(1<<30),
		// Clients ping to notice a dead apiserver; allow it.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	)
	grpcapi.New(s.api.Table).Register(g)
	h := &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 3)
	go func() { errc <- g.Serve(mux.GRPC()) }()
	go func() { errc <- h.Serve(mux.HTTP()) }()
	go func() { errc <- mux.Serve() }()
	klog.InfoS("Serving the API (gRPC and REST)", "address", s.Addr(), "version", version.Get().GitVersion)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	klog.InfoS("Shutting down the API")
	mux.Close()
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.Shutdown(shutCtx)
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutCtx.Done(): // watch streams do not end by themselves
		g.Stop()
	}
	return err
}

// kubernetesService is the controller of the "kubernetes" service and its endpoints.
func (s *Server) kubernetesService() *kubernetesservice.Controller {
	ip := advertiseAddress(s.Options.AdvertiseAddress, s.Options.BindAddress)
	if !ip.IsValid() {
		klog.InfoS("No address to advertise (give --advertise-address): the kubernetes service gets no endpoints")
	}
	port := s.listener.Addr().(*net.TCPAddr).Port
	return &kubernetesservice.Controller{
		Services: s.api.services, Endpoints: s.api.endpoints, Etcd: s.client,
		ClusterIP: s.api.firstIP, IP: ip, Port: int32(port),
		Interval: 10 * time.Second, TTL: 15 * time.Second,
	}
}

// httpHandler serves the REST API and the non-resource paths (/healthz, /livez,
// /readyz, /metrics, /version), with the health plumbing every daemon shares.
func (s *Server) httpHandler() http.Handler {
	d := daemon.NewServer("kube-apiserver", s.registry)
	api := rest.New(s.api.Table)
	for _, p := range []string{"/api", "/api/", "/apis", "/apis/"} {
		d.Handle(p, api)
	}
	d.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(version.Get())
	})
	etcd := daemon.HealthCheck{Name: "etcd", Check: func(r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		_, err := s.client.Get(ctx, "/registry/health-check")
		return err
	}}
	// readyz fails while etcd is unreachable; healthz and livez too, as upstream.
	d.AddHealthCheck(etcd)
	d.AddReadyzCheck(daemon.HealthCheck{Name: "informer-sync", Check: func(r *http.Request) error { return s.api.Synced(r.Context()) }})
	if k := s.kubeService; k != nil {
		d.AddReadyzCheck(daemon.HealthCheck{Name: "poststarthook/bootstrap-controller", Check: func(*http.Request) error {
			if !k.Synced() {
				return errors.New("the kubernetes service in default is not made yet")
			}
			return nil
		}})
	}
	return d.Handler()
}

func (s *Server) closeEtcd() {
	if s.etcd != nil {
		s.etcd.Close()
		s.etcd = nil
	}
}

func (s *Server) close() {
	if s.api != nil {
		s.api.Stop()
	}
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	if s.listener != nil {
		s.listener.Close()
	}
	s.closeEtcd()
}
