// Package runner is upstream's BoundedFrequencyRunner, reduced to what kube-proxy uses:
// a function run at most once per minInterval however often it is asked for (so a burst
// of Service and Endpoints events becomes one iptables-restore) and at least once per
// maxInterval (the periodic resync).
package runner

import (
	"context"
	"time"

	"k8s.io/klog/v2"
)

// BoundedFrequency runs fn from Loop's goroutine.
type BoundedFrequency struct {
	name     string
	fn       func()
	min, max time.Duration
	run      chan struct{}
}

// New returns a runner; maxInterval 0 disables the periodic run.
func New(name string, fn func(), minInterval, maxInterval time.Duration) *BoundedFrequency {
	return &BoundedFrequency{name: name, fn: fn, min: minInterval, max: maxInterval, run: make(chan struct{}, 1)}
}

// Run asks for a run; it never blocks, and requests made before the run starts merge.
func (r *BoundedFrequency) Run() {
	select {
	case r.run <- struct{}{}:
	default:
	}
}

// Loop runs fn once at start, then as asked and periodically, until ctx ends.
func (r *BoundedFrequency) Loop(ctx context.Context) {
	var periodic <-chan time.Time
	var ticker *time.Timer
	if r.max > 0 {
		ticker = time.NewTimer(r.max)
		defer ticker.Stop()
		periodic = ticker.C
	}
	var last time.Time
	r.Run()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.run:
		case <-periodic:
			klog.V(4).InfoS("Periodic run", "runner", r.name)
		}
		if wait := time.Until(last.Add(r.min)); wait > 0 {
			// Waiting here is what batches: requests arriving meanwhile merge into this run.
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		select { // this run covers requests made while waiting
		case <-r.run:
		default:
		}
		last = time.Now()
		r.fn()
		if ticker != nil {
			ticker.Reset(r.max)
		}
	}
}
