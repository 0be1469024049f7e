// Package app assembles kube-controller-manager: flags, the /healthz + /metrics server,
// leader election, and the controllers of the registration maps, run on shared
// informers.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/daemon"
	"kube5/proto/events"
	"kube5/proto/informer"
	"kube5/proto/leaderelection"
	"kube5/proto/version"
	"kube5/proto/workqueue"

	"kube5/controller-manager/app/options"
	"kube5/controller-manager/internal/controller"
)

const component = "kube-controller-manager"

// defaultOff lists the controllers "*" does not enable (none yet; upstream has a few,
// like bootstrapsigner).
var defaultOff = map[string]bool{}

// Controllers returns every registered controller: the workload controllers and the
// cluster controllers.
func Controllers() map[string]controller.Constructor {
	all := map[string]controller.Constructor{}
	for _, m := range []map[string]controller.Constructor{workloadControllers, clusterControllers} {
		for name, ctor := range m {
			all[name] = ctor
		}
	}
	return all
}

// KnownControllers returns the registered names, sorted.
func KnownControllers() []string {
	var names []string
	for name := range Controllers() {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// IsEnabled applies upstream's --controllers rules: an explicit "-name" disables, an
// explicit "name" enables, otherwise "*" enables the default-on controllers.
func IsEnabled(name string, list []string) bool {
	star := false
	for _, c := range list {
		switch c {
		case name:
			return true
		case "-" + name:
			return false
		case "*":
			star = true
		}
	}
	return star && !defaultOff[name]
}

// NewCommand parses the command line and runs the controller-manager until SIGINT or
// SIGTERM.
func NewCommand() int { return Main(os.Args[1:]) }

// Main runs the controller-manager with args (without the program name) and returns the
// exit code: 2 for bad flags, 1 for a failure to start or run, 0 after a clean stop.
func Main(args []string) int {
	fs := pflag.NewFlagSet(component, pflag.ContinueOnError)
	fs.SetNormalizeFunc(daemon.WordSepNormalizeFunc) // --concurrent_rc_syncs, as upstream spells it
	opts := options.New()
	opts.AddFlags(fs)
	daemon.AddGlobalFlags(fs)
	daemon.AddVersionFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, component+":", err)
		return 2
	}
	daemon.PrintVersionAndExitIfRequested(fs)
	opts.Complete()
	if errs := opts.Validate(KnownControllers()); len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, component+":", err)
		}
		return 2
	}
	defer klog.Flush()
	ctx := daemon.SignalContext()
	s, err := Setup(opts)
	if err != nil {
		klog.ErrorS(err, component+" failed to start")
		return 1
	}
	if err := s.Run(ctx); err != nil {
		klog.ErrorS(err, component+" stopped with an error")
		return 1
	}
	return 0
}

// Server is a set-up controller-manager, ready to Run.
type Server struct {
	Options  *options.Options
	Client   *client.Clientset
	http     *daemon.Server
	listener net.Listener // nil with --port=0
	ctors    map[string]controller.Constructor

	mu      sync.Mutex
	leading bool
}

// Setup builds the client and binds the health port. It does not contact the apiserver,
// so it succeeds while the apiserver is down; Run waits for it.
func Setup(o *options.Options) (*Server, error) {
	ccfg, err := o.Master.ClientConfig()
	if err != nil {
		return nil, err
	}
	ccfg.UserAgent = component + "/" + version.Get().GitVersion
	ccfg.Timeout = 30 * time.Second
	cs, err := client.New(ccfg)
	if err != nil {
		return nil, err
	}
	s := &Server{Options: o, Client: cs, ctors: Controllers()}
	s.http = daemon.NewServer(component, nil)
	if err := workqueue.RegisterMetrics(s.http.Registry()); err != nil {
		cs.Close()
		return nil, err
	}
	if o.Port != 0 {
		s.listener, err = s.http.Listen(net.JoinHostPort(o.BindAddress, strconv.Itoa(o.Port)), "--port")
		if err != nil {
			cs.Close()
			return nil, err
		}
	}
	return s, nil
}

// Addr is the address /healthz and /metrics are served on, "" with --port=0.
func (s *Server) Addr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// IsLeading reports whether this instance runs the controllers now.
func (s *Server) IsLeading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}

// Run serves health and metrics, waits for the apiserver, takes the lease (with
// --leader-elect) and runs the controllers until ctx ends. Losing the lease while ctx is
// alive is an error: the process exits and its supervisor restarts it as a candidate, as
// upstream (controllers' in-memory state must not outlive leadership).
func (s *Server) Run(ctx context.Context) error {
	defer s.Client.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var httpDone chan error
	if s.listener != nil {
		httpDone = make(chan error, 1)
		go func() { httpDone <- s.http.Serve(ctx, s.listener) }()
		klog.InfoS("Serving health and metrics", "address", s.Addr())
	}
	err := s.run(ctx)
	cancel()
	if httpDone != nil {
		if herr := <-httpDone; err == nil {
			err = herr
		}
	}
	return err
}

