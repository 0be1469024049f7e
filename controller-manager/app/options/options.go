// Package options holds kube-controller-manager's flags, named and defaulted as
// upstream's (design.md §4), and their validation.
package options

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"kube5/proto/daemon"
	"kube5/proto/leaderelection"

	"kube5/controller-manager/internal/controller"
)

// Options are the controller-manager's settings.
type Options struct {
	Master daemon.MasterFlags

	LeaderElect   bool
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// LeaderElectReleaseOnCancel empties the lease on a clean stop (SIGTERM), so a
	// standby takes over at once instead of after the lease duration.
	LeaderElectReleaseOnCancel bool
	// LeaseNamespace and LeaseName name the Lease of the election.
	LeaseNamespace, LeaseName string
	// LeaderElectIdentity overrides the candidate identity (hostname_uuid); for tests.
	LeaderElectIdentity string

	// Controllers is upstream's --controllers: "*" enables the defaults, "name" enables
	// one, "-name" disables one.
	Controllers []string

	BindAddress string
	Port        int

	// MinResyncPeriod is how often the shared informers re-deliver every object.
	MinResyncPeriod time.Duration

	Config controller.Config

	// concurrent holds the --concurrent-*-syncs flags, keyed by controller name.
	concurrent map[string]*int
}

// concurrencyFlags are upstream's --concurrent-*-syncs flags and defaults, keyed by the
// controller they size; controllers without one run a single worker, as upstream's.
var concurrencyFlags = []struct {
	controller, flag string
	def              int
}{
	{"deployment", "concurrent-deployment-syncs", 5},
	{"replicaset", "concurrent-replicaset-syncs", 5},
	{"replicationcontroller", "concurrent-rc-syncs", 5}, // upstream spells it concurrent_rc_syncs; both work
	{"endpoint", "concurrent-endpoint-syncs", 5},
	{"namespace", "concurrent-namespace-syncs", 10},
	{"garbagecollector", "concurrent-gc-syncs", 20},
	{"job", "concurrent-job-syncs", 5},
	{"ttl-after-finished", "concurrent-ttl-after-finished-syncs", 5},
}

// New returns the defaults.
func New() *Options {
	o := &Options{
		LeaderElect:                true,
		LeaseDuration:              leaderelection.DefaultLeaseDuration,
		RenewDeadline:              leaderelection.DefaultRenewDeadline,
		RetryPeriod:                leaderelection.DefaultRetryPeriod,
		LeaderElectReleaseOnCancel: true,
		LeaseNamespace:             "kube-system",
		LeaseName:                  "kube-controller-manager",
		Controllers:                []string{"*"},
		BindAddress:                "0.0.0.0",
		Port:                       10252,
		MinResyncPeriod:            12 * time.Hour,
		Config: controller.Config{
			ClusterCIDR:              "10.244.0.0/16",
			AllocateNodeCIDRs:        true,
			NodeCIDRMaskSize:         24,
			NodeMonitorGracePeriod:   40 * time.Second,
			NodeMonitorPeriod:        5 * time.Second,
			NodeStartupGracePeriod:   time.Minute,
			TerminatedPodGCThreshold: 12500,
			ConcurrentSyncs:          map[string]int{},
		},
		concurrent: map[string]*int{},
	}
	for _, f := range concurrencyFlags {
		v := f.def
		o.concurrent[f.controller] = &v
		o.Config.ConcurrentSyncs[f.controller] = v
	}
	return o
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Master.AddFlags(fs)
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Start a leader election client and gain leadership before executing the main loop. Enable this when running replicated components for high availability.")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration, "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot.")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", o.RenewDeadline, "The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than the lease duration.")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", o.RetryPeriod, "The duration the clients should wait between attempting acquisition and renewal of a leadership.")
	fs.StringVar(&o.LeaseNamespace, "leader-elect-resource-namespace", o.LeaseNamespace, "The namespace of the Lease object that is used for locking during leader election.")
	fs.StringVar(&o.LeaseName, "leader-elect-resource-name", o.LeaseName, "The name of the Lease object that is used for locking during leader election.")
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, "A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'.")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "The IP address on which to serve /healthz and /metrics.")
	fs.StringVar(&o.BindAddress, "address", o.BindAddress, "Alias of --bind-address.")
	fs.IntVar(&o.Port, "port", o.Port, "The port on which to serve /healthz and /metrics. 0 disables serving.")
	fs.IntVar(&o.Port, "secure-port", o.Port, "Alias of --port (kube5 serves plain HTTP).")
	_ = fs.MarkHidden("secure-port")
	fs.DurationVar(&o.MinResyncPeriod, "min-resync-period", o.MinResyncPeriod, "The resync period of the shared informers.")
	fs.StringVar(&o.Config.ClusterCIDR, "cluster-cidr", o.Config.ClusterCIDR, "CIDR Range for Pods in cluster.")
	fs.BoolVar(&o.Config.AllocateNodeCIDRs, "allocate-node-cidrs", o.Config.AllocateNodeCIDRs, "Should CIDRs for Pods be allocated and set on the nodes (default true in kube5).")
	fs.IntVar(&o.Config.NodeCIDRMaskSize, "node-cidr-mask-size", o.Config.NodeCIDRMaskSize, "Mask size for node cidr in cluster.")
	fs.DurationVar(&o.Config.NodeMonitorGracePeriod, "node-monitor-grace-period", o.Config.NodeMonitorGracePeriod, "Amount of time which we allow running Node to be unresponsive before marking it unhealthy.")
	fs.DurationVar(&o.Config.NodeMonitorPeriod, "node-monitor-period", o.Config.NodeMonitorPeriod, "The period for syncing NodeStatus in the node lifecycle controller.")
	fs.DurationVar(&o.Config.NodeStartupGracePeriod, "node-startup-grace-period", o.Config.NodeStartupGracePeriod, "Amount of time which we allow starting Node to be unresponsive before marking it unhealthy.")
	fs.IntVar(&o.Config.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", o.Config.TerminatedPodGCThreshold, "Number of terminated pods that can exist before the terminated pod garbage collector starts deleting terminated pods. If <= 0, the terminated pod garbage collector is disabled.")
	for _, f := range concurrencyFlags {
		fs.IntVar(o.concurrent[f.controller], f.flag, *o.concurrent[f.controller], fmt.Sprintf("The number of %s objects that are allowed to sync concurrently.", f.controller))
	}
}

