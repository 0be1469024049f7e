// Package workqueue is upstream client-go's workqueue, generic over the key type: a FIFO
// that hands each item to one worker at a time, with delayed adds and per-item
// rate-limited retries.
//
// The contract a controller relies on:
//   - An item added while it is queued is queued once (dedup).
//   - An item is never processed by two workers at once: added while being processed,
//     it is queued again only when Done is called for it.
//   - Every Get must be followed by Done for that item.
//
// The usual worker loop:
//
//	for {
//		key, shutdown := q.Get()
//		if shutdown {
//			return
//		}
//		if err := sync(ctx, key); err != nil {
//			q.AddRateLimited(key)
//		} else {
//			q.Forget(key)
//		}
//		q.Done(key)
//	}
package workqueue

import (
	"sync"
	"time"
)

// Config sets up a queue beyond New's defaults.
type Config[T comparable] struct {
	// Name labels the queue's metrics; an empty name records none.
	Name string
	// Clock is the time source for delays, backoff and metrics; nil is the wall clock.
	Clock Clock
	// RateLimiter drives AddRateLimited; nil is DefaultControllerRateLimiter on Clock.
	RateLimiter RateLimiter[T]
}

// Queue is a deduplicating work queue with delayed and rate-limited adds. It is safe for
// concurrent use. Create it with New or NewWithConfig; ShutDown releases its goroutine.
type Queue[T comparable] struct {
	// cond guards the fields below and wakes Get and ShutDownWithDrain.
	cond *sync.Cond

	// queue holds the items ready for Get, in order; every one of them is in dirty.
	queue []T
	// dirty holds every item that needs processing: queued, or re-added while processing.
	dirty map[T]struct{}
	// processing holds the items handed out by Get and not yet Done.
	processing map[T]struct{}

	shuttingDown bool
	drain        bool

	metrics *queueMetrics[T]
	clock   Clock
	limiter RateLimiter[T]
	delay   *delayer[T]
}

// New returns a queue with the wall clock and the default controller rate limiter. name
// labels its metrics.
func New[T comparable](name string) *Queue[T] {
	return NewWithConfig(Config[T]{Name: name})
}

// NewWithConfig returns a queue set up by cfg.
func NewWithConfig[T comparable](cfg Config[T]) *Queue[T] {
	c := cfg.Clock
	if c == nil {
		c = RealClock{}
	}
	l := cfg.RateLimiter
	if l == nil {
		l = DefaultControllerRateLimiterWithClock[T](c)
	}
	q := &Queue[T]{
		cond:       sync.NewCond(&sync.Mutex{}),
		dirty:      map[T]struct{}{},
		processing: map[T]struct{}{},
		metrics:    newQueueMetrics[T](cfg.Name, c),
		clock:      c,
		limiter:    l,
	}
	q.delay = newDelayer(q, c)
	go q.delay.loop()
	return q
}

// Add marks item as needing processing. It is a no-op once the queue is shutting down.
func (q *Queue[T]) Add(item T) {
	q.cond.L.Lock()
	defer q.cond.L.Unlock()
	if q.shuttingDown {
		return
	}
	if _, ok := q.dirty[item]; ok {
		return
	}
	q.metrics.add(item)
	q.dirty[item] = struct{}{}
	// An item being processed waits in dirty; Done queues it, so no two workers hold it.
	if _, ok := q.processing[item]; ok {
		return
	}
	q.queue = append(q.queue, item)
	q.cond.Signal()
}

// Len returns the number of items ready for Get. Items waiting for a delay or being
// processed are not counted.
func (q *Queue[T]) Len() int {
	q.cond.L.Lock()
	defer q.cond.L.Unlock()
	return len(q.queue)
}

// Get blocks until an item is ready and returns it; the caller must call Done with it
// when finished. Once the queue is shutting down and empty, Get returns shutdown true.
// Items queued before ShutDown are still handed out.
func (q *Queue[T]) Get() (item T, shutdown bool) {
	q.cond.L.Lock()
	defer q.cond.L.Unlock()
	for len(q.queue) == 0 && !q.shuttingDown {
		q.cond.Wait()
	}
	if len(q.queue) == 0 {
		var zero T
		return zero, true
	}
	item = q.queue[0]
	// Clear the slot so the backing array does not keep the item alive.
	var zero T
	q.queue[0] = zero
	q.queue = q.queue[1:]

	q.metrics.get(item)
	q.processing[item] = struct{}{}
	delete(q.dirty, item)
	return item, false
}

// Done marks item as processed. If it was added again while being processed, it is
// queued now.
func (q *Queue[T]) Done(item T) {
	q.cond.L.Lock()
	defer q.cond.L.Unlock()
	q.metrics.done(item)
	delete(q.processing, item)
	if _, ok := q.dirty[item]; ok {
		q.queue = append(q.queue, item)
		q.cond.Signal()
	}
	if len(q.processing) == 0 && q.drain {
		// ShutDownWithDrain waits for the last Done.
		q.cond.Broadcast()
	}
}

// ShutDown makes Add a no-op and Get return shutdown once the queue is empty, and stops
// delayed adds. It does not wait for workers.
func (q *Queue[T]) ShutDown() {
	q.delay.stop()
	q.cond.L.Lock()
	defer q.cond.L.Unlock()
	q.drain = false
	q.shuttingDown = true
	q.cond.Broadcast()
}

// ShutDownWithDrain is ShutDown that then blocks until every item handed out by Get has
// been marked Done, as upstream. Items still queued are handed out by Get afterwards;
// workers should keep calling Get until it reports shutdown. A concurrent ShutDown ends
// the wait.
func (q *Queue[T]) ShutDownWithDrain() {
	q.delay.stop()
	q.cond.L.Lock()
	defer q.cond.L.Unlock()
	q.drain = true
	q.shuttingDown = true
	q.cond.Broadcast()
	for q.drain && len(q.processing) > 0 {
		q.cond.Wait()
	}
}

// ShuttingDown reports whether ShutDown or ShutDownWithDrain has been called.
func (q *Queue[T]) ShuttingDown() bool {
	q.cond.L.Lock()
	defer q.cond.L.Unlock()
	return q.shuttingDown
}

// AddRateLimited adds item after the delay the rate limiter assigns it, counting one
// more failure for it.
func (q *Queue[T]) AddRateLimited(item T) {
	q.AddAfter(item, q.limiter.When(item))
}

// Forget clears item's failure history in the rate limiter; call it when the item was
// processed successfully (or given up on), so its next failure starts from the base delay.
// It does not remove the item from the queue.
func (q *Queue[T]) Forget(item T) { q.limiter.Forget(item) }

// NumRequeues returns how many times item has been rate-limited since it was last
// forgotten.
func (q *Queue[T]) NumRequeues(item T) int { return q.limiter.NumRequeues(item) }

// AddAfter adds item once d has passed; d <= 0 adds it at once. An item already waiting
// keeps the earlier of its two ready times. A no-op once the queue is shutting down.
func (q *Queue[T]) AddAfter(item T, d time.Duration) {
	q.cond.L.Lock()
	if q.shuttingDown {
		q.cond.L.Unlock()
		return
	}
	q.metrics.retry()
	q.cond.L.Unlock()
	if d <= 0 {
		q.Add(item)
		return
	}
	q.delay.add(item, q.clock.Now().Add(d))
}
