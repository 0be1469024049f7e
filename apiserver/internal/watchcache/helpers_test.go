package watchcache

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"kube5/apiserver/internal/etcdserver/etcdtest"
	"kube5/apiserver/internal/storage"
	coordinationv1 "kube5/proto/api/coordination/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/fields"
	"kube5/proto/labels"
	"kube5/proto/scheme"
)

const prefix = "/registry/leases/"

// leaseAttrs makes spec.holderIdentity selectable, standing in for spec.nodeName.
func leaseAttrs(obj scheme.Object) (labels.Set, fields.Set) {
	l := obj.(*coordinationv1.Lease)
	return l.GetMetadata().GetLabels(), fields.Set{
		"metadata.name":       l.GetMetadata().GetName(),
		"metadata.namespace":  l.GetMetadata().GetNamespace(),
		"spec.holderIdentity": l.GetSpec().GetHolderIdentity(),
	}
}

type env struct {
	t      *testing.T
	ctx    context.Context
	client *clientv3.Client
	store  *storage.Store
	cache  *Cache
}

// newEnv starts etcd and, unless start is false, a cache of leases on it.
func newEnv(t *testing.T, opts Options, configure ...func(*Cache)) *env {
	t.Helper()
	client, _ := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if opts.BookmarkInterval == 0 {
		opts.BookmarkInterval = 100 * time.Millisecond
	}
	c := New(client, prefix, func() scheme.Object { return &coordinationv1.Lease{} }, leaseAttrs, opts)
	for _, f := range configure {
		f(c)
	}
	c.Start(ctx)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, client: client, store: storage.New(client), cache: c}
}

func key(name string) string { return storage.Key("leases", "default", name) }

func newLease(name, holder string, lbls map[string]string) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name, Labels: lbls},
		Spec:     &coordinationv1.LeaseSpec{HolderIdentity: proto.String(holder)},
	}
}

func rvInt(o scheme.Object) int64 {
	n, _ := strconv.ParseInt(o.GetMetadata().GetResourceVersion(), 10, 64)
	return n
}

func (e *env) create(name, holder string, lbls map[string]string) int64 {
	e.t.Helper()
	l := newLease(name, holder, lbls)
	if err := e.store.Create(e.ctx, key(name), l); err != nil {
		e.t.Fatal(err)
	}
	return rvInt(l)
}

func (e *env) update(name string, f func(l *coordinationv1.Lease)) int64 {
	e.t.Helper()
	var out coordinationv1.Lease
	err := e.store.GuaranteedUpdate(e.ctx, key(name), &out, nil, func(cur scheme.Object) (scheme.Object, error) {
		f(cur.(*coordinationv1.Lease))
		return cur, nil
	}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return rvInt(&out)
}

func (e *env) delete(name string) int64 {
	e.t.Helper()
	var out coordinationv1.Lease
	if err := e.store.Delete(e.ctx, key(name), &out, nil, nil); err != nil {
		e.t.Fatal(err)
	}
	return rvInt(&out)
}

func (e *env) rev() int64 {
	e.t.Helper()
	r, err := e.store.CurrentRevision(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) watch(rv string, opts WatchOptions) *Watcher {
	e.t.Helper()
	w, err := e.cache.Watch(e.ctx, rv, opts)
	if err != nil {
		e.t.Fatalf("watch from %q: %v", rv, err)
	}
	e.t.Cleanup(w.Stop)
	return w
}

// rec is an event reduced to what tests compare.
type rec struct {
	Type EventType
	Name string
	RV   int64
}

func (r rec) String() string { return fmt.Sprintf("%s %s@%d", r.Type, r.Name, r.RV) }

func toRec(ev Event) rec {
	if ev.Entry == nil {
		return rec{Type: ev.Type}
	}
	return rec{Type: ev.Type, Name: ev.Entry.Object.GetMetadata().GetName(), RV: ev.Entry.Revision}
}

// next returns the watcher's next event, skipping bookmarks unless wanted, failing the
// test after a deadline.
func next(t *testing.T, w *Watcher, bookmarks bool) Event {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("result channel closed")
			}
			if ev.Type == Bookmark && !bookmarks {
				continue
			}
			return ev
		case <-deadline.C:
			t.Fatal("timed out waiting for an event")
		}
	}
}

// collect reads n non-bookmark events.
func collect(t *testing.T, w *Watcher, n int) []rec {
	t.Helper()
	out := make([]rec, 0, n)
	for len(out) < n {
		out = append(out, toRec(next(t, w, false)))
	}
	return out
}

// drain reads the watcher in the background; the returned function waits for the first
// n non-bookmark events (or fails after a deadline or on an early close).
func drain(w *Watcher) func(n int) ([]rec, error) {
	var mu sync.Mutex
	var got []rec
	var closed bool
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == Bookmark {
				continue
			}
			mu.Lock()
			got = append(got, toRec(ev))
			mu.Unlock()
		}
		mu.Lock()
		closed = true
		mu.Unlock()
	}()
	return func(n int) ([]rec, error) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			g, c := append([]rec(nil), got...), closed
			mu.Unlock()
			if len(g) >= n {
				return g[:n], nil
			}
			if c {
				return g, fmt.Errorf("watch closed after %d of %d events: %v", len(g), n, g)
			}
			if time.Now().After(deadline) {
				return g, fmt.Errorf("timed out after %d of %d events", len(g), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func expect(t *testing.T, got []rec, want ...rec) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}

// quiet checks that the watcher has nothing (but bookmarks) pending, by waiting for a
// bookmark: bookmarks travel behind every event, so none can be in flight once one
// arrives after the given revision.
func quiet(t *testing.T, w *Watcher, after int64) {
	t.Helper()
	for {
		ev := next(t, w, true)
		if ev.Type != Bookmark {
			t.Fatalf("unexpected event %v", toRec(ev))
		}
		if ev.Entry.Revision >= after {
			return
		}
	}
}

func (c *Cache) interruptWatch() {
	c.interruptMu.Lock()
	defer c.interruptMu.Unlock()
	if c.interrupt != nil {
		c.interrupt()
	}
}
