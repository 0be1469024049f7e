// Package outage makes a daemon say, in its log, that a dependency it needs (the
// apiserver for every daemon, etcd for kube-apiserver) cannot be reached, and why:
//
//   - at the first failure, so a user who started the daemon against a wrong address or
//     before its dependency learns within seconds why nothing happens;
//   - then again at growing intervals (First, doubled up to Max) while the failures go on,
//     so a long outage neither floods the log nor falls silent;
//   - and once when the dependency answers again, with how long it was gone.
//
// The callers keep retrying by themselves (informers, leader election, node registration
// each have their own backoff); a Reporter only decides when a failure is worth a line.
package outage

import (
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

// Default intervals between two failure lines of one outage.
const (
	DefaultFirst = 5 * time.Second
	DefaultMax   = time.Minute
)

// Reporter logs the outages of one dependency. It is safe for concurrent use; Success is
// cheap enough to call after every request.
type Reporter struct {
	// Message builds the line logged for a failure from its short cause ("connection
	// refused"); it should name the address, the flag to check, and say that the daemon
	// retries.
	Message func(cause string) string
	// Recovered is the line logged when the dependency answers after a reported failure.
	Recovered string
	// First is the quiet interval after the first failure line, doubled after each line
	// up to Max.
	First, Max time.Duration
	// Log writes a line; nil means klog (ErrorS for failures, InfoS for the recovery).
	// Tests capture the lines with it.
	Log func(failed bool, msg string, keysAndValues ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	down atomic.Bool // fast path for Success, called after every request

	mu       sync.Mutex
	since    time.Time     // first failure of the current outage
	next     time.Time     // no failure line before this
	interval time.Duration // quiet interval after the next line
	failures int           // failures since the last line
}

// Failure records a failed attempt, logging it when the outage is new or the quiet
// interval has passed. cause is a short reason such as Cause returns.
func (r *Reporter) Failure(cause string) {
	now := r.now()
	r.mu.Lock()
	if !r.down.Load() {
		r.down.Store(true)
		r.since, r.next, r.failures = now, now, 0
		r.interval = r.First
		if r.interval <= 0 {
			r.interval = DefaultFirst
		}
	}
	r.failures++
	if now.Before(r.next) {
		r.mu.Unlock()
		return
	}
	failures, since := r.failures, r.since
	r.failures = 0
	r.next = now.Add(r.interval)
	maxInterval := r.Max
	if maxInterval <= 0 {
		maxInterval = DefaultMax
	}
	r.interval = min(2*r.interval, maxInterval)
	r.mu.Unlock()

	msg := cause
	if r.Message != nil {
		msg = r.Message(cause)
	}
	if now.Equal(since) {
		r.log(true, msg)
		return
	}
	r.log(true, msg, "unreachableFor", now.Sub(since).Round(time.Second).String(), "failedAttempts", failures)
}

// Success records an attempt that reached the dependency, ending the current outage.
func (r *Reporter) Success() {
	if !r.down.Load() {
		return
	}
	now := r.now()
	r.mu.Lock()
	if !r.down.Load() {
		r.mu.Unlock()
		return
	}
	r.down.Store(false)
	since := r.since
	r.mu.Unlock()
	r.log(false, r.Recovered, "after", now.Sub(since).Round(100*time.Millisecond).String())
}

// Down reports whether the last attempt failed.
func (r *Reporter) Down() bool { return r.down.Load() }

func (r *Reporter) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reporter) log(failed bool, msg string, kv ...any) {
	switch {
	case r.Log != nil:
		r.Log(failed, msg, kv...)
	case failed:
		klog.ErrorS(nil, msg, kv...)
	default:
		klog.InfoS(msg, kv...)
	}
}
