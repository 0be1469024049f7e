package job

import (
	"sync"
	"time"
)

// expectations remember the pod creations and deletions a job's sync made and the
// informer has not shown yet, so the next sync does not act twice on a stale cache
// (upstream's ControllerExpectations). They are in memory only: after a restart the
// informer's first list is the truth. An expectation older than expectationTTL is
// considered met, so a lost event cannot stall a job forever.
type expectations struct {
	mu sync.Mutex
	m  map[string]*expected
}

type expected struct {
	adds, dels int
	at         time.Time
}

const expectationTTL = 5 * time.Minute

func newExpectations() *expectations { return &expectations{m: map[string]*expected{}} }

func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	return !ok || (x.adds <= 0 && x.dels <= 0) || time.Since(x.at) > expectationTTL
}

func (e *expectations) expect(key string, adds, dels int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expected{adds: adds, dels: dels, at: time.Now()}
}

func (e *expectations) observe(key string, adds, dels int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.adds -= adds
		x.dels -= dels
	}
}

func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
