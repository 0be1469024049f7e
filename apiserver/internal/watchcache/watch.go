package watchcache

import (
	"context"
	"strings"
	"sync"
	"time"

	"kube5/apiserver/internal/storage"
	"kube5/proto/fields"
	"kube5/proto/labels"
)

// WatchOptions select what a watcher sees.
type WatchOptions struct {
	// Prefix restricts the watch to keys under it (a namespace's keys); "" is the whole
	// cache. It must lie inside the cache's prefix.
	Prefix string
	// Key restricts the watch to one key; it takes precedence over Prefix.
	Key string
	// Label and Field filter on the server; nil selects everything.
	Label labels.Selector
	Field fields.Selector
	// Bookmarks asks for periodic BOOKMARK events carrying the cache's revision.
	Bookmarks bool
}

// Watcher is one watch. Read events from ResultChan until it is closed; call Stop (or
// cancel the context given to Watch) when done.
type Watcher struct {
	c         *Cache
	prefix    string
	key       string
	label     labels.Selector // nil: everything
	field     fields.Selector // nil: everything
	bookmarks bool
	// indexValue is the IndexField value the watcher pins, when indexed.
	indexValue string
	indexed    bool
	// startRev: the watcher's initial events cover everything up to it, so live events
	// at or below it (applied before registration, dispatched after) are skipped.
	startRev int64

	input  chan Event
	result chan Event

	stopOnce sync.Once
	stopCh   chan struct{}
	termOnce sync.Once
	termCh   chan struct{}
	termErr  func(last int64) error
}

// ResultChan delivers the events. It is closed after an ERROR event, on Stop, when the
// watch's context ends, and when the cache stops.
func (w *Watcher) ResultChan() <-chan Event { return w.result }

// Stop ends the watch; it is safe to call more than once and from any goroutine.
func (w *Watcher) Stop() {
	w.stopOnce.Do(func() { close(w.stopCh) })
	w.c.removeWatcher(w)
}

// Watch starts a watch. rv "0" begins with a synthetic ADDED event per object currently
// matching, then live events; "" does the same after a consistent wait (the cache first
// catches up with etcd's current revision); N delivers every event with a revision above
// N, replayed from the history, and is Gone ("too old resource version") when N predates
// the history. A watch from a revision the cache has not reached waits up to
// FreshnessTimeout, then fails with Timeout.
func (c *Cache) Watch(ctx context.Context, rv string, opts WatchOptions) (*Watcher, error) {
	n, err := storage.ParseResourceVersion(rv)
	if err != nil {
		return nil, err
	}
	w, err := c.newWatcher(opts)
	if err != nil {
		return nil, err
	}
	if err := c.waitFor(ctx, rv); err != nil {
		return nil, err
	}

	var snapshot []*Entry
	var initial []*event
	c.mu.RLock()
	if n == 0 {
		snapshot, _ = c.selectLocked(w.prefix, w.key, w.label, w.field, 0)
	} else {
		if n < c.ring.base {
			base := c.ring.base
			c.mu.RUnlock()
			return nil, storage.NewError(storage.ErrCodeGone, w.prefix, n, "too old resource version: %d (%d)", n, base)
		}
		initial = c.ring.since(n)
	}
	w.startRev = c.rev
	c.addWatcher(w)
	c.mu.RUnlock()

	go w.run(ctx, n, snapshot, initial)
	return w, nil
}

func (c *Cache) newWatcher(opts WatchOptions) (*Watcher, error) {
	w := &Watcher{
		c:         c,
		prefix:    opts.Prefix,
		key:       opts.Key,
		bookmarks: opts.Bookmarks,
		input:     make(chan Event, c.opts.WatcherBuffer),
		result:    make(chan Event),
		stopCh:    make(chan struct{}),
		termCh:    make(chan struct{}),
	}
	if w.prefix == "" {
		w.prefix = c.prefix
	}
	if !strings.HasPrefix(w.prefix, c.prefix) || (w.key != "" && !strings.HasPrefix(w.key, c.prefix)) {
		return nil, storage.NewError(storage.ErrCodeBadRequest, opts.Prefix+opts.Key, 0, "watch outside %s", c.prefix)
	}
	if opts.Label != nil && !opts.Label.Empty() {
		w.label = opts.Label
	}
	if opts.Field != nil && !opts.Field.Empty() {
		w.field = opts.Field
		if c.opts.IndexField != "" {
			w.indexValue, w.indexed = opts.Field.RequiresExactMatch(c.opts.IndexField)
		}
	}
	return w, nil
}

