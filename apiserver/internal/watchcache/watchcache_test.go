package watchcache

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"kube5/apiserver/internal/storage"
	coordinationv1 "kube5/proto/api/coordination/v1"
	"kube5/proto/fields"
	"kube5/proto/labels"
	"kube5/proto/scheme"
)

// TestWatchConcurrentWriters: a watch from a revision under 8 concurrent writers sees
// exactly what they wrote, each event once, in revision order; so does a watch started
// mid-way from a revision in the history.
func TestWatchConcurrentWriters(t *testing.T) {
	e := newEnv(t, Options{})
	start := e.rev()
	w1 := e.watch(strconv.FormatInt(start, 10), WatchOptions{})
	// Readers drain concurrently, as a client would: a watcher that falls behind by more
	// than its buffer is (rightly) dropped.
	got1c := drain(w1)
	e.create("shared", "", nil)

	const writers, rounds = 8, 10
	var mu sync.Mutex
	var written []rec
	log := func(r rec) {
		mu.Lock()
		written = append(written, r)
		mu.Unlock()
	}
	var mid int64
	var midOnce sync.Once
	var wg sync.WaitGroup
	for wr := 0; wr < writers; wr++ {
		wg.Add(1)
		go func(wr int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				name := fmt.Sprintf("w%d-%d", wr, i)
				log(rec{Added, name, e.create(name, "a", nil)})
				log(rec{Modified, name, e.update(name, func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("b") })})
				rv := e.update("shared", func(l *coordinationv1.Lease) {
					l.Spec.LeaseTransitions = proto.Int32(l.Spec.GetLeaseTransitions() + 1)
				})
				log(rec{Modified, "shared", rv})
				if i%2 == 0 {
					log(rec{Deleted, name, e.delete(name)})
				}
				if wr == 0 && i == rounds/2 {
					midOnce.Do(func() {
						mu.Lock()
						mid = rv
						mu.Unlock()
					})
				}
			}
		}(wr)
	}
	// A second watcher joins from a revision in the middle of the storm.
	var w2 *Watcher
	var got2c func(n int) ([]rec, error)
	for {
		mu.Lock()
		m := mid
		mu.Unlock()
		if m != 0 {
			w2 = e.watch(strconv.FormatInt(m, 10), WatchOptions{})
			got2c = drain(w2)
			break
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()

	sort.Slice(written, func(i, j int) bool { return written[i].RV < written[j].RV })
	var firstShared rec
	got1, err := got1c(len(written) + 1)
	if err != nil {
		t.Fatal(err)
	}
	firstShared, got1 = got1[0], got1[1:]
	if firstShared.Type != Added || firstShared.Name != "shared" {
		t.Fatalf("first event %v", firstShared)
	}
	expect(t, got1, written...)
	var tail []rec
	for _, r := range written {
		if r.RV > mid {
			tail = append(tail, r)
		}
	}
	got2, err := got2c(len(tail))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, got2, tail...)
	for i := 1; i < len(got1); i++ {
		if got1[i].RV <= got1[i-1].RV {
			t.Fatalf("not strictly ordered at %d: %v then %v", i, got1[i-1], got1[i])
		}
	}
}

