// Package app assembles the kubelet: the runtime (Docker or fake), the apiserver client
// (none: standalone), the node status, the pod sources and workers, and the servers on
// --port, --read-only-port and --healthz-port. --hollow-nodes=N runs N hollow kubelets
// in one process instead.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/client"
	"kube5/proto/daemon"
	"kube5/proto/informer"
	"kube5/proto/version"

	"kube5/kubelet/app/options"
	"kube5/kubelet/internal/eviction"
	"kube5/kubelet/internal/nodestatus"
	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/runtime/docker"
	"kube5/kubelet/internal/runtime/fake"
)

// NewCommand parses the command line and runs the kubelet until SIGINT/SIGTERM.
func NewCommand() int {
	fs := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	opts := options.New()
	opts.AddFlags(fs)
	daemon.AddGlobalFlags(fs)
	daemon.AddVersionFlag(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "kubelet:", err)
		return 2
	}
	daemon.PrintVersionAndExitIfRequested(fs)
	if errs := opts.Validate(); len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "kubelet:", err)
		}
		return 2
	}
	defer klog.Flush()
	ctx := daemon.SignalContext()
	s, err := Setup(ctx, opts)
	if err != nil {
		klog.ErrorS(err, "kubelet failed to start")
		return 1
	}
	if err := s.Run(ctx); err != nil {
		klog.ErrorS(err, "kubelet stopped with an error")
		return 1
	}
	return 0
}

// Server is a set-up kubelet (or set of hollow kubelets), ready to Run.
type Server struct {
	Options  *options.Options
	kubelets []*Kubelet
	client   *client.Clientset
	services *informer.Informer[*corev1.Service]
	// listeners: full API, read-only API, healthz (nil when disabled).
	api, readOnly, healthz net.Listener
	closers                []func()
}

