// Package fake holds a manual clock for tests of code built on package workqueue.
package fake

import (
	"sync"
	"time"
)

// Clock is a manual clock: time moves only when Step or SetTime is called. It implements
// workqueue.Clock, so delay and backoff tests run without sleeping.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a Clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives once the clock has been stepped d past now.
// A non-positive d fires at once, as time.After does.
func (c *Clock) After(d time.Duration) <-chan time.Time { return c.At(c.Now().Add(d)) }

// At returns a channel that receives once the clock reaches t, at once if it has.
func (c *Clock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Buffered so firing never blocks on a receiver that has gone away.
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: t, ch: ch})
	return ch
}

// Step moves the clock forward by d and fires every waiter whose time has come.
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	t := c.now.Add(d)
	c.mu.Unlock()
	c.SetTime(t)
}

// SetTime sets the clock to t and fires every waiter whose time has come.
func (c *Clock) SetTime(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// HasWaiters reports whether any After or At channel has not fired yet.
func (c *Clock) HasWaiters() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters) > 0
}