// TestWatchFromZero: "0" and "" start with a synthetic ADDED per current object, in key
// order, then live events.
func TestWatchFromZero(t *testing.T) {
	e := newEnv(t, Options{})
	ra := e.create("a", "", nil)
	e.create("b", "", nil)
	rc := e.create("c", "", nil)
	e.delete("b")
	// "" first: it waits until the cache caught up with the delete; "0" serves the cache
	// as it is, which is then known to be current.
	for _, rv := range []string{"", "0"} {
		w := e.watch(rv, WatchOptions{})
		expect(t, collect(t, w, 2), rec{Added, "a", ra}, rec{Added, "c", rc})
		w.Stop()
	}
	w := e.watch("0", WatchOptions{})
	expect(t, collect(t, w, 2), rec{Added, "a", ra}, rec{Added, "c", rc})
	rv := e.update("a", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("x") })
	expect(t, collect(t, w, 1), rec{Modified, "a", rv})

	// The entry carries the object's encoding with its resourceVersion.
	ev := next(t, e.watch(strconv.FormatInt(rv-1, 10), WatchOptions{}), false)
	var decoded coordinationv1.Lease
	if err := proto.Unmarshal(ev.Entry.Bytes, &decoded); err != nil || rvInt(&decoded) != rv || decoded.Spec.GetHolderIdentity() != "x" {
		t.Fatalf("entry bytes decode to %v (%v)", &decoded, err)
	}
	if calls := 0; string(ev.Entry.Memo(func() []byte { calls++; return []byte("j") }))+
		string(ev.Entry.Memo(func() []byte { calls++; return []byte("k") })) != "jj" || calls != 1 {
		t.Fatal("Memo must compute once")
	}

	// Stop closes the result channel.
	w.Stop()
	for range w.ResultChan() {
	}
}

// TestGoneOlderThanRing: a revision the history no longer holds is Gone; one it holds
// is served.
func TestGoneOlderThanRing(t *testing.T) {
	e := newEnv(t, Options{RingCapacity: 5})
	first := e.create("a", "", nil)
	var rvs []int64
	for i := 0; i < 20; i++ {
		rvs = append(rvs, e.update("a", func(l *coordinationv1.Lease) { l.Spec.LeaseTransitions = proto.Int32(int32(i + 1)) }))
	}
	waitRev(t, e.cache, rvs[19])
	_, err := e.cache.Watch(e.ctx, strconv.FormatInt(first, 10), WatchOptions{})
	if !storage.IsGone(err) || !strings.Contains(err.Error(), fmt.Sprintf("too old resource version: %d (%d)", first, rvs[14])) {
		t.Fatalf("watch from %d: %v", first, err)
	}
	w := e.watch(strconv.FormatInt(rvs[14], 10), WatchOptions{})
	expect(t, collect(t, w, 5), rec{Modified, "a", rvs[15]}, rec{Modified, "a", rvs[16]}, rec{Modified, "a", rvs[17]},
		rec{Modified, "a", rvs[18]}, rec{Modified, "a", rvs[19]})
}

