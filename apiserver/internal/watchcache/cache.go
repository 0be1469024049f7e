// Package watchcache is the apiserver's in-memory cache of one resource (design.md §3):
// one etcd watch on the resource's key prefix keeps the current state and a ring of
// recent events, from which it serves List and Get without touching etcd and fans events
// out to any number of watchers, filtered by key prefix and by label and field selectors
// on the server. Semantics follow upstream's cacher: events strictly after the requested
// resourceVersion, in order, none lost or repeated; "0" and "" start with synthetic ADDED
// events for the current state; a resourceVersion older than the history held is Gone.
package watchcache

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
	"k8s.io/klog/v2"

	"kube5/apiserver/internal/storage"
	"kube5/proto/scheme"
)

// Options tune a Cache; zero values take the defaults.
type Options struct {
	// Group, Version, Kind and Resource label the metrics ("" group is core).
	Group, Version, Kind, Resource string
	// RingCapacity bounds how many events the history keeps (default 100,000); watches
	// from a resourceVersion older than the history are Gone.
	RingCapacity int
	// RingMaxBytes bounds the history by the encoded size of its objects (default
	// 256 MiB), so a resource of large objects cannot hold gigabytes of history.
	RingMaxBytes int64
	// BookmarkInterval is how often watchers that asked for bookmarks get one (default a
	// minute, as upstream).
	BookmarkInterval time.Duration
	// WatcherBuffer is the number of events a watcher may lag behind before it is
	// considered stalled (default 100).
	WatcherBuffer int
	// FreshnessTimeout bounds the wait for the cache to reach a requested or the current
	// etcd revision, and to (re)initialise (default 3s, as upstream).
	FreshnessTimeout time.Duration
	// IndexField names one exact-match field (such as "spec.nodeName") by which the cache
	// indexes both objects and watchers: a List or Watch pinning it (spec.nodeName=n1)
	// looks at that value's objects only, and an event is offered only to the watchers of
	// its old and new value, so 5000 kubelets do not each inspect every pod event.
	IndexField string
}

func (o *Options) defaults() {
	if o.RingCapacity <= 0 {
		o.RingCapacity = 100_000
	}
	if o.RingMaxBytes <= 0 {
		o.RingMaxBytes = 256 << 20
	}
	if o.BookmarkInterval <= 0 {
		o.BookmarkInterval = time.Minute
	}
	if o.WatcherBuffer <= 0 {
		o.WatcherBuffer = 100
	}
	if o.FreshnessTimeout <= 0 {
		o.FreshnessTimeout = 3 * time.Second
	}
}

// Cache caches one resource. Create it with New, start it with Start.
type Cache struct {
	client *clientv3.Client
	prefix string
	newObj func() scheme.Object
	attrs  AttrFunc
	opts   Options

	// mu guards the state below. Only the run goroutine writes it, so that goroutine
	// reads it without the lock.
	mu    sync.RWMutex
	store map[string]*Entry
	index map[string]map[string]*Entry // IndexField value -> key -> entry
	ring  ring
	rev   int64 // the cache holds etcd's state of the prefix at this revision
	ready bool
	// revCh is closed (and replaced) whenever rev or ready changes, waking waiters.
	revCh chan struct{}

	// sorted caches the sorted keys of store; nil after a key is added or removed. It is
	// rebuilt by readers holding mu.RLock and sortMu, and cleared under mu.Lock.
	sortMu sync.Mutex
	sorted []string

	// Watchers; lock order is mu before wmu.
	wmu        sync.Mutex
	stopped    bool                             // the cache has stopped: no new watchers
	watchers   map[*Watcher]struct{}            // not indexed
	indexed    map[string]map[*Watcher]struct{} // by IndexField value
	budget     budget
	bookmarkAt int64 // revision of the last bookmark entry made
	bookmarkE  *Entry

	// streamCtx identifies the cache's own etcd watch stream (RequestProgress targets it).
	progressMu       sync.Mutex
	streamCtx        context.Context
	watching         bool
	progressInFlight bool
	lastProgress     time.Time

	// interrupt, when set, cancels the current etcd watch (tests force a resume with it).
	interruptMu sync.Mutex
	interrupt   context.CancelFunc
	// beforeWatch, when set, runs before every etcd watch is (re)established (tests).
	beforeWatch func(resume bool)

	metrics *cacheMetrics
}

