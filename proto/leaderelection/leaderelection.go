// Package leaderelection elects one leader among the replicas of a daemon
// (kube-controller-manager, kube-scheduler with --leader-elect) on a
// coordination.k8s.io/v1 Lease, as upstream's client-go leaderelection with a LeaseLock:
//
//   - A candidate takes the lease when it does not exist, when it holds it already, when
//     its holder is empty (released), or when the lease has not changed for
//     LeaseDuration as measured on the candidate's own clock since it last saw it change
//     (so clock skew between machines does not matter, as upstream).
//   - Every write is an Update carrying the resourceVersion that was read (or a Create),
//     so of two candidates racing for an expired lease exactly one wins; the other gets a
//     Conflict (or AlreadyExists) and keeps waiting.
//   - The leader renews every RetryPeriod; when it cannot renew for RenewDeadline it stops
//     leading (the context given to OnStartedLeading is cancelled and Run returns) before
//     anyone else may take over (LeaseDuration > RenewDeadline).
//
// The Lease fields are upstream's: holderIdentity, leaseDurationSeconds, acquireTime,
// renewTime (MicroTime), leaseTransitions (incremented when the holder changes).
package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	coordinationv1 "kube5/proto/api/coordination/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

// JitterFactor spreads the retries of standby candidates, as upstream's.
const JitterFactor = 1.2

// Upstream's defaults (kube-controller-manager --leader-elect-*).
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Callbacks are called as leadership changes.
type Callbacks struct {
	// OnStartedLeading runs in its own goroutine when this candidate becomes leader; its
	// context is cancelled when leadership ends. Required.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading is called when Run returns after having led (leadership lost or ctx
	// ended). Unlike upstream, it is not called when this candidate never led, so a
	// standby that is shut down does not run "lost leadership" handling.
	OnStoppedLeading func()
	// OnNewLeader is called, in its own goroutine, whenever the observed holder changes
	// (including to this candidate).
	OnNewLeader func(identity string)
}

// Config configures an election.
type Config struct {
	Client *client.Clientset
	// Namespace and Name of the Lease ("kube-system", "kube-controller-manager").
	Namespace, Name string
	// Identity names this candidate uniquely (upstream: hostname + "_" + a UUID).
	Identity string
	// LeaseDuration, RenewDeadline, RetryPeriod default to 15s, 10s, 2s; they must satisfy
	// LeaseDuration > RenewDeadline > JitterFactor * RetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ReleaseOnCancel empties the lease when ctx ends while leading, so a successor takes
	// over at once instead of after LeaseDuration. Only safe if the work stops with ctx.
	ReleaseOnCancel bool
	Callbacks       Callbacks
}

// LeaderElector runs one candidate.
type LeaderElector struct {
	cfg    Config
	leases *client.Resource[*coordinationv1.Lease]

	mu sync.Mutex
	// observed is the last lease read or written, observedTime when (locally) it was
	// last seen to change: the lease is valid until observedTime + LeaseDuration.
	observed       *coordinationv1.Lease
	observedRecord record
	observedTime   time.Time
	reportedLeader string
}

// record is the part of the lease that counts for the election; a change in it (and only
// in it) restarts the expiry clock.
type record struct {
	holder      string
	duration    int32
	acquireTime time.Time
	renewTime   time.Time
	transitions int32
}

func recordOf(l *coordinationv1.Lease) record {
	s := l.GetSpec()
	return record{
		holder:      s.GetHolderIdentity(),
		duration:    s.GetLeaseDurationSeconds(),
		acquireTime: fromMicro(s.GetAcquireTime()),
		renewTime:   fromMicro(s.GetRenewTime()),
		transitions: s.GetLeaseTransitions(),
	}
}

func fromMicro(t *metav1.MicroTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Unix(t.GetSeconds(), int64(t.GetNanos()))
}

func toMicro(t time.Time) *metav1.MicroTime {
	t = t.Truncate(time.Microsecond)
	return &metav1.MicroTime{Seconds: t.Unix(), Nanos: int32(t.Nanosecond())}
}