func waitRev(t *testing.T, c *Cache, rev int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Revision() < rev {
		if time.Now().After(deadline) {
			t.Fatalf("cache stuck at %d, want %d", c.Revision(), rev)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRelistAfterCompaction: when the etcd watch cannot resume because etcd compacted
// the history it missed, the cache relists; its watchers get Gone, old revisions are
// Gone, and the cache serves the new state and new watches.
func TestRelistAfterCompaction(t *testing.T) {
	hold := make(chan struct{})
	entered := make(chan struct{}, 1)
	e := newEnv(t, Options{}, func(c *Cache) {
		c.beforeWatch = func(resume bool) {
			if resume {
				entered <- struct{}{}
				<-hold
			}
		}
	})
	e.create("a", "", nil)
	before := e.create("b", "", nil)
	waitRev(t, e.cache, before)
	w := e.watch(strconv.FormatInt(before, 10), WatchOptions{})

	e.cache.interruptWatch()
	<-entered
	rx := e.create("x", "", nil)
	e.delete("a")
	if err := e.store.Compact(e.ctx, e.rev()); err != nil {
		t.Fatal(err)
	}
	close(hold)

	// The watcher is told to relist.
	ev := next(t, w, false)
	if ev.Type != Error || !storage.IsGone(ev.Err) {
		t.Fatalf("got %v %v, want ERROR Gone", ev.Type, ev.Err)
	}
	if _, ok := <-w.ResultChan(); ok {
		t.Fatal("result channel should close after the error")
	}
	if _, err := e.cache.Watch(e.ctx, strconv.FormatInt(before, 10), WatchOptions{}); !storage.IsGone(err) {
		t.Fatalf("watch from before the relist: %v", err)
	}
	entries, listRV, _, err := e.cache.List(e.ctx, "", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if names(entries) != "b,x" || listRV < rx {
		t.Fatalf("after relist: %s at %d", names(entries), listRV)
	}
	w2 := e.watch(strconv.FormatInt(listRV, 10), WatchOptions{})
	rv := e.update("x", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("h") })
	expect(t, collect(t, w2, 1), rec{Modified, "x", rv})
}

func names(es []*Entry) string {
	var n []string
	for _, e := range es {
		n = append(n, e.Object.GetMetadata().GetName())
	}
	return strings.Join(n, ",")
}

// TestSelectors: objects entering a watcher's selection are ADDED, leaving it DELETED
// (old content, new resourceVersion), as upstream; the field index gives the same
// answers as a scan.
func TestSelectors(t *testing.T) {
	for _, index := range []string{"", "spec.holderIdentity"} {
		t.Run("index="+index, func(t *testing.T) {
			e := newEnv(t, Options{IndexField: index})
			web, _ := labels.Parse("app=web")
			wl := e.watch("0", WatchOptions{Label: web, Bookmarks: true})
			wf := e.watch("0", WatchOptions{Field: fields.OneTermEqualSelector("spec.holderIdentity", "n1"), Bookmarks: true})

			r1 := e.create("a", "n1", map[string]string{"app": "web"})
			e.create("b", "n2", map[string]string{"app": "db"})
			r3 := e.update("a", func(l *coordinationv1.Lease) { l.Metadata.Labels["app"] = "db" })
			r4 := e.update("a", func(l *coordinationv1.Lease) { l.Metadata.Labels["app"] = "web" })
			r5 := e.update("b", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("n1") })
			r6 := e.update("a", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("n2") })
			r7 := e.delete("b")
			r8 := e.delete("a")

			got := collect(t, wl, 4)
			expect(t, got, rec{Added, "a", r1}, rec{Deleted, "a", r3}, rec{Added, "a", r4}, rec{Modified, "a", r6})
			ev := next(t, wl, false)
			expect(t, []rec{toRec(ev)}, rec{Deleted, "a", r8})
			quiet(t, wl, r8)

			expect(t, collect(t, wf, 5), rec{Added, "a", r1}, rec{Modified, "a", r3}, rec{Modified, "a", r4},
				rec{Added, "b", r5}, rec{Deleted, "a", r6})
			leave := next(t, wf, false)
			expect(t, []rec{toRec(leave)}, rec{Deleted, "b", r7})
			quiet(t, wf, r8)
		})
	}
}

// TestSelectorLeaveCarriesOldContent checks the DELETED sent to a watcher an object
// left: the last matching content, stamped with the revision of the change.
func TestSelectorLeaveCarriesOldContent(t *testing.T) {
	e := newEnv(t, Options{IndexField: "spec.holderIdentity"})
	w := e.watch("0", WatchOptions{Field: fields.OneTermEqualSelector("spec.holderIdentity", "n1")})
	e.create("a", "n1", nil)
	rv := e.update("a", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("n2") })
	next(t, w, false)
	ev := next(t, w, false)
	l := ev.Entry.Object.(*coordinationv1.Lease)
	if ev.Type != Deleted || l.Spec.GetHolderIdentity() != "n1" || rvInt(l) != rv || ev.Entry.Revision != rv {
		t.Fatalf("leave event %v %v", ev.Type, l)
	}
}

