// Package options holds kube-apiserver's flags, named and defaulted as upstream's
// (design.md §4), and their validation.
package options

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Options are the apiserver's settings.
type Options struct {
	EtcdServers            []string
	DataDir                string
	EmbeddedEtcdClientURL  string
	EmbeddedEtcdPeerURL    string
	BindAddress            string
	Port                   int
	ServiceClusterIPRange  string
	ServiceNodePortRange   string
	EtcdCompactionInterval time.Duration
	// WatchBookmarkInterval is how often idle watchers that asked for bookmarks get one.
	WatchBookmarkInterval time.Duration
	// SchedulerHealthURL and ControllerManagerHealthURL are what componentstatuses probe.
	SchedulerHealthURL         string
	ControllerManagerHealthURL string
	// DefaultNotReadyTolerationSeconds and DefaultUnreachableTolerationSeconds are the
	// tolerationSeconds of the node.kubernetes.io/not-ready and /unreachable NoExecute
	// tolerations added to every pod: how long its pods stay on a failed node.
	DefaultNotReadyTolerationSeconds    int64
	DefaultUnreachableTolerationSeconds int64
	// AdvertiseAddress is the IP the endpoints of the "kubernetes" service point at; empty
	// picks --insecure-bind-address, or the host's address when that is 0.0.0.0 or
	// loopback (pods cannot reach a loopback address).
	AdvertiseAddress string
	// EndpointReconcilerType is "lease" (keep the kubernetes service and its endpoints)
	// or "none" (leave them alone), as upstream's flag.
	EndpointReconcilerType string
}

// New returns the defaults.
func New() *Options {
	return &Options{
		DataDir:                    "/var/lib/kube5/etcd",
		EmbeddedEtcdClientURL:      "http://127.0.0.1:2379",
		EmbeddedEtcdPeerURL:        "http://127.0.0.1:2380",
		BindAddress:                "127.0.0.1",
		Port:                       8080,
		ServiceClusterIPRange:      "10.0.0.0/24",
		ServiceNodePortRange:       "30000-32767",
		EtcdCompactionInterval:     5 * time.Minute,
		WatchBookmarkInterval:      time.Minute,
		SchedulerHealthURL:         "http://127.0.0.1:10251/healthz",
		ControllerManagerHealthURL: "http://127.0.0.1:10252/healthz",
		// Upstream's DefaultTolerationSeconds admission plugin: five minutes.
		DefaultNotReadyTolerationSeconds:    300,
		DefaultUnreachableTolerationSeconds: 300,
		EndpointReconcilerType:              "lease",
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "List of etcd servers to connect with (scheme://ip:port), comma separated. When empty, kube-apiserver runs an embedded etcd under --data-dir.")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory of the embedded etcd's data, used when --etcd-servers is empty.")
	fs.StringVar(&o.EmbeddedEtcdClientURL, "embedded-etcd-listen-client-url", o.EmbeddedEtcdClientURL, "Client URL of the embedded etcd (so etcdctl can reach it).")
	fs.StringVar(&o.EmbeddedEtcdPeerURL, "embedded-etcd-listen-peer-url", o.EmbeddedEtcdPeerURL, "Peer URL of the embedded etcd.")
	fs.StringVar(&o.BindAddress, "insecure-bind-address", o.BindAddress, "The IP address on which to serve the API (gRPC and REST), without authentication. 0.0.0.0 for all interfaces.")
	fs.StringVar(&o.BindAddress, "address", o.BindAddress, "Alias of --insecure-bind-address.")
	fs.IntVar(&o.Port, "insecure-port", o.Port, "The port on which to serve the API (gRPC and REST); 0 picks a free one, named in the log.")
	fs.IntVar(&o.Port, "port", o.Port, "Alias of --insecure-port.")
	fs.StringVar(&o.ServiceClusterIPRange, "service-cluster-ip-range", o.ServiceClusterIPRange, "A CIDR notation IP range from which to assign service cluster IPs.")
	fs.StringVar(&o.ServiceNodePortRange, "service-node-port-range", o.ServiceNodePortRange, "A port range to reserve for services with NodePort visibility, e.g. '30000-32767'. Inclusive at both ends.")
	fs.DurationVar(&o.EtcdCompactionInterval, "etcd-compaction-interval", o.EtcdCompactionInterval, "The interval of compaction requests. If 0, compaction requests from the apiserver are disabled.")
	fs.DurationVar(&o.WatchBookmarkInterval, "watch-bookmark-interval", o.WatchBookmarkInterval, "How often watchers that allow bookmarks receive one.")
	_ = fs.MarkHidden("watch-bookmark-interval")
	fs.StringVar(&o.SchedulerHealthURL, "scheduler-health-url", o.SchedulerHealthURL, "What componentstatuses probes for the scheduler.")
	fs.StringVar(&o.ControllerManagerHealthURL, "controller-manager-health-url", o.ControllerManagerHealthURL, "What componentstatuses probes for the controller-manager.")
	fs.Int64Var(&o.DefaultNotReadyTolerationSeconds, "default-not-ready-toleration-seconds", o.DefaultNotReadyTolerationSeconds, "Indicates the tolerationSeconds of the toleration for notReady:NoExecute that is added by default to every pod that does not already have such a toleration.")
	fs.StringVar(&o.AdvertiseAddress, "advertise-address", o.AdvertiseAddress, "The IP address on which to advertise the apiserver to members of the cluster: the endpoints of the kubernetes service in the default namespace. If blank, --insecure-bind-address is used, or the host's address when that is 0.0.0.0 or loopback.")
	fs.StringVar(&o.EndpointReconcilerType, "endpoint-reconciler-type", o.EndpointReconcilerType, "Use an endpoint reconciler (lease, none): lease keeps the kubernetes service in the default namespace pointing at the running apiservers.")
	fs.Int64Var(&o.DefaultUnreachableTolerationSeconds, "default-unreachable-toleration-seconds", o.DefaultUnreachableTolerationSeconds, "Indicates the tolerationSeconds of the toleration for unreachable:NoExecute that is added by default to every pod that does not already have such a toleration.")
}