// NewLeaderElector validates cfg and fills the defaults.
func NewLeaderElector(cfg Config) (*LeaderElector, error) {
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = DefaultRenewDeadline
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = DefaultRetryPeriod
	}
	switch {
	case cfg.Client == nil:
		return nil, errors.New("leaderelection: Client is required")
	case cfg.Name == "" || cfg.Namespace == "":
		return nil, errors.New("leaderelection: lease Namespace and Name are required")
	case cfg.Identity == "":
		return nil, errors.New("leaderelection: Identity must not be empty")
	case cfg.Callbacks.OnStartedLeading == nil:
		return nil, errors.New("leaderelection: OnStartedLeading callback is required")
	case cfg.LeaseDuration <= cfg.RenewDeadline:
		return nil, errors.New("leaseDuration must be greater than renewDeadline")
	case cfg.RenewDeadline <= time.Duration(JitterFactor*float64(cfg.RetryPeriod)):
		return nil, errors.New("renewDeadline must be greater than retryPeriod*JitterFactor")
	case cfg.LeaseDuration < time.Second:
		return nil, errors.New("leaseDuration must be at least 1s (the lease stores whole seconds)")
	}
	return &LeaderElector{cfg: cfg, leases: cfg.Client.Leases(cfg.Namespace)}, nil
}

// Run runs an election with cfg until ctx ends or leadership is lost; see
// LeaderElector.Run.
func Run(ctx context.Context, cfg Config) error {
	le, err := NewLeaderElector(cfg)
	if err != nil {
		return err
	}
	le.Run(ctx)
	return nil
}

// Run waits to acquire the lease, then calls OnStartedLeading and renews until ctx ends or
// renewing fails for RenewDeadline. It returns when leadership ends (or ctx ends while
// waiting); a daemon normally exits then, as upstream's do.
func (le *LeaderElector) Run(ctx context.Context) {
	if !le.acquire(ctx) {
		return // ctx ended while waiting
	}
	if le.cfg.Callbacks.OnStoppedLeading != nil {
		defer le.cfg.Callbacks.OnStoppedLeading()
	}
	leadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go le.cfg.Callbacks.OnStartedLeading(leadCtx)
	le.renew(leadCtx)
}

// IsLeader reports whether this candidate holds the lease, as last observed.
func (le *LeaderElector) IsLeader() bool {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.observedRecord.holder == le.cfg.Identity
}

// GetLeader returns the identity of the last observed holder ("" if none).
func (le *LeaderElector) GetLeader() string {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.observedRecord.holder
}

// acquire retries every RetryPeriod (jittered) until the lease is ours or ctx ends.
func (le *LeaderElector) acquire(ctx context.Context) bool {
	desc := le.cfg.Namespace + "/" + le.cfg.Name
	klog.InfoS("Attempting to acquire leader lease", "lease", desc)
	for {
		ok := le.tryAcquireOrRenew(ctx)
		le.maybeReportTransition()
		if ok {
			klog.InfoS("Successfully acquired lease", "lease", desc)
			return true
		}
		jitter := time.Duration(rand.Float64() * JitterFactor * float64(le.cfg.RetryPeriod))
		if !sleep(ctx, le.cfg.RetryPeriod+jitter) {
			return false
		}
	}
}

