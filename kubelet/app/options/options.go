// Package options holds the kubelet's flags, named and defaulted as upstream's
// (design.md §4), and their validation.
package options

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"kube5/kubelet/internal/eviction"
)

// Options are the kubelet's settings.
type Options struct {
	Kubeconfig                string
	HostnameOverride          string
	NodeIP                    string
	PodInfraContainerImage    string
	PodManifestPath           string
	DockerEndpoint            string
	MaxPods                   int
	RootDir                   string
	ContainerRuntime          string
	Address                   string
	Port                      int
	ReadOnlyPort              int
	HealthzPort               int
	HealthzBindAddress        string
	NodeStatusUpdateFrequency time.Duration
	FileCheckFrequency        time.Duration
	ClusterDNS                []string
	// PodCIDRTimeout bounds how long pods wait for the node's podCIDR before they start
	// on Docker's default bridge.
	PodCIDRTimeout time.Duration
	// HollowNodes > 0 runs that many hollow kubelets (fake runtime) in this process, named
	// <hostname>-0 ... for scale tests; their servers are not started.
	HollowNodes int
	// Eviction (upstream's flags): thresholds as "signal<quantity" lists, soft grace
	// periods as "signal=duration"; see kubelet/internal/eviction.
	EvictionHard, EvictionSoft, EvictionSoftGracePeriod string
	EvictionPressureTransitionPeriod                    time.Duration
	EvictionMaxPodGracePeriod                           int
	// EvictionMonitoringInterval is not a flag (upstream's is fixed at 10s): tests
	// shorten it.
	EvictionMonitoringInterval time.Duration
}

