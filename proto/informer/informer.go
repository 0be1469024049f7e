// Package informer keeps a local, indexed, always-current copy of one resource and tells
// handlers about every change, with upstream's shared-informer semantics (client-go's
// Reflector + DeltaFIFO + sharedIndexInformer, generic over the Go type):
//
//   - List, then Watch from the list's resourceVersion with bookmarks, so no change
//     between the two is missed.
//   - When the stream breaks (apiserver restart, network), watch again from the last
//     revision seen, with capped, jittered backoff: changes made meanwhile arrive as
//     ordinary events. When that revision is gone (410 Gone/Expired) or the server sends
//     an ERROR event, list again and deliver the difference: adds, updates (only for
//     objects whose resourceVersion changed) and deletes (see Handler.OnDelete).
//   - Each handler gets its notifications through its own buffer and goroutine.
//   - Optional periodic resync re-delivers OnUpdate(obj, obj) for every object.
package informer

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"

	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

// ListerWatcher is what an informer reads from; *client.Resource[T] satisfies it.
type ListerWatcher[T scheme.Object] interface {
	List(ctx context.Context, opts client.ListOptions) (*client.List[T], error)
	Watch(ctx context.Context, opts client.ListOptions) (client.Watch[T], error)
}

var _ ListerWatcher[scheme.Object] = (*client.Resource[scheme.Object])(nil)

// Options select the objects an informer keeps.
type Options struct {
	LabelSelector string
	FieldSelector string
	// ResyncPeriod > 0 re-delivers every object as OnUpdate(obj, obj) this often, so
	// controllers periodically re-check the world against the cache.
	ResyncPeriod time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying a failed list or watch
	// (defaults 200ms and 30s); the wait doubles per consecutive failure, with jitter.
	MinBackoff, MaxBackoff time.Duration
}

// Informer is a shared informer for objects of type T. Create it with New or through a
// Factory, add handlers and indexers, then Run it.
type Informer[T scheme.Object] struct {
	lw    ListerWatcher[T]
	opts  Options
	name  string // "pods", for logs
	store *Store[T]

	// mu orders store updates with listener registration, so every handler sees the
	// store's history from the point it joined, in order.
	mu        sync.Mutex
	listeners []*listener[T]
	runCtx    context.Context // set by Run; nil before
	rv        string          // last resourceVersion seen (list, event or bookmark)

	synced   atomic.Bool
	syncedCh chan struct{}
	started  atomic.Bool
}

// New returns an informer over lw. It does nothing until Run.
func New[T scheme.Object](lw ListerWatcher[T], opts Options) *Informer[T] {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	var zero T
	name := "objects"
	if res, ok := scheme.For(zero); ok {
		name = res.GroupResource()
	}
	return &Informer[T]{lw: lw, opts: opts, name: name, store: NewStore[T](), syncedCh: make(chan struct{})}
}

// Lister reads the informer's cache.
func (i *Informer[T]) Lister() Lister[T] { return i.store }

// Store is the informer's cache itself (Keys, GetByKey, IndexKeys beyond the Lister).
func (i *Informer[T]) Store() *Store[T] { return i.store }

// AddIndexers adds indexers to the cache; allowed before and after Run.
func (i *Informer[T]) AddIndexers(indexers map[string]IndexFunc[T]) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.store.AddIndexers(indexers)
}

// HasSynced reports whether the first list has been stored.
func (i *Informer[T]) HasSynced() bool { return i.synced.Load() }

// LastSyncResourceVersion is the last revision the informer has seen.
func (i *Informer[T]) LastSyncResourceVersion() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.rv
}

// WaitForCacheSync waits for the first list, or ctx; it reports whether the cache synced.
func (i *Informer[T]) WaitForCacheSync(ctx context.Context) bool {
	select {
	case <-i.syncedCh:
		return true
	case <-ctx.Done():
		return false
	}
}

// AddEventHandler registers h. A handler added after the informer has synced first gets
// an OnAdd for every cached object (in key order), then the changes that follow.
func (i *Informer[T]) AddEventHandler(h Handler[T]) Registration {
	l := newListener(h)
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.synced.Load() {
		for _, obj := range i.store.List(nil) {
			l.add(notification[T]{kind: notifyAdd, obj: obj})
		}
		l.markSyncTarget()
	}
	i.listeners = append(i.listeners, l)
	if i.runCtx != nil {
		go l.run(i.runCtx)
	}
	return registration[T]{l}
}

type registration[T scheme.Object] struct{ l *listener[T] }

func (r registration[T]) HasSynced() bool { return r.l.hasSynced() }

// notify queues n for every handler. Caller holds i.mu.
func (i *Informer[T]) notify(n notification[T]) {
	for _, l := range i.listeners {
		l.add(n)
	}
}

// Run lists, watches and keeps the cache current until ctx ends. Call it once.
func (i *Informer[T]) Run(ctx context.Context) {
	if i.started.Swap(true) {
		klog.ErrorS(nil, "Informer already running", "resource", i.name)
		return
	}
	i.mu.Lock()
	i.runCtx = ctx
	for _, l := range i.listeners {
		go l.run(ctx)
	}
	i.mu.Unlock()
	if i.opts.ResyncPeriod > 0 {
		go i.resyncLoop(ctx)
	}

	failures := 0
	relist := true
	for ctx.Err() == nil {
		if relist {
			if err := i.list(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				i.listFailed(err)
				i.sleep(ctx, failures)
				continue
			}
			relist = false
		}
		progress, mustRelist, err := i.watch(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case mustRelist:
			// A compacted revision is routine (upstream relists at once); any other
			// ERROR event is a server problem worth a pause.
			relist = true
			if err != nil {
				failures++
				klog.V(2).InfoS("Informer watch failed; relisting", "resource", i.name, "err", err)
				i.sleep(ctx, failures)
			}
		case progress:
			failures = 0
		default:
			failures++
			if err != nil {
				klog.V(2).InfoS("Informer watch broke; resuming", "resource", i.name,
					"resourceVersion", i.LastSyncResourceVersion(), "err", err)
			}
			i.sleep(ctx, failures)
		}
	}
}