// Setup connects to the runtime and the apiserver and binds the ports. Errors name the
// flag to fix.
func Setup(ctx context.Context, o *options.Options) (*Server, error) {
	s := &Server{Options: o}
	name, err := o.NodeName()
	if err != nil {
		return nil, err
	}
	nodeIP, err := nodestatus.NodeIP(o.NodeIP)
	if err != nil {
		return nil, err
	}
	if o.Kubeconfig != "" {
		// A missing file, or one naming no server, is a typo to report: upstream's kubelet
		// fails too, rather than running against 127.0.0.1:8080 or standalone.
		ccfg, err := daemon.KubeconfigClientConfig(o.Kubeconfig, "omit --kubeconfig to run standalone (static pods of --pod-manifest-path only)")
		if err != nil {
			return nil, err
		}
		ccfg.UserAgent, ccfg.Timeout = "kubelet/"+version.Get().GitVersion, 30*time.Second
		c, err := client.New(ccfg)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", o.Kubeconfig, err)
		}
		s.client = c
		s.closers = append(s.closers, func() { c.Close() })
		s.services = informer.New[*corev1.Service](c.Services(""), informer.Options{})
	}
	machine := nodestatus.ReadMachine()
	base := KubeletConfig{
		NodeIP: nodeIP, Client: s.client, PauseImage: o.PodInfraContainerImage, RootDir: o.RootDir,
		MaxPods: o.MaxPods, Port: o.Port, DNS: o.ClusterDNS, Machine: machine,
		NodeStatusUpdateFrequency: o.NodeStatusUpdateFrequency, FileCheckFrequency: o.FileCheckFrequency,
		PodCIDRTimeout: o.PodCIDRTimeout,
	}
	if s.services != nil {
		lister := s.services.Lister()
		base.Services = func(ns string) []*corev1.Service {
			out := lister.ByNamespace(ns, nil)
			if ns != "default" {
				if k, ok := lister.Get("default", "kubernetes"); ok {
					out = append(out, k)
				}
			}
			return out
		}
	}
	if o.HollowNodes > 0 {
		// Hollow nodes: no servers, no static pods, a slower relist (nothing changes in a
		// fake runtime by itself), one shared client and service cache.
		for i := range o.HollowNodes {
			cfg := base
			cfg.NodeName = name + "-" + strconv.Itoa(i)
			cfg.Runtime = fake.New()
			cfg.RelistPeriod = 10 * time.Second
			cfg.ResyncPeriod = time.Minute
			cfg.RootDir = ""
			s.kubelets = append(s.kubelets, NewKubelet(cfg))
		}
		klog.InfoS("Running hollow kubelets", "count", o.HollowNodes, "names", name+"-0.."+strconv.Itoa(o.HollowNodes-1))
		return s, nil
	}
	var rt runtime.Runtime
	imageDir := "" // the imagefs: Docker's data root
	if o.ContainerRuntime == "fake" {
		rt = fake.New()
	} else {
		d, err := docker.New(o.DockerEndpoint, name)
		if err != nil {
			return nil, fmt.Errorf("--docker-endpoint %s: %w", o.DockerEndpoint, err)
		}
		s.closers = append(s.closers, func() { d.Close() })
		vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := d.Version(vctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("the Docker daemon at %s does not answer (is dockerd running? hack/start-docker.sh starts it; or fix --docker-endpoint): %w", o.DockerEndpoint, err)
		}
		klog.InfoS("Container runtime", "version", v)
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if _, err := d.ImageStatus(ictx, o.PodInfraContainerImage); err != nil {
			klog.ErrorS(err, "The pod infra image is missing: pods cannot start until it is built or loaded. Build it with `make images` (hack/images.sh), or `docker load` it, or set --pod-infra-container-image",
				"image", o.PodInfraContainerImage)
		}
		if imageDir, err = d.DataRoot(ictx); err != nil {
			imageDir = "/var/lib/docker"
		}
		cancel()
		rt = d
	}
	if err := os.MkdirAll(o.RootDir, 0o750); err != nil {
		return nil, fmt.Errorf("--root-dir %s: %w", o.RootDir, err)
	}
	cfg := base
	cfg.NodeName, cfg.Runtime, cfg.PodManifestPath = name, rt, o.PodManifestPath
	if o.ContainerRuntime != "fake" {
		ts, err := o.EvictionThresholds()
		if err != nil {
			return nil, err
		}
		rootDir := o.RootDir
		cfg.NodeUsage = func() (eviction.NodeMemory, eviction.Observations, error) {
			return eviction.ReadNode(rootDir, imageDir)
		}
		cfg.EvictionThresholds = ts
		cfg.EvictionPressureTransitionPeriod = o.EvictionPressureTransitionPeriod
		cfg.EvictionMaxPodGracePeriod = time.Duration(o.EvictionMaxPodGracePeriod) * time.Second
		cfg.EvictionMonitoringInterval = o.EvictionMonitoringInterval
	}
	s.kubelets = []*Kubelet{NewKubelet(cfg)}
	if err := s.listen(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *Server) listen() error {
	o := s.Options
	d := daemon.NewServer("kubelet", nil)
	bind := func(addr string, port int, flag string) (net.Listener, error) {
		if port == 0 {
			return nil, nil
		}
		return d.Listen(net.JoinHostPort(addr, strconv.Itoa(port)), flag)
	}
	var err error
	if s.api, err = bind(o.Address, o.Port, "--port"); err != nil {
		return err
	}
	if s.readOnly, err = bind(o.Address, o.ReadOnlyPort, "--read-only-port"); err != nil {
		return err
	}
	if s.healthz, err = bind(o.HealthzBindAddress, o.HealthzPort, "--healthz-port"); err != nil {
		return err
	}
	return nil
}

// Kubelets returns the kubelets (one, or the hollow ones).
func (s *Server) Kubelets() []*Kubelet { return s.kubelets }

func (s *Server) close() {
	for _, l := range []net.Listener{s.api, s.readOnly, s.healthz} {
		if l != nil {
			_ = l.Close()
		}
	}
	for _, c := range s.closers {
		c()
	}
}

// Run runs until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer s.close()
	var wg sync.WaitGroup
	if s.services != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.services.Run(ctx) }()
	}
	if len(s.kubelets) == 1 {
		k := s.kubelets[0]
		serve := func(l net.Listener, full bool) {
			if l == nil {
				return
			}
			d := daemon.NewServer("kubelet", nil)
			if full {
				k.Server().Register(d)
			} else if l != s.healthz {
				k.Server().RegisterReadOnly(d)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := d.Serve(ctx, l); err != nil && ctx.Err() == nil {
					klog.ErrorS(err, "Kubelet server stopped", "address", l.Addr())
				}
			}()
		}
		serve(s.api, true)
		serve(s.readOnly, false)
		serve(s.healthz, false)
	}
	if s.services != nil {
		// Pods started before the services are known would miss their env variables.
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if !s.services.WaitForCacheSync(sctx) && ctx.Err() == nil {
			klog.InfoS("Services not listed within 30s; starting pods without waiting (their service env variables may be missing)")
		}
		cancel()
	}
	for _, k := range s.kubelets {
		wg.Add(1)
		go func(k *Kubelet) { defer wg.Done(); k.Run(ctx) }(k)
	}
	wg.Wait()
	return nil
}