// Validate names the flag to fix for each bad value.
func (o *Options) Validate() []error {
	var errs []error
	for _, s := range o.EtcdServers {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--etcd-servers: %q is not a URL like http://127.0.0.1:2379", s))
		}
	}
	if len(o.EtcdServers) == 0 && strings.TrimSpace(o.DataDir) == "" {
		errs = append(errs, fmt.Errorf("--data-dir must be set when --etcd-servers is empty (the embedded etcd keeps its data there)"))
	}
	if net.ParseIP(o.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--insecure-bind-address: %q is not an IP address (use 127.0.0.1, or 0.0.0.0 for all interfaces)", o.BindAddress))
	}
	// 0 picks a free port (named in the "Serving the API" log line): tests use it so
	// that parallel test processes never race for a port.
	if o.Port < 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("--insecure-port: %d is not a port in 0-65535", o.Port))
	}
	if p, err := netip.ParsePrefix(o.ServiceClusterIPRange); err != nil {
		errs = append(errs, fmt.Errorf("--service-cluster-ip-range: %q is not a CIDR like 10.0.0.0/24", o.ServiceClusterIPRange))
	} else if p.Addr().BitLen()-p.Bits() < 2 {
		errs = append(errs, fmt.Errorf("--service-cluster-ip-range: %s is too small (at least a /30 for IPv4)", o.ServiceClusterIPRange))
	}
	if lo, hi, ok := strings.Cut(o.ServiceNodePortRange, "-"); !ok || lo == "" || hi == "" {
		errs = append(errs, fmt.Errorf("--service-node-port-range: %q is not a range like 30000-32767", o.ServiceNodePortRange))
	}
	if o.DefaultNotReadyTolerationSeconds < 0 {
		errs = append(errs, fmt.Errorf("--default-not-ready-toleration-seconds: %d is negative (0 evicts at once, 300 is the default)", o.DefaultNotReadyTolerationSeconds))
	}
	if o.DefaultUnreachableTolerationSeconds < 0 {
		errs = append(errs, fmt.Errorf("--default-unreachable-toleration-seconds: %d is negative (0 evicts at once, 300 is the default)", o.DefaultUnreachableTolerationSeconds))
	}
	if o.AdvertiseAddress != "" {
		if ip := net.ParseIP(o.AdvertiseAddress); ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("--advertise-address: %q is not an address pods can reach (give this host's IP, or leave it empty to pick one)", o.AdvertiseAddress))
		}
	}
	if o.EndpointReconcilerType != "lease" && o.EndpointReconcilerType != "none" {
		errs = append(errs, fmt.Errorf("--endpoint-reconciler-type: %q is not one of lease, none", o.EndpointReconcilerType))
	}
	if o.EtcdCompactionInterval < 0 {
		errs = append(errs, fmt.Errorf("--etcd-compaction-interval must not be negative"))
	}
	return errs
}