// renew keeps the lease every RetryPeriod; it returns when a renewal did not succeed
// within RenewDeadline, or when ctx ends (releasing the lease if configured).
func (le *LeaderElector) renew(ctx context.Context) {
	lastRenew := time.Now()
	for {
		if !sleep(ctx, le.cfg.RetryPeriod) {
			break
		}
		// Each attempt is bounded so a hung request cannot outlive the deadline.
		attemptCtx, cancel := context.WithDeadline(ctx, lastRenew.Add(le.cfg.RenewDeadline))
		ok := le.tryAcquireOrRenew(attemptCtx)
		cancel()
		le.maybeReportTransition()
		if ok {
			lastRenew = time.Now()
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if time.Since(lastRenew) >= le.cfg.RenewDeadline || !le.IsLeader() && le.leaseValid(time.Now()) {
			klog.InfoS("Failed to renew lease; leadership lost", "lease", le.cfg.Namespace+"/"+le.cfg.Name,
				"holder", le.GetLeader())
			return
		}
	}
	if le.cfg.ReleaseOnCancel {
		le.release()
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (le *LeaderElector) leaseValid(now time.Time) bool {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.observedTime.Add(le.cfg.LeaseDuration).After(now)
}

// observe records a lease read or written; the expiry clock restarts only when the
// election record changed.
func (le *LeaderElector) observe(l *coordinationv1.Lease) {
	r := recordOf(l)
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.observed == nil || r != le.observedRecord {
		le.observedTime = time.Now()
	}
	le.observed, le.observedRecord = l, r
}

// tryAcquireOrRenew is upstream's: one read, and a write if the lease is free or ours.
func (le *LeaderElector) tryAcquireOrRenew(ctx context.Context) bool {
	now := time.Now()
	spec := &coordinationv1.LeaseSpec{
		HolderIdentity:       proto.String(le.cfg.Identity),
		LeaseDurationSeconds: proto.Int32(int32(le.cfg.LeaseDuration / time.Second)),
		AcquireTime:          toMicro(now),
		RenewTime:            toMicro(now),
		LeaseTransitions:     proto.Int32(0),
	}

	// 1. Obtain or create the lease.
	old, err := le.leases.Get(ctx, le.cfg.Name)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			// Every RetryPeriod: an apiserver that cannot be reached is reported by the
			// client at a bounded rate instead (client.Config.ServerFlag).
			if client.IsUnreachable(err) {
				klog.V(2).InfoS("Error retrieving lease", "lease", le.cfg.Namespace+"/"+le.cfg.Name, "err", err)
			} else {
				klog.ErrorS(err, "Error retrieving lease", "lease", le.cfg.Namespace+"/"+le.cfg.Name)
			}
			return false
		}
		created, err := le.leases.Create(ctx, &coordinationv1.Lease{
			Metadata: &metav1.ObjectMeta{Namespace: le.cfg.Namespace, Name: le.cfg.Name},
			Spec:     spec,
		})
		if err != nil {
			klog.V(2).InfoS("Error creating lease", "lease", le.cfg.Namespace+"/"+le.cfg.Name, "err", err)
			return false
		}
		le.observe(created)
		return true
	}

	// 2. The lease exists: is it someone else's and still valid?
	le.observe(old)
	oldRec := recordOf(old)
	if oldRec.holder != "" && oldRec.holder != le.cfg.Identity && le.leaseValid(now) {
		klog.V(4).InfoS("Lease is held by another candidate and has not yet expired", "holder", oldRec.holder)
		return false
	}

	// 3. Take or renew it, keeping acquireTime and the transition count when renewing.
	if oldRec.holder == le.cfg.Identity {
		spec.AcquireTime = old.GetSpec().GetAcquireTime()
		spec.LeaseTransitions = proto.Int32(oldRec.transitions)
	} else {
		spec.LeaseTransitions = proto.Int32(oldRec.transitions + 1)
	}
	next := proto.Clone(old).(*coordinationv1.Lease)
	next.Spec = spec // metadata (with the resourceVersion read) makes the update conditional
	updated, err := le.leases.Update(ctx, next)
	if err != nil {
		klog.V(2).InfoS("Failed to update lease", "lease", le.cfg.Namespace+"/"+le.cfg.Name, "err", err)
		return false
	}
	le.observe(updated)
	return true
}

// release empties the holder so a successor does not wait out the lease.
func (le *LeaderElector) release() {
	if !le.IsLeader() {
		return
	}
	le.mu.Lock()
	old := le.observed
	le.mu.Unlock()
	now := time.Now()
	next := proto.Clone(old).(*coordinationv1.Lease)
	next.Spec = &coordinationv1.LeaseSpec{
		HolderIdentity:       proto.String(""),
		LeaseDurationSeconds: proto.Int32(1),
		AcquireTime:          toMicro(now),
		RenewTime:            toMicro(now),
		LeaseTransitions:     proto.Int32(old.GetSpec().GetLeaseTransitions()),
	}
	// The caller's context has ended; the release gets its own short deadline.
	ctx, cancel := context.WithTimeout(context.Background(), le.cfg.RenewDeadline)
	defer cancel()
	updated, err := le.leases.Update(ctx, next)
	if err != nil {
		klog.ErrorS(err, "Failed to release lease", "lease", le.cfg.Namespace+"/"+le.cfg.Name)
		return
	}
	le.observe(updated)
	klog.InfoS("Released lease", "lease", le.cfg.Namespace+"/"+le.cfg.Name)
}

func (le *LeaderElector) maybeReportTransition() {
	le.mu.Lock()
	holder := le.observedRecord.holder
	changed := holder != le.reportedLeader
	le.reportedLeader = holder
	le.mu.Unlock()
	if changed && le.cfg.Callbacks.OnNewLeader != nil && holder != "" {
		go le.cfg.Callbacks.OnNewLeader(holder)
	}
}

// String describes the elector for logs.
func (le *LeaderElector) String() string {
	return fmt.Sprintf("%s/%s as %s", le.cfg.Namespace, le.cfg.Name, le.cfg.Identity)
}
