// Package options holds kube-scheduler's flags, named and defaulted as upstream's
// (design.md §4), and their validation.
package options

import (
	"fmt"
	"net"
	"time"

	"github.com/spf13/pflag"

	"kube5/proto/daemon"
	"kube5/proto/leaderelection"
)

// Options are the scheduler's settings.
type Options struct {
	Master daemon.MasterFlags
	// SchedulerName: pods whose spec.schedulerName differs belong to another scheduler.
	SchedulerName string
	// BindAddress and Port serve /healthz and /metrics (plain HTTP, upstream's old
	// insecure port 10251, which componentstatuses probes).
	BindAddress string
	Port        int
	LeaderElect bool
	// LeaseDuration, RenewDeadline, RetryPeriod: leader election timings.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// LeaderElectResourceNamespace and Name locate the Lease.
	LeaderElectResourceNamespace, LeaderElectResourceName string
	// PercentageOfNodesToScore: 0 adaptive (upstream's default), up to 100.
	PercentageOfNodesToScore int
}

// New returns the defaults.
func New() *Options {
	return &Options{
		SchedulerName:                "default-scheduler",
		BindAddress:                  "0.0.0.0",
		Port:                         10251,
		LeaderElect:                  true,
		LeaseDuration:                leaderelection.DefaultLeaseDuration,
		RenewDeadline:                leaderelection.DefaultRenewDeadline,
		RetryPeriod:                  leaderelection.DefaultRetryPeriod,
		LeaderElectResourceNamespace: "kube-system",
		LeaderElectResourceName:      "kube-scheduler",
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Master.AddFlags(fs)
	fs.StringVar(&o.SchedulerName, "scheduler-name", o.SchedulerName, "Name of the scheduler; pods whose spec.schedulerName is this are scheduled by it.")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "The IP address on which to serve /healthz and /metrics (0.0.0.0 for all interfaces).")
	fs.StringVar(&o.BindAddress, "address", o.BindAddress, "Deprecated alias of --bind-address.")
	fs.IntVar(&o.Port, "port", o.Port, "The port on which to serve /healthz and /metrics over plain HTTP (0: a free port).")
	fs.IntVar(&o.Port, "secure-port", o.Port, "Alias of --port: kube5 serves /healthz and /metrics over plain HTTP only.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Start a leader election client and gain leadership before executing the main loop. Enable this when running replicated components for high availability.")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration, "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot.")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", o.RenewDeadline, "The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than the lease duration.")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", o.RetryPeriod, "The duration the clients should wait between attempting acquisition and renewal of a leadership.")
	fs.StringVar(&o.LeaderElectResourceNamespace, "leader-elect-resource-namespace", o.LeaderElectResourceNamespace, "The namespace of the Lease used for leader election.")
	fs.StringVar(&o.LeaderElectResourceName, "leader-elect-resource-name", o.LeaderElectResourceName, "The name of the Lease used for leader election.")
	fs.IntVar(&o.PercentageOfNodesToScore, "percentage-of-nodes-to-score", o.PercentageOfNodesToScore, "Stop looking for feasible nodes once this percentage of the cluster's nodes is found feasible (at least 100); 0 is the adaptive default.")
}

// Validate names the flag to fix for each bad value.
func (o *Options) Validate() []error {
	var errs []error
	if o.Master.Master == "" && o.Master.Kubeconfig == "" {
		errs = append(errs, fmt.Errorf("neither --kubeconfig nor --master was specified; pass --master=http://127.0.0.1:8080 to use the kube-apiserver on this machine"))
	}
	if o.SchedulerName == "" {
		errs = append(errs, fmt.Errorf("--scheduler-name must not be empty"))
	}
	if net.ParseIP(o.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address: %q is not an IP address (use 0.0.0.0 for all interfaces)", o.BindAddress))
	}
	if o.Port < 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("--port: %d is not a port in 0-65535", o.Port))
	}
	if o.LeaderElect {
		if o.LeaseDuration <= o.RenewDeadline {
			errs = append(errs, fmt.Errorf("--leader-elect-lease-duration (%v) must be greater than --leader-elect-renew-deadline (%v)", o.LeaseDuration, o.RenewDeadline))
		}
		if o.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(o.RetryPeriod)) {
			errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline (%v) must be greater than %.1f x --leader-elect-retry-period (%v)", o.RenewDeadline, leaderelection.JitterFactor, o.RetryPeriod))
		}
		if o.LeaseDuration < time.Second {
			errs = append(errs, fmt.Errorf("--leader-elect-lease-duration must be at least 1s"))
		}
		if o.LeaderElectResourceNamespace == "" || o.LeaderElectResourceName == "" {
			errs = append(errs, fmt.Errorf("--leader-elect-resource-namespace and --leader-elect-resource-name must not be empty"))
		}
	}
	if o.PercentageOfNodesToScore < 0 || o.PercentageOfNodesToScore > 100 {
		errs = append(errs, fmt.Errorf("--percentage-of-nodes-to-score: %d is not in 0-100", o.PercentageOfNodesToScore))
	}
	return errs
}