// TestBookmarks: watchers that ask get periodic bookmarks with the cache's revision,
// even when writes elsewhere in the resource do not concern them; others get none.
func TestBookmarks(t *testing.T) {
	e := newEnv(t, Options{})
	sel, _ := labels.Parse("app=none")
	wb := e.watch("0", WatchOptions{Bookmarks: true, Label: sel})
	wn := e.watch("0", WatchOptions{})
	rv := e.create("a", "", nil)
	for {
		ev := next(t, wb, true)
		if ev.Type != Bookmark {
			t.Fatalf("unexpected %v", toRec(ev))
		}
		var decoded coordinationv1.Lease
		if err := proto.Unmarshal(ev.Entry.Bytes, &decoded); err != nil || rvInt(&decoded) != ev.Entry.Revision {
			t.Fatalf("bookmark bytes: %v %v", &decoded, err)
		}
		if ev.Entry.Revision >= rv {
			break
		}
	}
	if ev := next(t, wn, true); ev.Type != Added {
		t.Fatalf("watcher without bookmarks got %v", ev.Type)
	}
}

// TestConsistentList: a list with resourceVersion "" sees every write acknowledged
// before it, even when the newest etcd revision belongs to another resource.
func TestConsistentList(t *testing.T) {
	e := newEnv(t, Options{})
	for i := 0; i < 20; i++ {
		rv := e.create(fmt.Sprintf("o%02d", i), "", nil)
		entries, listRV, _, err := e.cache.List(e.ctx, "", ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != i+1 || listRV < rv {
			t.Fatalf("list after write %d: %d entries at %d, write at %d", i, len(entries), listRV, rv)
		}
		got, err := e.cache.Get(e.ctx, key(fmt.Sprintf("o%02d", i)), "")
		if err != nil || got.Revision != rv {
			t.Fatalf("get after write: %v", err)
		}
	}
	// A write to another resource moves etcd's revision past anything this cache saw.
	resp, err := e.client.Put(e.ctx, "/registry/other/x", "v")
	if err != nil {
		t.Fatal(err)
	}
	_, listRV, _, err := e.cache.List(e.ctx, "", ListOptions{})
	if err != nil || listRV < resp.Header.Revision {
		t.Fatalf("list after foreign write: rv %d < %d (%v)", listRV, resp.Header.Revision, err)
	}
	if _, err := e.cache.Get(e.ctx, key("missing"), "0"); !storage.IsNotFound(err) {
		t.Fatalf("get missing: %v", err)
	}
	// "N" waits for N; a revision nobody has written times out.
	if _, _, _, err := e.cache.List(e.ctx, strconv.FormatInt(listRV, 10), ListOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestTooLargeResourceVersion(t *testing.T) {
	e := newEnv(t, Options{FreshnessTimeout: 200 * time.Millisecond})
	far := strconv.FormatInt(e.rev()+1000, 10)
	if _, _, _, err := e.cache.List(e.ctx, far, ListOptions{}); !storage.IsTimeout(err) || !strings.Contains(err.Error(), "Too large resource version") {
		t.Fatalf("list: %v", err)
	}
	if _, err := e.cache.Watch(e.ctx, far, WatchOptions{}); !storage.IsTimeout(err) {
		t.Fatalf("watch: %v", err)
	}
	if _, err := e.cache.Watch(e.ctx, "x", WatchOptions{}); !storage.IsBadRequest(err) {
		t.Fatalf("bad rv: %v", err)
	}
}

// TestPagination: limit/continue pages through one snapshot, even when objects change
// between pages; a continuation after compaction is Gone.
func TestPagination(t *testing.T) {
	e := newEnv(t, Options{})
	for i := 0; i < 25; i++ {
		l := map[string]string{}
		if i%2 == 0 {
			l["even"] = "true"
		}
		e.create(fmt.Sprintf("o%02d", i), "", l)
	}
	p1, rv1, tok, err := e.cache.List(e.ctx, "", ListOptions{Limit: 10})
	if err != nil || len(p1) != 10 || tok == "" || names(p1[:2]) != "o00,o01" {
		t.Fatalf("page 1: %s %q %v", names(p1), tok, err)
	}
	// Changes after the first page do not show in later pages.
	e.delete("o15")
	e.create("o12a", "", nil)
	p2, rv2, tok, err := e.cache.List(e.ctx, "", ListOptions{Limit: 10, Continue: tok})
	if err != nil || rv2 != rv1 || names(p2) != "o10,o11,o12,o13,o14,o15,o16,o17,o18,o19" || tok == "" {
		t.Fatalf("page 2: %s at %d (want %d) %q %v", names(p2), rv2, rv1, tok, err)
	}
	p3, _, tok, err := e.cache.List(e.ctx, "", ListOptions{Limit: 10, Continue: tok})
	if err != nil || names(p3) != "o20,o21,o22,o23,o24" || tok != "" {
		t.Fatalf("page 3: %s %q %v", names(p3), tok, err)
	}
	for _, en := range p2 {
		if en.Revision == 0 || rvInt(en.Object) != en.Revision {
			t.Fatalf("entry from etcd without resourceVersion: %v", en.Object)
		}
	}

	// With a selector, a page holds up to limit matches; no empty trailing page.
	even, _ := labels.Parse("even=true")
	var all []*Entry
	tok = ""
	pages := 0
	for {
		p, _, next, err := e.cache.List(e.ctx, "0", ListOptions{Label: even, Limit: 4, Continue: tok})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, p...)
		if next == "" {
			break
		}
		tok = next
	}
	if len(all) != 13 || pages != 4 {
		t.Fatalf("selector pages: %d items in %d pages", len(all), pages)
	}

	if _, _, _, err := e.cache.List(e.ctx, "", ListOptions{Continue: "garbage"}); !storage.IsBadRequest(err) {
		t.Fatalf("bad token: %v", err)
	}
	_, _, tok, err = e.cache.List(e.ctx, "", ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.update("o00", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("z") })
	if err := e.store.Compact(e.ctx, e.rev()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.cache.List(e.ctx, "", ListOptions{Limit: 1, Continue: tok}); !storage.IsGone(err) {
		t.Fatalf("continue after compaction: %v", err)
	}

	// Namespace prefixes and the field index restrict lists too.
	other, _, _, err := e.cache.List(e.ctx, "0", ListOptions{Prefix: storage.KeyPrefix("leases", "kube-system")})
	if err != nil || len(other) != 0 {
		t.Fatalf("other namespace: %d %v", len(other), err)
	}
}

// TestStalledWatcher: a watcher that stops reading is terminated with an ERROR once its
// buffer is full; the others get every event without waiting for it.
func TestStalledWatcher(t *testing.T) {
	e := newEnv(t, Options{WatcherBuffer: 5})
	from := strconv.FormatInt(e.rev(), 10)
	stalled := e.watch(from, WatchOptions{})
	reader := e.watch(from, WatchOptions{})
	const n = 60
	got := drain(reader)
	var want []rec
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("o%02d", i)
		want = append(want, rec{Added, name, e.create(name, "", nil)})
	}
	g, err := got(n)
	if err != nil {
		t.Fatalf("reader starved by the stalled watcher: %v", err)
	}
	expect(t, g, want...)
	// The stalled watcher got what fit in its buffer, then the error; it can resume.
	var seen []rec
	var last Event
	for ev := range stalled.ResultChan() {
		last = ev
		if ev.Type != Error {
			seen = append(seen, toRec(ev))
		}
	}
	if last.Type != Error || !storage.IsTooManyRequests(last.Err) || len(seen) >= n {
		t.Fatalf("stalled watcher ended with %v %v after %d events", last.Type, last.Err, len(seen))
	}
	expect(t, seen, want[:len(seen)]...)
	resume := "0"
	if len(seen) > 0 {
		resume = strconv.FormatInt(seen[len(seen)-1].RV, 10)
	}
	rest := collect(t, e.watch(resume, WatchOptions{}), n-len(seen))
	if resume == "0" {
		return
	}
	expect(t, rest, want[len(seen):]...)
}

func TestWatcherMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease", Resource: "leases"})
	g := registeredWatchers.WithLabelValues("coordination.k8s.io", "v1", "Lease")
	base := testutil.ToFloat64(g)
	w1 := e.watch("0", WatchOptions{})
	w2 := e.watch("0", WatchOptions{Field: fields.OneTermEqualSelector("metadata.name", "x")})
	if got := testutil.ToFloat64(g) - base; got != 2 {
		t.Fatalf("registered watchers +%v, want +2", got)
	}
	w1.Stop()
	w2.Stop()
	if got := testutil.ToFloat64(g) - base; got != 0 {
		t.Fatalf("registered watchers +%v after stop, want +0", got)
	}
}

var _ scheme.Object = (*coordinationv1.Lease)(nil)

// TestListIndexed: lists pinning the indexed field use the index and agree with a scan,
// including pagination.
func TestListIndexed(t *testing.T) {
	for _, index := range []string{"", "spec.holderIdentity"} {
		t.Run("index="+index, func(t *testing.T) {
			e := newEnv(t, Options{IndexField: index})
			e.create("a", "n1", nil)
			e.create("b", "n2", nil)
			e.create("c", "n1", nil)
			e.update("c", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("n2") })
			e.create("d", "n2", nil)
			e.delete("d")
			list := func(v string, limit int64, tok string) ([]*Entry, string) {
				t.Helper()
				out, _, next, err := e.cache.List(e.ctx, "", ListOptions{
					Field: fields.OneTermEqualSelector("spec.holderIdentity", v), Limit: limit, Continue: tok})
				if err != nil {
					t.Fatal(err)
				}
				return out, next
			}
			if got, _ := list("n1", 0, ""); names(got) != "a" {
				t.Fatalf("n1: %s", names(got))
			}
			got, tok := list("n2", 1, "")
			if names(got) != "b" || tok == "" {
				t.Fatalf("n2 page 1: %s %q", names(got), tok)
			}
			if got, tok = list("n2", 1, tok); names(got) != "c" || tok != "" {
				t.Fatalf("n2 page 2: %s %q", names(got), tok)
			}
			if got, _ := list("n3", 0, ""); len(got) != 0 {
				t.Fatalf("n3: %s", names(got))
			}
		})
	}
}