// New returns a cache of the objects under prefix (which should end in "/"). newObj
// returns an empty object of the resource's type; attrs (DefaultAttrs when nil) gives
// the labels and fields selectors match.
func New(client *clientv3.Client, prefix string, newObj func() scheme.Object, attrs AttrFunc, opts Options) *Cache {
	opts.defaults()
	if attrs == nil {
		attrs = DefaultAttrs
	}
	return &Cache{
		client:   client,
		prefix:   prefix,
		newObj:   newObj,
		attrs:    attrs,
		opts:     opts,
		store:    map[string]*Entry{},
		index:    map[string]map[string]*Entry{},
		ring:     ring{capacity: opts.RingCapacity, maxBytes: opts.RingMaxBytes},
		revCh:    make(chan struct{}),
		watchers: map[*Watcher]struct{}{},
		indexed:  map[string]map[*Watcher]struct{}{},
		budget:   newBudget(),
		metrics:  newCacheMetrics(opts),
	}
}

// Prefix returns the key prefix the cache holds.
func (c *Cache) Prefix() string { return c.prefix }

// Start lists and watches in the background until ctx ends; then every watcher is closed.
// Use WaitReady to wait for the first list.
func (c *Cache) Start(ctx context.Context) {
	// A stream of its own (distinct gRPC metadata) per cache: a progress request then
	// waits only for this resource's watch to be in sync.
	c.progressMu.Lock()
	c.streamCtx = metadata.AppendToOutgoingContext(ctx, "kube5-watch-cache", c.prefix)
	c.progressMu.Unlock()
	go c.run(ctx)
}

