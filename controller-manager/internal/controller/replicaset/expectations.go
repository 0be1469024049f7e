package replicaset

import (
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// ExpectationsTimeout is how long a controller trusts its expectations: if the informer
// never reports a create or delete (a lost watch event), the controller syncs again after
// this long instead of waiting forever, as upstream's.
const ExpectationsTimeout = 5 * time.Minute

// Expectations remember, per controller key, the pod creations and deletions a sync asked
// for that the informer has not reported yet (upstream's UIDTrackingControllerExpectations).
// A sync acts only when its controller's expectations are satisfied; otherwise the cache
// is behind its own writes and it would create or delete twice.
type Expectations struct {
	mu    sync.Mutex
	byKey map[string]*expectation
	now   func() time.Time
}

type expectation struct {
	adds int
	// dels holds the keys of pods whose deletion is expected: counting by key means a
	// deletion seen twice (update with deletionTimestamp, then delete) counts once.
	dels      map[string]struct{}
	timestamp time.Time
}

// NewExpectations returns empty expectations.
func NewExpectations() *Expectations {
	return &Expectations{byKey: map[string]*expectation{}, now: time.Now}
}

// Satisfied reports whether the controller may act: nothing is pending, the expectations
// expired, or none were ever set (a new controller, or one after a restart).
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.byKey[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.dels) == 0 {
		return true
	}
	if e.now().Sub(x.timestamp) > ExpectationsTimeout {
		klog.V(4).InfoS("Expectations expired", "controller", key, "adds", x.adds, "dels", len(x.dels))
		return true
	}
	return false
}

// ExpectCreations records that n pods are about to be created.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.byKey[key] = &expectation{adds: n, dels: map[string]struct{}{}, timestamp: e.now()}
}

// ExpectDeletions records that the pods with these keys are about to be deleted.
func (e *Expectations) ExpectDeletions(key string, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{dels: map[string]struct{}{}, timestamp: e.now()}
	for _, k := range podKeys {
		x.dels[k] = struct{}{}
	}
	e.byKey[key] = x
}

// CreationObserved lowers the pending creations by one (the informer saw a pod, or a
// create failed and will never be seen).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.byKey[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// DeletionObserved marks the deletion of podKey as seen.
func (e *Expectations) DeletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.byKey[key]; ok {
		delete(x.dels, podKey)
	}
}

// Delete forgets a controller (it was deleted).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.byKey, key)
}
