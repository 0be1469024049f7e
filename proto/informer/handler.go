package informer

import (
	"context"
	"sync"
	"sync/atomic"

	"kube5/proto/scheme"
)

// Handler receives an informer's notifications; nil funcs are skipped. The objects are the
// cache's own: do not modify them. Handlers should only enqueue keys (design §1): each
// handler has its own unbounded buffer and goroutine, so a slow handler delays only
// itself, never the watch or other handlers, as upstream's processorListener.
type Handler[T scheme.Object] struct {
	OnAdd func(obj T)
	// OnUpdate gets the old and new state. Periodic resync delivers OnUpdate(obj, obj)
	// with the same object twice.
	OnUpdate func(oldObj, newObj T)
	// OnDelete gets the last state of a deleted object. When the deletion happened while
	// the informer was disconnected and was found by a relist (upstream's
	// DeletedFinalStateUnknown tombstone), this is the last state the informer knew, with
	// that state's resourceVersion; there is no separate tombstone type.
	OnDelete func(obj T)
}

type notification[T scheme.Object] struct {
	kind     int // notifyAdd, notifyUpdate, notifyDelete
	old, obj T
}

const (
	notifyAdd = iota
	notifyUpdate
	notifyDelete
)

// listener buffers notifications for one handler and calls it from its own goroutine.
type listener[T scheme.Object] struct {
	h       Handler[T]
	mu      sync.Mutex
	pending []notification[T]
	queued  int64         // notifications ever added, under mu
	wake    chan struct{} // capacity 1: "pending may be non-empty"
	// delivered counts notifications handed to the handler; target is the number that
	// makes the handler synced (the initial list's adds), -1 until the informer syncs.
	delivered atomic.Int64
	target    atomic.Int64
}

func newListener[T scheme.Object](h Handler[T]) *listener[T] {
	l := &listener[T]{h: h, wake: make(chan struct{}, 1)}
	l.target.Store(-1)
	return l
}

// markSyncTarget records that the handler is synced once everything queued so far has
// been delivered. The informer calls it, under its store lock, after queueing the
// initial list (or a late handler's synthetic adds).
func (l *listener[T]) markSyncTarget() {
	l.mu.Lock()
	l.target.Store(l.queued)
	l.mu.Unlock()
}

func (l *listener[T]) hasSynced() bool {
	t := l.target.Load()
	return t >= 0 && l.delivered.Load() >= t
}

// add never blocks: the informer calls it with its store lock held.
func (l *listener[T]) add(n notification[T]) {
	l.mu.Lock()
	l.pending = append(l.pending, n)
	l.queued++
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *listener[T]) run(ctx context.Context) {
	for {
		l.mu.Lock()
		batch := l.pending
		l.pending = nil
		l.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-l.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		for _, n := range batch {
			if ctx.Err() != nil {
				return
			}
			l.dispatch(n)
			l.delivered.Add(1)
		}
	}
}

func (l *listener[T]) dispatch(n notification[T]) {
	switch n.kind {
	case notifyAdd:
		if l.h.OnAdd != nil {
			l.h.OnAdd(n.obj)
		}
	case notifyUpdate:
		if l.h.OnUpdate != nil {
			l.h.OnUpdate(n.old, n.obj)
		}
	case notifyDelete:
		if l.h.OnDelete != nil {
			l.h.OnDelete(n.obj)
		}
	}
}

// Registration is returned by AddEventHandler.
type Registration interface {
	// HasSynced reports whether the handler has been handed every object of the initial
	// list (for a handler added after the informer synced: its synthetic adds).
	HasSynced() bool
}
