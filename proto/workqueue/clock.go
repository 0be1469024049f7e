package workqueue

import "time"

// Clock is the time source of a queue and its rate limiters. It exists so tests can drive
// delays with a fake clock (see package workqueue/fake) instead of sleeping.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock reaches t, at once if it already
	// has. It takes a time rather than a duration so that a wait computed from a Now()
	// that went stale (a fake clock stepped meanwhile) still ends on time.
	At(t time.Time) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// At returns time.After(time.Until(t)).
func (RealClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// since is time.Since on c.
func since(c Clock, t time.Time) time.Duration { return c.Now().Sub(t) }