// TestManyIndexedWatchers: kubelet-style watchers, one per node, each see exactly the
// events of their node, including an object moving between nodes.
func TestManyIndexedWatchers(t *testing.T) {
	e := newEnv(t, Options{IndexField: "spec.holderIdentity"})
	const nodes = 100
	from := strconv.FormatInt(e.rev(), 10)
	drains := make([]func(int) ([]rec, error), nodes)
	for i := range drains {
		w := e.watch(from, WatchOptions{Field: fields.OneTermEqualSelector("spec.holderIdentity", fmt.Sprintf("n%d", i))})
		drains[i] = drain(w)
	}
	want := make([][]rec, nodes)
	for i := 0; i < nodes; i++ {
		name := fmt.Sprintf("p%d", i)
		want[i] = append(want[i], rec{Added, name, e.create(name, fmt.Sprintf("n%d", i), nil)})
	}
	// p0 moves to n1: n0 sees it leave, n1 sees it arrive.
	rv := e.update("p0", func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = proto.String("n1") })
	want[0] = append(want[0], rec{Deleted, "p0", rv})
	want[1] = append(want[1], rec{Added, "p0", rv})
	for i := range drains {
		got, err := drains[i](len(want[i]))
		if err != nil {
			t.Fatal(err)
		}
		expect(t, got, want[i]...)
	}
	// Nothing more arrives for n2: its next event is the one we cause now.
	rv = e.update("p2", func(l *coordinationv1.Lease) { l.Spec.LeaseTransitions = proto.Int32(1) })
	got, err := drains[2](2)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, got, want[2][0], rec{Modified, "p2", rv})
}