func (s *Server) run(ctx context.Context) error {
	if !s.waitForAPIServer(ctx) {
		return nil
	}
	o := s.Options
	if !o.LeaderElect {
		s.runControllers(ctx)
		return nil
	}
	id := o.LeaderElectIdentity
	if id == "" {
		host, _ := os.Hostname()
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = host + "_" + hex.EncodeToString(b)
	}
	// The election runs on its own context, cancelled only once the controllers have
	// stopped after ctx ended: releasing the lease earlier would let a standby start its
	// controllers while ours still finish their last syncs.
	leCtx, leCancel := context.WithCancel(context.Background())
	defer leCancel()
	var (
		wg       sync.WaitGroup
		termMu   sync.Mutex
		termDone chan struct{} // closed when the current term's controllers stopped
		finished bool          // the election ended: no term may start any more
	)
	go func() {
		<-ctx.Done()
		termMu.Lock()
		done := termDone
		termMu.Unlock()
		if done != nil {
			<-done
		}
		leCancel()
	}()
	err := leaderelection.Run(leCtx, leaderelection.Config{
		Client: s.Client, Namespace: o.LeaseNamespace, Name: o.LeaseName, Identity: id,
		LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod,
		ReleaseOnCancel: o.LeaderElectReleaseOnCancel,
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: func(lctx context.Context) {
				done := make(chan struct{})
				termMu.Lock()
				if finished {
					termMu.Unlock()
					return
				}
				wg.Add(1)
				termDone = done
				termMu.Unlock()
				defer wg.Done()
				defer close(done)
				// Controllers stop when leadership ends or when we are told to stop.
				cctx, ccancel := context.WithCancel(lctx)
				defer ccancel()
				stop := context.AfterFunc(ctx, ccancel)
				defer stop()
				klog.InfoS("Became leader; starting controllers", "identity", id)
				s.runControllers(cctx)
			},
			OnNewLeader: func(leader string) {
				if leader != id {
					klog.InfoS("New leader elected", "leader", leader)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	termMu.Lock()
	finished = true
	termMu.Unlock()
	wg.Wait()
	if ctx.Err() == nil {
		return errors.New("leaderelection lost")
	}
	return nil
}

// waitForAPIServer polls until the apiserver answers; false when ctx ended first. While
// it cannot be reached the client says so (address, cause, flag to check) at a bounded
// rate, and that it is back; an apiserver that answers with an error (not ready yet) is
// logged here.
func (s *Server) waitForAPIServer(ctx context.Context) bool {
	delay := 500 * time.Millisecond
	for {
		_, err := s.Client.Namespaces().Get(ctx, "kube-system")
		if err == nil || apierrors.IsNotFound(err) {
			return true
		}
		if client.IsUnreachable(err) {
			klog.V(2).InfoS("Waiting for kube-apiserver", "server", s.Client.Server(), "err", err)
		} else {
			klog.InfoS("Waiting for kube-apiserver to answer", "server", s.Client.Server(), "err", err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// runControllers builds every enabled controller on fresh shared informers, starts them
// and blocks until ctx ends and all of them have stopped. Fresh informers per term mean a
// leader that lost and regained the lease starts from the apiserver's state, not from
// caches that may have missed the other leader's writes.
func (s *Server) runControllers(ctx context.Context) {
	s.mu.Lock()
	s.leading = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.leading = false
		s.mu.Unlock()
	}()
	factory := informer.NewFactory(s.Client, s.Options.MinResyncPeriod)
	var recMu sync.Mutex
	recorders := map[string]*events.Recorder{}
	var wg sync.WaitGroup
	cc := &controller.Context{
		Client:    s.Client,
		Informers: factory,
		Config:    s.Options.Config,
		Events: func(name string) *events.Recorder {
			recMu.Lock()
			defer recMu.Unlock()
			if r, ok := recorders[name]; ok {
				return r
			}
			host, _ := os.Hostname()
			r := events.NewRecorder(s.Client, name, host)
			recorders[name] = r
			wg.Add(1)
			go func() { defer wg.Done(); r.Run(ctx) }()
			return r
		},
	}
	type running struct {
		name string
		c    controller.Controller
	}
	var started []running
	for _, name := range KnownControllers() {
		if !IsEnabled(name, s.Options.Controllers) {
			klog.V(1).InfoS("Controller is disabled", "controller", name)
			continue
		}
		c, err := s.ctors[name](cc)
		if err != nil {
			klog.ErrorS(err, "Error starting controller; it will not run", "controller", name)
			continue
		}
		started = append(started, running{name, c})
	}
	factory.Start(ctx)
	for _, r := range started {
		workers := s.Options.Config.ConcurrentSyncs[r.name]
		if workers < 1 {
			workers = 1
		}
		klog.InfoS("Started controller", "controller", r.name, "workers", workers)
		wg.Add(1)
		go func() { defer wg.Done(); r.c.Run(ctx, workers) }()
	}
	<-ctx.Done()
	wg.Wait()
	factory.Shutdown()
	klog.InfoS("All controllers stopped")
}
