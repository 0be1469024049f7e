package generic

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/storage"
	"kube5/apiserver/internal/watchcache"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/fields"
	"kube5/proto/labels"
	"kube5/proto/scheme"
)

// cacheItem adapts a watch cache entry to registry.Item (the entry's Object and Bytes are
// fields, the interface's are methods).
type cacheItem struct{ e *watchcache.Entry }

func (c cacheItem) Object() scheme.Object       { return c.e.Object }
func (c cacheItem) Proto() []byte               { return c.e.Bytes }
func (c cacheItem) Memo(f func() []byte) []byte { return c.e.Memo(f) }

// selectors parses the list options' selectors; a field the resource cannot select on
// is refused by name, as upstream ("field label not supported: spec.foo").
func (s *Store) selectors(opts *rpcv1.ListOptions) (labels.Selector, fields.Selector, error) {
	var ls labels.Selector
	var fs fields.Selector
	if v := opts.GetLabelSelector(); v != "" {
		sel, err := labels.Parse(v)
		if err != nil {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse labelSelector %q: %v", v, err))
		}
		ls = sel
	}
	if v := opts.GetFieldSelector(); v != "" {
		sel, err := fields.Parse(v)
		if err != nil {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse fieldSelector %q: %v", v, err))
		}
		supported := s.Strategy.Fields(s.Resource.New())
		for _, r := range sel.Requirements() {
			if !supported.Has(r.Field) {
				names := make([]string, 0, len(supported))
				for k := range supported {
					names = append(names, k)
				}
				sort.Strings(names)
				return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s (%s can be selected by %s)", r.Field, s.Resource.Resource, strings.Join(names, ", ")))
			}
		}
		fs = sel
	}
	return ls, fs, nil
}

// List serves a list from the watch cache.
func (s *Store) List(ctx context.Context, namespace string, opts *rpcv1.ListOptions) (*registry.ListResult, error) {
	ls, fs, err := s.selectors(opts)
	if err != nil {
		return nil, err
	}
	entries, rev, next, err := s.Cache.List(ctx, opts.GetResourceVersion(), watchcache.ListOptions{
		Prefix: s.Prefix(namespace), Label: ls, Field: fs, Limit: opts.GetLimit(), Continue: opts.GetContinue(),
	})
	if err != nil {
		return nil, s.storageError(err, "")
	}
	wrapped := make([]cacheItem, len(entries))
	items := make([]registry.Item, len(entries))
	for i, e := range entries {
		wrapped[i] = cacheItem{e}
		items[i] = wrapped[i]
	}
	return &registry.ListResult{Items: items, ResourceVersion: strconv.FormatInt(rev, 10), Continue: next}, nil
}

// Cached reads one object from the watch cache as it is now, falling back to etcd when
// the cache has not seen it (yet): a namespace created a moment ago must be usable at
// once. It waits for the cache to hold this apiserver's own latest write to the store,
// so a namespace deleted here a moment ago is seen as terminating. The object is
// shared: read only.
func (s *Store) Cached(ctx context.Context, namespace, name string) (scheme.Object, error) {
	e, err := s.Cache.Get(ctx, s.Key(namespace, name), strconv.FormatInt(s.lastWrite.Load(), 10))
	if err == nil {
		return e.Object, nil
	}
	if !storage.IsNotFound(err) {
		return nil, s.storageError(err, name)
	}
	return s.Get(ctx, namespace, name)
}

// Watch starts a watch on the watch cache.
func (s *Store) Watch(ctx context.Context, namespace string, opts *rpcv1.ListOptions) (registry.Watch, error) {
	ls, fs, err := s.selectors(opts)
	if err != nil {
		return nil, err
	}
	w, err := s.Cache.Watch(ctx, opts.GetResourceVersion(), watchcache.WatchOptions{
		Prefix: s.Prefix(namespace), Label: ls, Field: fs, Bookmarks: opts.GetAllowWatchBookmarks(),
	})
	if err != nil {
		return nil, s.storageError(err, "")
	}
	return &watch{w: w, store: s}, nil
}

// watch translates cache events into registry events as they are read.
type watch struct {
	w     *watchcache.Watcher
	store *Store
}

func (w *watch) Pending() int { return len(w.w.ResultChan()) }
func (w *watch) Stop()        { w.w.Stop() }

func (w *watch) Next(ctx context.Context) (registry.Event, bool) {
	var ev watchcache.Event
	var ok bool
	select {
	case ev, ok = <-w.w.ResultChan():
		if !ok {
			return registry.Event{}, false
		}
	case <-ctx.Done():
		return registry.Event{}, false
	}
	out := registry.Event{Type: string(ev.Type)}
	switch ev.Type {
	case watchcache.Error:
		out.Status = apierrors.StatusFor(w.store.storageError(ev.Err, ""))
	case watchcache.Bookmark:
		out.ResourceVersion = strconv.FormatInt(ev.Entry.Revision, 10)
	default:
		out.Item = cacheItem{ev.Entry}
	}
	return out, true
}
