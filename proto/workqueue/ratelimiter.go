package workqueue

import (
	"math"
	"sync"
	"time"
)

// RateLimiter decides how long an item waits before it is retried, as upstream's
// TypedRateLimiter.
type RateLimiter[T comparable] interface {
	// When returns how long to wait before the item is processed again; each call counts
	// as one more failure of the item.
	When(item T) time.Duration
	// Forget clears the item's failure history: it succeeded or was given up on.
	Forget(item T)
	// NumRequeues returns how many times the item has been requeued since it was last
	// forgotten.
	NumRequeues(item T) int
}

// DefaultControllerRateLimiter is upstream's default for controllers: per-item exponential
// backoff from 5ms to 1000s, and an overall token bucket of 10 qps with a burst of 100,
// the longer of the two winning. The bucket only matters when very many items fail at once.
func DefaultControllerRateLimiter[T comparable]() RateLimiter[T] {
	return DefaultControllerRateLimiterWithClock[T](RealClock{})
}

// DefaultControllerRateLimiterWithClock is DefaultControllerRateLimiter on a given clock.
func DefaultControllerRateLimiterWithClock[T comparable](c Clock) RateLimiter[T] {
	return NewMaxOfRateLimiter(
		NewItemExponentialFailureRateLimiter[T](5*time.Millisecond, 1000*time.Second),
		NewBucketRateLimiter[T](10, 100, c),
	)
}

// ItemExponentialFailureRateLimiter waits baseDelay*2^failures for an item, at most maxDelay.
type ItemExponentialFailureRateLimiter[T comparable] struct {
	mu        sync.Mutex
	failures  map[T]int
	baseDelay time.Duration
	maxDelay  time.Duration
}

// NewItemExponentialFailureRateLimiter returns a per-item exponential limiter.
func NewItemExponentialFailureRateLimiter[T comparable](baseDelay, maxDelay time.Duration) *ItemExponentialFailureRateLimiter[T] {
	return &ItemExponentialFailureRateLimiter[T]{failures: map[T]int{}, baseDelay: baseDelay, maxDelay: maxDelay}
}

// When implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter[T]) When(item T) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	exp := r.failures[item]
	r.failures[item] = exp + 1

	// Computed in float64 so a long failure streak saturates at maxDelay instead of
	// overflowing int64 nanoseconds.
	backoff := float64(r.baseDelay.Nanoseconds()) * math.Pow(2, float64(exp))
	if backoff > math.MaxInt64 {
		return r.maxDelay
	}
	if d := time.Duration(backoff); d < r.maxDelay {
		return d
	}
	return r.maxDelay
}

// NumRequeues implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter[T]) NumRequeues(item T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}

// Forget implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter[T]) Forget(item T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, item)
}

// BucketRateLimiter is an overall token bucket: qps tokens a second, at most burst saved
// up. Every When takes a token, waiting for it when the bucket is empty. It has the
// semantics of golang.org/x/time/rate's Reserve().Delay(), which upstream uses, written
// out here to keep that module out of kube5/proto.
type BucketRateLimiter[T comparable] struct {
	mu     sync.Mutex
	clock  Clock
	qps    float64
	burst  float64
	tokens float64
	last   time.Time
}

// NewBucketRateLimiter returns a full bucket.
func NewBucketRateLimiter[T comparable](qps float64, burst int, c Clock) *BucketRateLimiter[T] {
	if c == nil {
		c = RealClock{}
	}
	return &BucketRateLimiter[T]{clock: c, qps: qps, burst: float64(burst), tokens: float64(burst), last: c.Now()}
}

// When implements RateLimiter.
func (r *BucketRateLimiter[T]) When(T) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	if now.After(r.last) {
		r.tokens = math.Min(r.burst, r.tokens+now.Sub(r.last).Seconds()*r.qps)
		r.last = now
	}
	// Taking the token even when the bucket is empty reserves a future one: the debt
	// makes later callers wait behind this one, as rate.Limiter.Reserve does.
	r.tokens--
	if r.tokens >= 0 || r.qps <= 0 {
		return 0
	}
	return time.Duration(-r.tokens / r.qps * float64(time.Second))
}

// NumRequeues implements RateLimiter; the bucket tracks no items.
func (r *BucketRateLimiter[T]) NumRequeues(T) int { return 0 }

// Forget implements RateLimiter; the bucket tracks no items.
func (r *BucketRateLimiter[T]) Forget(T) {}

// MaxOfRateLimiter asks every limiter and waits the longest answer.
type MaxOfRateLimiter[T comparable] struct {
	limiters []RateLimiter[T]
}

// NewMaxOfRateLimiter combines limiters.
func NewMaxOfRateLimiter[T comparable](limiters ...RateLimiter[T]) *MaxOfRateLimiter[T] {
	return &MaxOfRateLimiter[T]{limiters: limiters}
}

// When implements RateLimiter. Every limiter is asked, not just until the maximum is
// known, because each call records a failure.
func (r *MaxOfRateLimiter[T]) When(item T) time.Duration {
	var d time.Duration
	for _, l := range r.limiters {
		d = max(d, l.When(item))
	}
	return d
}

// NumRequeues implements RateLimiter.
func (r *MaxOfRateLimiter[T]) NumRequeues(item T) int {
	n := 0
	for _, l := range r.limiters {
		n = max(n, l.NumRequeues(item))
	}
	return n
}

// Forget implements RateLimiter.
func (r *MaxOfRateLimiter[T]) Forget(item T) {
	for _, l := range r.limiters {
		l.Forget(item)
	}
}