// Complete copies the parsed concurrency flags into Config.ConcurrentSyncs.
func (o *Options) Complete() {
	for name, v := range o.concurrent {
		o.Config.ConcurrentSyncs[name] = *v
	}
}

// Validate names the flag to fix for each bad value. known lists the controller names
// --controllers may mention.
func (o *Options) Validate(known []string) []error {
	var errs []error
	if o.LeaderElect {
		if o.LeaseDuration <= o.RenewDeadline {
			errs = append(errs, fmt.Errorf("--leader-elect-lease-duration (%v) must be greater than --leader-elect-renew-deadline (%v)", o.LeaseDuration, o.RenewDeadline))
		}
		if o.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(o.RetryPeriod)) {
			errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline (%v) must be greater than %v times --leader-elect-retry-period (%v)", o.RenewDeadline, leaderelection.JitterFactor, o.RetryPeriod))
		}
		if o.LeaseDuration < time.Second {
			errs = append(errs, fmt.Errorf("--leader-elect-lease-duration must be at least 1s"))
		}
		if o.LeaseNamespace == "" || o.LeaseName == "" {
			errs = append(errs, fmt.Errorf("--leader-elect-resource-namespace and --leader-elect-resource-name must not be empty"))
		}
	}
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	for _, c := range o.Controllers {
		name := strings.TrimPrefix(c, "-")
		if c != "*" && !isKnown[name] {
			errs = append(errs, fmt.Errorf("--controllers: %q is not a known controller (known: %s)", c, strings.Join(known, ", ")))
		}
	}
	if net.ParseIP(o.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address: %q is not an IP address", o.BindAddress))
	}
	if o.Port < 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("--port: %d is not a port number", o.Port))
	}
	if o.Config.AllocateNodeCIDRs {
		p, err := netip.ParsePrefix(o.Config.ClusterCIDR)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--cluster-cidr: %q is not a CIDR: %v", o.Config.ClusterCIDR, err))
		case o.Config.NodeCIDRMaskSize < p.Bits() || o.Config.NodeCIDRMaskSize > p.Addr().BitLen():
			errs = append(errs, fmt.Errorf("--node-cidr-mask-size: %d must be between the --cluster-cidr prefix length (%d) and %d", o.Config.NodeCIDRMaskSize, p.Bits(), p.Addr().BitLen()))
		}
	}
	for _, f := range concurrencyFlags {
		if *o.concurrent[f.controller] < 1 {
			errs = append(errs, fmt.Errorf("--%s must be at least 1", f.flag))
		}
	}
	if o.Config.NodeMonitorGracePeriod <= 0 {
		errs = append(errs, fmt.Errorf("--node-monitor-grace-period must be positive"))
	}
	if o.Config.NodeMonitorPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--node-monitor-period must be positive"))
	}
	return errs
}