// listFailed logs a failed list. An apiserver that cannot be reached is reported by the
// client itself, once for all the informers sharing it and at a bounded rate (see
// client.Config.ServerFlag), so that is only a detail here; anything else (a refused or
// failed request) the cache cannot sync without, and the user needs to see it, as with
// upstream's reflector.
func (i *Informer[T]) listFailed(err error) {
	if client.IsUnreachable(err) {
		klog.V(2).InfoS("Informer list failed; retrying", "resource", i.name, "err", err)
		return
	}
	klog.ErrorS(err, "Listing failed; the cache waits for it and retries", "resource", i.name)
}

// sleep waits the backoff for the n-th consecutive failure: MinBackoff doubled per
// failure, capped at MaxBackoff, then jittered down by up to half so that many clients
// of a restarted apiserver do not come back in lockstep.
func (i *Informer[T]) sleep(ctx context.Context, n int) {
	d := i.opts.MinBackoff
	for k := 1; k < n && d < i.opts.MaxBackoff; k++ {
		d *= 2
	}
	d = min(d, i.opts.MaxBackoff)
	d -= time.Duration(rand.Int64N(int64(d)/2 + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// list replaces the cache with a fresh list and notifies the difference.
func (i *Informer[T]) list(ctx context.Context) error {
	l, err := i.lw.List(ctx, client.ListOptions{LabelSelector: i.opts.LabelSelector, FieldSelector: i.opts.FieldSelector})
	if err != nil {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	seen := make(map[string]struct{}, len(l.Items))
	for _, obj := range l.Items {
		seen[Key(obj)] = struct{}{}
		old, existed := i.store.GetByKey(Key(obj))
		switch {
		case !existed:
			i.store.Add(obj)
			i.notify(notification[T]{kind: notifyAdd, obj: obj})
		case old.GetMetadata().GetResourceVersion() != obj.GetMetadata().GetResourceVersion():
			i.store.Add(obj)
			i.notify(notification[T]{kind: notifyUpdate, old: old, obj: obj})
		}
	}
	for _, key := range i.store.Keys() {
		if _, ok := seen[key]; ok {
			continue
		}
		if old, existed := i.store.removeKey(key); existed {
			i.notify(notification[T]{kind: notifyDelete, obj: old})
		}
	}
	i.rv = l.ResourceVersion
	if !i.synced.Load() {
		for _, ln := range i.listeners {
			ln.markSyncTarget()
		}
		i.synced.Store(true)
		close(i.syncedCh)
	}
	klog.V(4).InfoS("Informer listed", "resource", i.name, "items", len(l.Items), "resourceVersion", l.ResourceVersion)
	return nil
}

// watch streams events from the last revision into the cache until the stream ends. It
// reports whether any event arrived (the connection worked), and whether the informer
// must relist (Gone/Expired or another ERROR event; err is nil for the routine Gone).
func (i *Informer[T]) watch(ctx context.Context) (progress, relist bool, err error) {
	// A random server-side timeout, as upstream's reflector, spreads the re-watches of
	// many clients over time.
	timeout := int64(300 + rand.IntN(300))
	w, err := i.lw.Watch(ctx, client.ListOptions{
		LabelSelector:       i.opts.LabelSelector,
		FieldSelector:       i.opts.FieldSelector,
		ResourceVersion:     i.LastSyncResourceVersion(),
		AllowWatchBookmarks: true,
		TimeoutSeconds:      timeout,
	})
	if err != nil {
		return false, apierrors.IsGoneOrExpired(err), err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		progress = true
		switch ev.Type {
		case client.Error:
			se := apierrors.FromStatus(ev.Status)
			if apierrors.IsGoneOrExpired(se) {
				klog.V(2).InfoS("Informer watch expired; relisting", "resource", i.name, "msg", se.Error())
				return true, true, nil
			}
			return true, true, se
		case client.Bookmark:
			i.mu.Lock()
			i.rv = ev.Object.GetMetadata().GetResourceVersion()
			i.mu.Unlock()
		case client.Added, client.Modified:
			i.mu.Lock()
			old, existed := i.store.replace(ev.Object)
			if existed {
				i.notify(notification[T]{kind: notifyUpdate, old: old, obj: ev.Object})
			} else {
				i.notify(notification[T]{kind: notifyAdd, obj: ev.Object})
			}
			i.rv = ev.Object.GetMetadata().GetResourceVersion()
			i.mu.Unlock()
		case client.Deleted:
			i.mu.Lock()
			if _, existed := i.store.removeKey(Key(ev.Object)); existed {
				i.notify(notification[T]{kind: notifyDelete, obj: ev.Object})
			}
			i.rv = ev.Object.GetMetadata().GetResourceVersion()
			i.mu.Unlock()
		}
	}
	return progress, false, w.Err()
}

func (i *Informer[T]) resyncLoop(ctx context.Context) {
	t := time.NewTicker(i.opts.ResyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !i.synced.Load() {
			continue
		}
		i.mu.Lock()
		for _, obj := range i.store.List(nil) {
			i.notify(notification[T]{kind: notifyUpdate, old: obj, obj: obj})
		}
		i.mu.Unlock()
	}
}