// New returns the defaults.
func New() *Options {
	return &Options{
		PodInfraContainerImage:           "kube5/pause:3.10",
		DockerEndpoint:                   "unix:///var/run/docker.sock",
		MaxPods:                          110,
		RootDir:                          "/var/lib/kubelet",
		ContainerRuntime:                 "docker",
		Address:                          "0.0.0.0",
		Port:                             10250,
		ReadOnlyPort:                     10255,
		HealthzPort:                      10248,
		HealthzBindAddress:               "127.0.0.1",
		NodeStatusUpdateFrequency:        10 * time.Second,
		FileCheckFrequency:               20 * time.Second,
		PodCIDRTimeout:                   30 * time.Second,
		EvictionHard:                     eviction.DefaultHard,
		EvictionPressureTransitionPeriod: 5 * time.Minute,
		EvictionMonitoringInterval:       10 * time.Second,
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig file naming the apiserver. Empty: standalone mode, running only the static pods of --pod-manifest-path.")
	fs.StringVar(&o.HostnameOverride, "hostname-override", o.HostnameOverride, "The node's name, instead of the hostname.")
	fs.StringVar(&o.NodeIP, "node-ip", o.NodeIP, "The node's InternalIP. Default: the first non-loopback IPv4 address.")
	fs.StringVar(&o.PodInfraContainerImage, "pod-infra-container-image", o.PodInfraContainerImage, "The image of every pod's infra (pause) container; make images builds the default.")
	fs.StringVar(&o.PodManifestPath, "pod-manifest-path", o.PodManifestPath, "A directory (or file) of static pod manifests, re-read on change.")
	fs.StringVar(&o.DockerEndpoint, "docker-endpoint", o.DockerEndpoint, "The Docker daemon's endpoint.")
	fs.IntVar(&o.MaxPods, "max-pods", o.MaxPods, "Number of pods this kubelet can run (the node's pods capacity).")
	fs.StringVar(&o.RootDir, "root-dir", o.RootDir, "Directory of the kubelet's files (pod volumes under pods/<uid>/volumes).")
	fs.StringVar(&o.ContainerRuntime, "container-runtime", o.ContainerRuntime, "docker, or fake: a hollow node that runs nothing and reports pods running (scale tests).")
	fs.StringVar(&o.Address, "address", o.Address, "The IP address to serve --port and --read-only-port on.")
	fs.IntVar(&o.Port, "port", o.Port, "The port of the kubelet's API (logs, exec, pods, stats). 0 disables it.")
	fs.IntVar(&o.ReadOnlyPort, "read-only-port", o.ReadOnlyPort, "The port of the read-only API (pods, stats, healthz). 0 disables it.")
	fs.IntVar(&o.HealthzPort, "healthz-port", o.HealthzPort, "The port of /healthz. 0 disables it.")
	fs.StringVar(&o.HealthzBindAddress, "healthz-bind-address", o.HealthzBindAddress, "The IP address to serve --healthz-port on.")
	fs.DurationVar(&o.NodeStatusUpdateFrequency, "node-status-update-frequency", o.NodeStatusUpdateFrequency, "How often the node status is computed and, when it changed, sent.")
	fs.DurationVar(&o.FileCheckFrequency, "file-check-frequency", o.FileCheckFrequency, "How often --pod-manifest-path is re-read.")
	fs.StringSliceVar(&o.ClusterDNS, "cluster-dns", o.ClusterDNS, "DNS servers for the pods (ClusterFirst).")
	fs.DurationVar(&o.PodCIDRTimeout, "pod-cidr-timeout", o.PodCIDRTimeout, "How long pods wait for the node's podCIDR (kube-controller-manager --allocate-node-cidrs sets it) before they start on Docker's default bridge, reachable from this node only. 0: start at once.")
	fs.StringVar(&o.EvictionHard, "eviction-hard", o.EvictionHard, "Hard eviction thresholds (e.g. memory.available<1Gi): when one is met, pods are evicted at once, one per 10s. Signals: memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available; quantities or percentages of capacity. Empty: no hard eviction.")
	fs.StringVar(&o.EvictionSoft, "eviction-soft", o.EvictionSoft, "Soft eviction thresholds (e.g. memory.available<1.5Gi): they evict only once met for their --eviction-soft-grace-period.")
	fs.StringVar(&o.EvictionSoftGracePeriod, "eviction-soft-grace-period", o.EvictionSoftGracePeriod, "Grace period of each soft threshold (e.g. memory.available=1m30s).")
	fs.DurationVar(&o.EvictionPressureTransitionPeriod, "eviction-pressure-transition-period", o.EvictionPressureTransitionPeriod, "How long a pressure condition stays True after its threshold was last met.")
	fs.IntVar(&o.EvictionMaxPodGracePeriod, "eviction-max-pod-grace-period", o.EvictionMaxPodGracePeriod, "Maximum grace period, in seconds, of pods evicted for a soft threshold (hard thresholds kill at once).")
	fs.IntVar(&o.HollowNodes, "hollow-nodes", o.HollowNodes, "Run this many hollow kubelets (--container-runtime=fake) in one process, named <node>-<i>, for scale tests.")
}

// EvictionThresholds parses --eviction-hard, --eviction-soft and
// --eviction-soft-grace-period.
func (o *Options) EvictionThresholds() ([]eviction.Threshold, error) {
	return eviction.ParseThresholds(o.EvictionHard, o.EvictionSoft, o.EvictionSoftGracePeriod)
}

// NodeName is --hostname-override or the hostname, lower-cased as upstream.
func (o *Options) NodeName() (string, error) {
	if o.HostnameOverride != "" {
		return strings.ToLower(strings.TrimSpace(o.HostnameOverride)), nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("reading the hostname (set --hostname-override): %w", err)
	}
	return strings.ToLower(h), nil
}

// Validate names the flag to fix for each bad value.
func (o *Options) Validate() []error {
	var errs []error
	if o.NodeIP != "" && net.ParseIP(o.NodeIP) == nil {
		errs = append(errs, fmt.Errorf("--node-ip: %q is not an IP address", o.NodeIP))
	}
	if net.ParseIP(o.Address) == nil {
		errs = append(errs, fmt.Errorf("--address: %q is not an IP address", o.Address))
	}
	for _, p := range []struct {
		flag string
		v    int
	}{{"--port", o.Port}, {"--read-only-port", o.ReadOnlyPort}, {"--healthz-port", o.HealthzPort}} {
		if p.v < 0 || p.v > 65535 {
			errs = append(errs, fmt.Errorf("%s: %d is not a port in 0-65535", p.flag, p.v))
		}
	}
	if o.MaxPods < 1 {
		errs = append(errs, fmt.Errorf("--max-pods must be at least 1"))
	}
	if o.ContainerRuntime != "docker" && o.ContainerRuntime != "fake" {
		errs = append(errs, fmt.Errorf("--container-runtime: %q is not docker or fake", o.ContainerRuntime))
	}
	if o.HollowNodes < 0 {
		errs = append(errs, fmt.Errorf("--hollow-nodes must not be negative"))
	}
	if o.HollowNodes > 0 && o.Kubeconfig == "" {
		errs = append(errs, fmt.Errorf("--hollow-nodes needs --kubeconfig (hollow nodes register with an apiserver)"))
	}
	if o.PodInfraContainerImage == "" {
		errs = append(errs, fmt.Errorf("--pod-infra-container-image must not be empty"))
	}
	if o.RootDir == "" {
		errs = append(errs, fmt.Errorf("--root-dir must not be empty"))
	}
	if o.NodeStatusUpdateFrequency <= 0 {
		errs = append(errs, fmt.Errorf("--node-status-update-frequency must be positive"))
	}
	if o.PodCIDRTimeout < 0 {
		errs = append(errs, fmt.Errorf("--pod-cidr-timeout must not be negative"))
	}
	if _, err := o.EvictionThresholds(); err != nil {
		errs = append(errs, err)
	}
	if o.EvictionPressureTransitionPeriod < 0 {
		errs = append(errs, fmt.Errorf("--eviction-pressure-transition-period must not be negative"))
	}
	if o.EvictionMaxPodGracePeriod < 0 {
		errs = append(errs, fmt.Errorf("--eviction-max-pod-grace-period must not be negative"))
	}
	if o.FileCheckFrequency <= 0 {
		errs = append(errs, fmt.Errorf("--file-check-frequency must be positive"))
	}
	return errs
}