func (w *Watcher) keyMatches(key string) bool {
	if w.key != "" {
		return key == w.key
	}
	return strings.HasPrefix(key, w.prefix)
}

func (w *Watcher) matches(e *Entry) bool {
	return (w.label == nil || w.label.Matches(e.Labels)) && (w.field == nil || w.field.Matches(e.Fields))
}

// convert decides what, if anything, the watcher sees of an event: an object that
// starts matching its selectors is ADDED, one that stops matching is DELETED.
func (w *Watcher) convert(ev *event) (Event, bool) {
	if !w.keyMatches(ev.cur.Key) {
		return Event{}, false
	}
	if ev.typ == Deleted {
		if w.matches(ev.prev) {
			return Event{Type: Deleted, Entry: ev.cur}, true
		}
		return Event{}, false
	}
	cur := w.matches(ev.cur)
	prev := ev.prev != nil && w.matches(ev.prev)
	switch {
	case cur && prev:
		return Event{Type: Modified, Entry: ev.cur}, true
	case cur:
		return Event{Type: Added, Entry: ev.cur}, true
	case prev:
		return Event{Type: Deleted, Entry: ev.leaveEntry()}, true
	}
	return Event{}, false
}

// run sends the initial events, then relays live ones until the watch ends.
func (w *Watcher) run(ctx context.Context, from int64, snapshot []*Entry, initial []*event) {
	defer close(w.result)
	defer w.c.removeWatcher(w)
	last := from
	send := func(ev Event) bool {
		select {
		case w.result <- ev:
			if ev.Entry != nil && ev.Entry.Revision > last {
				last = ev.Entry.Revision
			}
			return true
		case <-w.stopCh:
			return false
		case <-ctx.Done():
			return false
		}
	}
	for _, e := range snapshot {
		if !send(Event{Type: Added, Entry: e}) {
			return
		}
	}
	for _, ev := range initial {
		if out, ok := w.convert(ev); ok && !send(out) {
			return
		}
	}
	for {
		select {
		case ev := <-w.input:
			if !send(ev) {
				return
			}
		case <-w.termCh:
			// What was queued before the termination is still valid: deliver it first, so
			// a client re-watching from its last resourceVersion loses as little as possible.
			for {
				select {
				case ev := <-w.input:
					if !send(ev) {
						return
					}
					continue
				default:
				}
				break
			}
			send(Event{Type: Error, Err: w.termErr(last)})
			return
		case <-w.stopCh:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (c *Cache) addWatcher(w *Watcher) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.stopped { // a watch that raced with shutdown ends at once instead of hanging
		w.termOnce.Do(func() {
			w.termErr = shuttingDown
			close(w.termCh)
		})
		return
	}
	if w.indexed {
		m := c.indexed[w.indexValue]
		if m == nil {
			m = map[*Watcher]struct{}{}
			c.indexed[w.indexValue] = m
		}
		m[w] = struct{}{}
	} else {
		c.watchers[w] = struct{}{}
	}
	c.metrics.watchers.Inc()
}

func (c *Cache) removeWatcher(w *Watcher) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.removeWatcherLocked(w)
}

func (c *Cache) removeWatcherLocked(w *Watcher) {
	if w.indexed {
		m := c.indexed[w.indexValue]
		if _, ok := m[w]; !ok {
			return
		}
		delete(m, w)
		if len(m) == 0 {
			delete(c.indexed, w.indexValue)
		}
	} else {
		if _, ok := c.watchers[w]; !ok {
			return
		}
		delete(c.watchers, w)
	}
	c.metrics.watchers.Dec()
}

// terminateLocked removes the watcher and makes it end with an ERROR event; wmu held.
func (c *Cache) terminateLocked(w *Watcher, errf func(last int64) error) {
	c.removeWatcherLocked(w)
	w.termOnce.Do(func() {
		w.termErr = errf
		close(w.termCh)
	})
}

// terminateAll ends every watcher with the error errf builds.
func (c *Cache) terminateAll(errf func(last int64) error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for w := range c.watchers {
		c.terminateLocked(w, errf)
	}
	for _, m := range c.indexed {
		for w := range m {
			c.terminateLocked(w, errf)
		}
	}
}

func (c *Cache) tooSlow(last int64) error {
	return storage.NewError(storage.ErrCodeTooManyRequests, c.prefix, last,
		"the watcher fell behind the events of %s; watch again from resourceVersion %d", c.prefix, last)
}

type pending struct {
	w  *Watcher
	ev Event
}

// dispatch offers events to the watchers, in order. A watcher whose buffer is full may
// hold the dispatcher only for what is left of a small time budget (upstream's
// dispatchTimeoutBudget); then it is terminated, so one stalled client neither blocks the
// others nor makes memory grow.
func (c *Cache) dispatch(evs []*event) {
	if len(evs) == 0 {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(c.watchers) == 0 && len(c.indexed) == 0 {
		return
	}
	f := c.opts.IndexField
	var blocked []pending
	for _, ev := range evs {
		blocked = blocked[:0]
		offer := func(w *Watcher) {
			if ev.rev <= w.startRev {
				return
			}
			out, ok := w.convert(ev)
			if !ok {
				return
			}
			select {
			case w.input <- out:
			default:
				blocked = append(blocked, pending{w, out})
			}
		}
		for w := range c.watchers {
			offer(w)
		}
		if f != "" && len(c.indexed) > 0 {
			v := ev.cur.Fields[f]
			for w := range c.indexed[v] {
				offer(w)
			}
			if ev.prev != nil {
				if pv := ev.prev.Fields[f]; pv != v {
					for w := range c.indexed[pv] {
						offer(w)
					}
				}
			}
		}
		if len(blocked) > 0 {
			c.resolveBlocked(blocked)
		}
	}
	c.metrics.dispatched.Add(float64(len(evs)))
}

func (c *Cache) resolveBlocked(blocked []pending) {
	avail := c.budget.take()
	start := time.Now()
	var timeout <-chan time.Time
	if avail > 0 {
		t := time.NewTimer(avail)
		defer t.Stop()
		timeout = t.C
	}
	expired := avail <= 0
	for _, p := range blocked {
		if !expired {
			select {
			case p.w.input <- p.ev:
				continue
			case <-p.w.stopCh:
				continue
			case <-timeout:
				expired = true
			}
		}
		select {
		case p.w.input <- p.ev:
		default:
			c.terminateLocked(p.w, c.tooSlow)
			c.metrics.terminated.Inc()
		}
	}
	c.budget.giveBack(avail - time.Since(start))
}

// dispatchBookmarks sends every watcher that asked for bookmarks the cache's revision,
// through the event buffer so it arrives after every event at or below it. A watcher
// with a full buffer simply misses this bookmark.
func (c *Cache) dispatchBookmarks() {
	rev := c.rev // the run goroutine is the only writer
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.bookmarkE == nil || c.bookmarkAt != rev {
		obj := c.newObj()
		storage.SetResourceVersion(obj, rev)
		b, err := marshal.Marshal(obj)
		if err != nil {
			return
		}
		c.bookmarkE = &Entry{Object: obj, Bytes: b, Revision: rev}
		c.bookmarkAt = rev
	}
	ev := Event{Type: Bookmark, Entry: c.bookmarkE}
	send := func(w *Watcher) {
		if !w.bookmarks {
			return
		}
		select {
		case w.input <- ev:
		default:
		}
	}
	for w := range c.watchers {
		send(w)
	}
	for _, m := range c.indexed {
		for w := range m {
			send(w)
		}
	}
}

// budget is how long the dispatcher may still wait for slow watchers: it refills at
// 100ms per second up to 100ms.
type budget struct {
	avail time.Duration
	last  time.Time
}

const maxBudget = 100 * time.Millisecond

func newBudget() budget { return budget{avail: maxBudget, last: time.Now()} }

func (b *budget) take() time.Duration {
	now := time.Now()
	b.avail = min(maxBudget, b.avail+now.Sub(b.last)/10)
	b.last = now
	a := b.avail
	b.avail = 0
	return a
}

func (b *budget) giveBack(d time.Duration) {
	if d > 0 {
		b.avail = min(maxBudget, b.avail+d)
	}
}