// WaitReady waits until the cache has listed, however long that takes (a large resource
// lists for a while at start), or until ctx ends.
func (c *Cache) WaitReady(ctx context.Context) error {
	for {
		c.mu.RLock()
		ready, ch := c.ready, c.revCh
		c.mu.RUnlock()
		if ready {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Ready reports whether the cache serves requests (listed, not relisting).
func (c *Cache) Ready() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

// Revision returns the etcd revision the cache reflects.
func (c *Cache) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// shuttingDown ends the watches of a stopped cache.
func shuttingDown(int64) error {
	return storage.NewError(storage.ErrCodeTooManyRequests, "", 0, "the apiserver is shutting down")
}

// errRelist says the watch cannot resume where it stopped.
var errRelist = errors.New("watch cache must relist")

func (c *Cache) run(ctx context.Context) {
	defer func() {
		c.wmu.Lock()
		c.stopped = true
		c.wmu.Unlock()
		c.terminateAll(shuttingDown)
	}()
	needList, resume := true, false
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if needList {
			if err := c.relist(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				klog.ErrorS(err, "Watch cache list failed", "prefix", c.prefix)
				sleep(ctx, backoff)
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			needList, resume = false, false
		}
		err := c.watch(ctx, resume)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errRelist):
			klog.InfoS("Watch cache relisting", "prefix", c.prefix, "reason", err)
			needList = true
		default:
			// clientv3 already reconnects by itself; a watch that still ends (cancelled by
			// the server, interrupted) resumes from the last revision seen, without a relist.
			klog.V(2).InfoS("Watch cache resuming etcd watch", "prefix", c.prefix, "revision", c.rev, "reason", err)
			resume = true
			sleep(ctx, 10*time.Millisecond)
		}
		backoff = 100 * time.Millisecond
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// relist replaces the state with a fresh list at one etcd revision. Watchers that were
// following the old history cannot be continued consistently: they get Gone and relist.
func (c *Cache) relist(ctx context.Context) error {
	c.mu.Lock()
	wasReady := c.ready
	c.ready = false
	c.broadcastLocked()
	c.mu.Unlock()

	store := map[string]*Entry{}
	var rev int64
	key, end := c.prefix, clientv3.GetPrefixRangeEnd(c.prefix)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(1000)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := c.client.Get(ctx, key, opts...)
		if err != nil {
			return storage.InterpretEtcdError(err, c.prefix)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			e, err := c.decode(kv)
			if err != nil {
				klog.ErrorS(err, "Watch cache cannot decode object; skipping it", "key", string(kv.Key))
				continue
			}
			store[e.Key] = e
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}

	index := map[string]map[string]*Entry{}
	if f := c.opts.IndexField; f != "" {
		for k, e := range store {
			addIndex(index, e.Fields[f], k, e)
		}
	}
	c.mu.Lock()
	c.store, c.index, c.sorted = store, index, nil
	c.ring.reset(rev)
	c.rev = rev
	c.ready = true
	if wasReady {
		c.terminateAll(func(last int64) error {
			return storage.NewError(storage.ErrCodeGone, "", last, "too old resource version: %d (%d)", last, rev)
		})
	}
	c.broadcastLocked()
	c.mu.Unlock()
	c.metrics.revision.Set(float64(rev))
	klog.V(2).InfoS("Watch cache listed", "prefix", c.prefix, "objects", len(store), "revision", rev)
	return nil
}

func addIndex(index map[string]map[string]*Entry, v, key string, e *Entry) {
	m := index[v]
	if m == nil {
		m = map[string]*Entry{}
		index[v] = m
	}
	m[key] = e
}

func removeIndex(index map[string]map[string]*Entry, v, key string) {
	if m := index[v]; m != nil {
		delete(m, key)
		if len(m) == 0 {
			delete(index, v)
		}
	}
}

func (c *Cache) decode(kv *mvccpb.KeyValue) (*Entry, error) {
	obj := c.newObj()
	if err := storage.Decode(kv.Value, kv.ModRevision, obj); err != nil {
		return nil, err
	}
	return newEntry(string(kv.Key), obj, kv.ModRevision, c.attrs)
}

// broadcastLocked wakes everyone waiting for a revision; mu must be held for writing.
func (c *Cache) broadcastLocked() {
	close(c.revCh)
	c.revCh = make(chan struct{})
}

// watch follows etcd from c.rev+1 until the watch fails. errRelist means history was
// lost (compaction); any other error may be resumed from c.rev+1.
func (c *Cache) watch(ctx context.Context, resume bool) error {
	if c.beforeWatch != nil {
		c.beforeWatch(resume)
	}
	c.progressMu.Lock()
	sctx := c.streamCtx
	c.progressMu.Unlock()
	wctx, cancel := context.WithCancel(sctx)
	defer cancel()
	c.interruptMu.Lock()
	c.interrupt = cancel
	c.interruptMu.Unlock()

	wch := c.client.Watch(wctx, c.prefix, clientv3.WithPrefix(), clientv3.WithRev(c.rev+1), clientv3.WithProgressNotify())
	c.setWatching(true)
	defer c.setWatching(false)
	tick := time.NewTicker(c.opts.BookmarkInterval)
	defer tick.Stop()
	for {
		select {
		case resp, ok := <-wch:
			if !ok {
				return errors.New("etcd watch channel closed")
			}
			if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
				return fmt.Errorf("%w: revision %d compacted (compact revision %d)", errRelist, c.rev+1, resp.CompactRevision)
			}
			if err := resp.Err(); err != nil {
				return err
			}
			if resp.IsProgressNotify() {
				c.progress(resp.Header.Revision)
				continue
			}
			c.apply(resp.Events)
		case <-tick.C:
			c.dispatchBookmarks()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// progress records that etcd has sent every event of the prefix up to rev.
func (c *Cache) progress(rev int64) {
	c.mu.Lock()
	if rev > c.rev {
		c.rev = rev
		c.broadcastLocked()
	}
	c.mu.Unlock()
}

// apply turns etcd events into cache events, updates the state and history, then
// offers the events to the watchers. Entries are built before taking the lock so that
// decoding does not block readers; the run goroutine is the only writer, so reading
// c.store here without the lock is safe.
func (c *Cache) apply(evs []*clientv3.Event) {
	out := make([]*event, 0, len(evs))
	batch := map[string]*Entry{} // state as of the events already in this batch
	lookup := func(key string) (*Entry, bool) {
		if e, ok := batch[key]; ok {
			return e, e != nil
		}
		e, ok := c.store[key]
		return e, ok
	}
	for _, ev := range evs {
		key, rev := string(ev.Kv.Key), ev.Kv.ModRevision
		prev, existed := lookup(key)
		switch ev.Type {
		case clientv3.EventTypePut:
			e, err := c.decode(ev.Kv)
			if err != nil {
				klog.ErrorS(err, "Watch cache cannot decode object; skipping the event", "key", key, "revision", rev)
				continue
			}
			typ := Modified
			if !existed {
				typ, prev = Added, nil
			}
			batch[key] = e
			out = append(out, &event{typ: typ, cur: e, prev: prev, rev: rev})
		case clientv3.EventTypeDelete:
			if !existed {
				continue // never seen: nothing to tell anyone
			}
			e, err := prev.withRevision(rev)
			if err != nil {
				klog.ErrorS(err, "Watch cache cannot encode deleted object", "key", key)
				continue
			}
			batch[key] = nil
			out = append(out, &event{typ: Deleted, cur: e, prev: prev, rev: rev})
		}
	}
	var last int64
	if len(evs) > 0 {
		last = evs[len(evs)-1].Kv.ModRevision
	}

	c.mu.Lock()
	for _, ev := range out {
		key := ev.cur.Key
		f := c.opts.IndexField
		if ev.prev != nil && f != "" {
			removeIndex(c.index, ev.prev.Fields[f], key)
		}
		if ev.typ == Deleted {
			delete(c.store, key)
			c.sorted = nil
		} else {
			if ev.prev == nil {
				c.sorted = nil
			}
			c.store[key] = ev.cur
			if f != "" {
				addIndex(c.index, ev.cur.Fields[f], key, ev.cur)
			}
		}
		c.ring.add(ev)
	}
	if last > c.rev {
		c.rev = last
	}
	c.broadcastLocked()
	c.mu.Unlock()
	c.metrics.revision.Set(float64(last))
	c.dispatch(out)
}

// waitUntil waits until the cache is ready and holds revision rev, asking etcd for a
// progress notification so that writes to other prefixes (which this watch never sees)
// do not stall it. It gives up after FreshnessTimeout.
func (c *Cache) waitUntil(ctx context.Context, rev int64) error {
	t := time.NewTimer(c.opts.FreshnessTimeout)
	defer t.Stop()
	for {
		c.mu.RLock()
		cur, ready, ch := c.rev, c.ready, c.revCh
		c.mu.RUnlock()
		if ready && cur >= rev {
			return nil
		}
		var poll <-chan time.Time
		if ready {
			c.requestProgress()
			poll = time.After(100 * time.Millisecond)
		}
		select {
		case <-ch:
		case <-poll:
		case <-t.C:
			if !ready {
				return storage.NewError(storage.ErrCodeTooManyRequests, c.prefix, 0,
					"storage is (re)initializing")
			}
			return storage.NewError(storage.ErrCodeTimeout, c.prefix, rev,
				"Too large resource version: %d, current: %d", rev, cur)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitFresh waits until the cache holds etcd's current revision: a consistent read.
func (c *Cache) waitFresh(ctx context.Context) (int64, error) {
	rctx, cancel := context.WithTimeout(ctx, c.opts.FreshnessTimeout)
	defer cancel()
	rev, err := storage.CurrentRevision(rctx, c.client)
	if err != nil {
		return 0, err
	}
	return rev, c.waitUntil(ctx, rev)
}

// requestProgress asks etcd for a progress notification on the cache's stream, at most
// every 50ms however many readers wait, and only while the watch is established (asking
// on a stream that does not exist would create one). The request runs in the background
// with at most one in flight, so a reader never blocks on a busy stream.
func (c *Cache) requestProgress() {
	c.progressMu.Lock()
	if !c.watching || c.progressInFlight || time.Since(c.lastProgress) < 50*time.Millisecond {
		c.progressMu.Unlock()
		return
	}
	c.lastProgress = time.Now()
	c.progressInFlight = true
	sctx := c.streamCtx
	c.progressMu.Unlock()
	go func() {
		if err := c.client.RequestProgress(sctx); err != nil && sctx.Err() == nil {
			klog.V(4).InfoS("Watch cache progress request failed", "prefix", c.prefix, "err", err)
		}
		c.progressMu.Lock()
		c.progressInFlight = false
		c.progressMu.Unlock()
	}()
}

func (c *Cache) setWatching(on bool) {
	c.progressMu.Lock()
	c.watching = on
	c.progressMu.Unlock()
}

// waitFor applies a request's resourceVersion: "" waits for etcd's current revision (a
// consistent read), "0" for readiness only, N until the cache holds N.
func (c *Cache) waitFor(ctx context.Context, rv string) error {
	if rv == "" {
		_, err := c.waitFresh(ctx)
		return err
	}
	n, err := storage.ParseResourceVersion(rv)
	if err != nil {
		return err
	}
	return c.waitUntil(ctx, n)
}

// sortedKeysLocked returns the store's keys in order; mu must be held (read or write).
func (c *Cache) sortedKeysLocked() []string {
	c.sortMu.Lock()
	defer c.sortMu.Unlock()
	if c.sorted == nil {
		keys := make([]string, 0, len(c.store))
		for k := range c.store {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		c.sorted = keys
	}
	return c.sorted
}

// ring is the history: events in revision order, oldest first. Every event with a
// revision above base is in it.
type ring struct {
	capacity int
	maxBytes int64
	buf      []*event
	start, n int
	bytes    int64
	base     int64
}

func (r *ring) reset(rev int64) {
	r.buf, r.start, r.n, r.bytes, r.base = nil, 0, 0, 0, rev
}

func eventBytes(ev *event) int64 {
	n := int64(len(ev.cur.Bytes))
	if ev.prev != nil {
		n += int64(len(ev.prev.Bytes))
	}
	return n
}

func (r *ring) at(i int) *event { return r.buf[(r.start+i)%len(r.buf)] }

func (r *ring) add(ev *event) {
	for r.n > 0 && (r.n >= r.capacity || r.bytes+eventBytes(ev) > r.maxBytes) {
		old := r.buf[r.start]
		r.buf[r.start] = nil
		r.start = (r.start + 1) % len(r.buf)
		r.n--
		r.bytes -= eventBytes(old)
		r.base = old.rev
	}
	if r.n == len(r.buf) { // grow geometrically up to capacity
		size := min(max(2*len(r.buf), 64), r.capacity)
		nb := make([]*event, size)
		for i := 0; i < r.n; i++ {
			nb[i] = r.at(i)
		}
		r.buf, r.start = nb, 0
	}
	r.buf[(r.start+r.n)%len(r.buf)] = ev
	r.n++
	r.bytes += eventBytes(ev)
}

// since returns the events with a revision above rev; rev must be >= base.
func (r *ring) since(rev int64) []*event {
	i := sort.Search(r.n, func(i int) bool { return r.at(i).rev > rev })
	out := make([]*event, 0, r.n-i)
	for ; i < r.n; i++ {
		out = append(out, r.at(i))
	}
	return out
}
