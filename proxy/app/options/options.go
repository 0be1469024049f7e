// Package options holds kube-proxy's flags, named and defaulted as upstream's
// (design.md §4), and their validation.
package options

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/spf13/pflag"

	"kube5/proto/daemon"
)

// Proxy modes.
const (
	ModeIPTables  = "iptables"
	ModeUserspace = "userspace"
)

// Options are kube-proxy's settings.
type Options struct {
	Master                daemon.MasterFlags
	ProxyMode             string
	HostnameOverride      string
	Cleanup               bool
	ClusterCIDR           string
	ServiceClusterIPRange string
	MinSyncPeriod         time.Duration
	SyncPeriod            time.Duration
	MetricsBindAddress    string
	HealthzBindAddress    string
	MasqueradeBit         int
	// ServiceGuardBridge is the portless bridge the service CIDR is routed to.
	ServiceGuardBridge string
	// PodNetwork enables the host-gw routes and pod masquerade.
	PodNetwork bool
}

// New returns the defaults.
func New() *Options {
	return &Options{
		ProxyMode:             ModeIPTables,
		ClusterCIDR:           "10.244.0.0/16",
		ServiceClusterIPRange: "10.0.0.0/24",
		MinSyncPeriod:         time.Second,
		SyncPeriod:            30 * time.Second,
		MetricsBindAddress:    "127.0.0.1:10249",
		HealthzBindAddress:    "0.0.0.0:10256",
		MasqueradeBit:         14,
		ServiceGuardBridge:    "kube5-svc",
		PodNetwork:            true,
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Master.AddFlags(fs)
	fs.StringVar(&o.ProxyMode, "proxy-mode", o.ProxyMode, "Which proxy mode to use: 'iptables' (default) or 'userspace' (older).")
	fs.StringVar(&o.HostnameOverride, "hostname-override", o.HostnameOverride, "If non-empty, will use this string as identification instead of the actual hostname.")
	fs.BoolVar(&o.Cleanup, "cleanup", o.Cleanup, "If true cleanup iptables rules, routes and the service guard bridge, and exit.")
	fs.StringVar(&o.ClusterCIDR, "cluster-cidr", o.ClusterCIDR, "The CIDR range of pods in the cluster. Traffic to ClusterIPs from outside it is masqueraded, and pod traffic leaving it is masqueraded. Empty disables both.")
	fs.StringVar(&o.ServiceClusterIPRange, "service-cluster-ip-range", o.ServiceClusterIPRange, "The apiserver's --service-cluster-ip-range; it is routed to a portless local bridge so an unproxied ClusterIP never leaves this host.")
	fs.DurationVar(&o.MinSyncPeriod, "iptables-min-sync-period", o.MinSyncPeriod, "The minimum interval of how often the iptables rules can be refreshed as endpoints and services change (e.g. '5s', '1m', '2h22m').")
	fs.DurationVar(&o.SyncPeriod, "iptables-sync-period", o.SyncPeriod, "The maximum interval of how often iptables rules are fully refreshed (e.g. '5s', '1m', '2h22m'). Must be greater than 0.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "The IP address with port for the metrics server to serve on (set to '0.0.0.0:10249' for all IPv4 interfaces).")
	fs.StringVar(&o.HealthzBindAddress, "healthz-bind-address", o.HealthzBindAddress, "The IP address with port for the health check server to serve on (set to '0.0.0.0:10256' for all IPv4 interfaces). Empty disables it.")
	fs.IntVar(&o.MasqueradeBit, "iptables-masquerade-bit", o.MasqueradeBit, "The bit of the fwmark space to mark packets requiring SNAT with. Must be within the range [0, 31].")
	fs.StringVar(&o.ServiceGuardBridge, "service-guard-bridge", o.ServiceGuardBridge, "The portless bridge the service CIDR is routed to. Empty disables the guard route.")
	fs.BoolVar(&o.PodNetwork, "pod-network", o.PodNetwork, "Route other nodes' podCIDRs through their InternalIPs (host-gw) and masquerade pod traffic leaving --cluster-cidr.")
}

// Validate names the flag to fix for each bad value.
func (o *Options) Validate() []error {
	var errs []error
	if o.ProxyMode != ModeIPTables && o.ProxyMode != ModeUserspace {
		errs = append(errs, fmt.Errorf("--proxy-mode: %q is not iptables or userspace", o.ProxyMode))
	}
	if o.ClusterCIDR != "" {
		if p, err := netip.ParsePrefix(o.ClusterCIDR); err != nil || !p.Addr().Is4() {
			errs = append(errs, fmt.Errorf("--cluster-cidr: %q is not an IPv4 CIDR like 10.244.0.0/16", o.ClusterCIDR))
		}
	}
	if p, err := netip.ParsePrefix(o.ServiceClusterIPRange); err != nil || !p.Addr().Is4() {
		errs = append(errs, fmt.Errorf("--service-cluster-ip-range: %q is not an IPv4 CIDR like 10.0.0.0/24", o.ServiceClusterIPRange))
	}
	if o.MinSyncPeriod < 0 {
		errs = append(errs, fmt.Errorf("--iptables-min-sync-period must not be negative"))
	}
	if o.SyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--iptables-sync-period must be greater than 0"))
	}
	if o.SyncPeriod > 0 && o.MinSyncPeriod > o.SyncPeriod {
		errs = append(errs, fmt.Errorf("--iptables-min-sync-period (%s) must not exceed --iptables-sync-period (%s)", o.MinSyncPeriod, o.SyncPeriod))
	}
	for flag, addr := range map[string]string{"--metrics-bind-address": o.MetricsBindAddress, "--healthz-bind-address": o.HealthzBindAddress} {
		if addr == "" && flag == "--healthz-bind-address" {
			continue
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil || net.ParseIP(host) == nil {
			errs = append(errs, fmt.Errorf("%s: %q is not an IP:port like 127.0.0.1:10249", flag, addr))
		}
	}
	if o.MasqueradeBit < 0 || o.MasqueradeBit > 31 {
		errs = append(errs, fmt.Errorf("--iptables-masquerade-bit: %d is not in [0, 31]", o.MasqueradeBit))
	}
	if !o.Cleanup {
		if _, err := o.Master.ClientConfig(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
