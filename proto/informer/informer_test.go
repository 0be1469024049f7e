package informer_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/client"
	"kube5/proto/client/testserver"
	"kube5/proto/informer"
	"kube5/proto/labels"
)

var fastReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.5, MaxDelay: 200 * time.Millisecond},
	MinConnectTimeout: time.Second,
})

var fast = informer.Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}

func setup(t *testing.T) (*testserver.Server, *client.Clientset, context.Context) {
	t.Helper()
	srv := testserver.Start(t)
	c, err := client.New(client.Config{Server: srv.Addr(), Timeout: 5 * time.Second, DialOptions: []grpc.DialOption{fastReconnect}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return srv, c, ctx
}

func pod(ns, name, node string, lbl map[string]string) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl},
		Spec: &corev1.PodSpec{NodeName: node}}
}

// recorder is a handler that logs "add ns/name", "update ns/name", "delete ns/name".
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) handler() informer.Handler[*corev1.Pod] {
	rec := func(s string) { r.mu.Lock(); r.log = append(r.log, s); r.mu.Unlock() }
	return informer.Handler[*corev1.Pod]{
		OnAdd: func(p *corev1.Pod) { rec("add " + informer.Key(p)) },
		OnUpdate: func(old, p *corev1.Pod) {
			if old == p {
				rec("resync " + informer.Key(p))
				return
			}
			rec("update " + informer.Key(p))
		},
		OnDelete: func(p *corev1.Pod) { rec("delete " + informer.Key(p)) },
	}
}

func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.log = nil
	r.mu.Unlock()
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitEvents waits until the recorder holds exactly want (in any order, since the
// relist diff is computed from a map), failing on extra events.
func waitEvents(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	waitFor(t, fmt.Sprintf("events %v (have %v)", want, r.events()), func() bool {
		return len(r.events()) >= len(want)
	})
	if got := sorted(r.events()); !slices.Equal(got, sorted(want)) {
		t.Fatalf("events: got %v want %v", got, sorted(want))
	}
}

func TestListWatchHandlersLister(t *testing.T) {
	srv, c, ctx := setup(t)
	pods := c.Pods("default")
	for _, p := range []*corev1.Pod{pod("default", "a", "n1", map[string]string{"app": "x"}), pod("default", "b", "n2", nil)} {
		if _, err := pods.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	inf := informer.New[*corev1.Pod](c.Pods(""), fast)
	if err := inf.AddIndexers(map[string]informer.IndexFunc[*corev1.Pod]{
		"node": func(p *corev1.Pod) []string { return []string{p.GetSpec().GetNodeName()} },
	}); err != nil {
		t.Fatal(err)
	}
	var r recorder
	reg := inf.AddEventHandler(r.handler())
	go inf.Run(ctx)
	if !inf.WaitForCacheSync(ctx) {
		t.Fatal("no sync")
	}
	waitFor(t, "handler synced", reg.HasSynced)
	waitEvents(t, &r, "add default/a", "add default/b")
	r.reset()

	if _, err := c.Pods("other").Create(ctx, pod("other", "c", "n1", map[string]string{"app": "x"})); err != nil {
		t.Fatal(err)
	}
	a, _ := pods.Get(ctx, "a")
	a.Spec.NodeName = "n3"
	if _, err := pods.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, &r, "add other/c", "update default/a", "delete default/b")
	if want := fmt.Sprint(srv.Revision()); inf.LastSyncResourceVersion() != want {
		t.Errorf("rv %s want %s", inf.LastSyncResourceVersion(), want)
	}

	l := inf.Lister()
	if p, ok := l.Get("default", "a"); !ok || p.Spec.NodeName != "n3" {
		t.Fatalf("get a: %v %v", p, ok)
	}
	if _, ok := l.Get("default", "b"); ok {
		t.Fatal("b still cached")
	}
	sel, _ := labels.Parse("app=x")
	names := func(ps []*corev1.Pod) string {
		var s []string
		for _, p := range ps {
			s = append(s, informer.Key(p))
		}
		return strings.Join(s, ",")
	}
	if got := names(l.List(sel)); got != "default/a,other/c" {
		t.Errorf("List(app=x) = %s", got)
	}
	if got := names(l.ByNamespace("other", labels.Everything())); got != "other/c" {
		t.Errorf("ByNamespace = %s", got)
	}
	if got := names(l.ByIndex("node", "n1")); got != "other/c" {
		t.Errorf("ByIndex(n1) = %s", got)
	}
	if got := names(l.ByIndex("node", "n3")); got != "default/a" {
		t.Errorf("ByIndex(n3) = %s", got)
	}

	// A handler added late gets the current objects as adds, then live changes.
	var late recorder
	lreg := inf.AddEventHandler(late.handler())
	waitFor(t, "late handler synced", lreg.HasSynced)
	waitEvents(t, &late, "add default/a", "add other/c")
	late.reset()
	if _, err := pods.Create(ctx, pod("default", "d", "", nil)); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, &late, "add default/d")
}

func TestReconnectResumesWithoutRelist(t *testing.T) {
	srv, c, ctx := setup(t)
	direct := srv.Direct()
	if _, err := direct.Pods("default").Create(ctx, pod("default", "a", "", nil)); err != nil {
		t.Fatal(err)
	}
	inf := informer.New[*corev1.Pod](c.Pods(""), fast)
	var r recorder
	inf.AddEventHandler(r.handler())
	go inf.Run(ctx)
	inf.WaitForCacheSync(ctx)
	waitEvents(t, &r, "add default/a")
	r.reset()

	srv.Stop()
	// Changes while the apiserver is down (another replica, or before it crashed).
	if _, err := direct.Pods("default").Create(ctx, pod("default", "b", "", nil)); err != nil {
		t.Fatal(err)
	}
	if err := direct.Pods("default").Delete(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	watches := srv.Calls("Watch")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, &r, "add default/b", "delete default/a")
	if n := srv.Calls("List"); n != 1 {
		t.Errorf("List called %d times; a reconnect must resume the watch, not relist", n)
	}
	if srv.Calls("Watch") <= watches {
		t.Errorf("no new watch after restart")
	}
	if _, ok := inf.Lister().Get("default", "a"); ok {
		t.Error("a still cached")
	}
}

func TestRelistOnGone(t *testing.T) {
	for _, asEvent := range []bool{false, true} {
		t.Run(fmt.Sprintf("asEvent=%v", asEvent), func(t *testing.T) {
			srv, c, ctx := setup(t)
			srv.GoneAsEvent = asEvent
			direct := srv.Direct()
			for _, n := range []string{"a", "b", "c"} {
				if _, err := direct.Pods("default").Create(ctx, pod("default", n, "", nil)); err != nil {
					t.Fatal(err)
				}
			}
			inf := informer.New[*corev1.Pod](c.Pods("default"), fast)
			var r recorder
			inf.AddEventHandler(r.handler())
			go inf.Run(ctx)
			inf.WaitForCacheSync(ctx)
			waitEvents(t, &r, "add default/a", "add default/b", "add default/c")
			r.reset()

			srv.Stop()
			if err := direct.Pods("default").Delete(ctx, "a", nil); err != nil {
				t.Fatal(err)
			}
			b, _ := direct.Pods("default").Get(ctx, "b")
			b.Spec.NodeName = "n1"
			if _, err := direct.Pods("default").Update(ctx, b); err != nil {
				t.Fatal(err)
			}
			if _, err := direct.Pods("default").Create(ctx, pod("default", "d", "", nil)); err != nil {
				t.Fatal(err)
			}
			srv.Compact() // the informer's revision is gone: it must relist
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			// Only the difference: c did not change and gets no event.
			waitEvents(t, &r, "delete default/a", "update default/b", "add default/d")
			if n := srv.Calls("List"); n != 2 {
				t.Errorf("List called %d times, want 2", n)
			}
			r.reset()
			// And it watches again after the relist.
			if _, err := c.Pods("default").Create(ctx, pod("default", "e", "", nil)); err != nil {
				t.Fatal(err)
			}
			waitEvents(t, &r, "add default/e")
		})
	}
}

func TestRelistOnErrorEvent(t *testing.T) {
	srv, c, ctx := setup(t)
	if _, err := c.Pods("default").Create(ctx, pod("default", "a", "", nil)); err != nil {
		t.Fatal(err)
	}
	inf := informer.New[*corev1.Pod](c.Pods(""), fast)
	var r recorder
	inf.AddEventHandler(r.handler())
	go inf.Run(ctx)
	inf.WaitForCacheSync(ctx)
	waitEvents(t, &r, "add default/a")
	r.reset()
	waitFor(t, "watch open", func() bool { return srv.ActiveWatches() == 1 })
	srv.ExpireWatches()
	waitFor(t, "relist", func() bool { return srv.Calls("List") == 2 })
	if _, err := c.Pods("default").Create(ctx, pod("default", "b", "", nil)); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, &r, "add default/b") // nothing for the unchanged a
}

func TestSlowHandlerDoesNotBlockOthers(t *testing.T) {
	_, c, ctx := setup(t)
	inf := informer.New[*corev1.Pod](c.Pods(""), fast)
	block := make(chan struct{})
	defer close(block)
	inf.AddEventHandler(informer.Handler[*corev1.Pod]{OnAdd: func(*corev1.Pod) { <-block }})
	var r recorder
	inf.AddEventHandler(r.handler())
	go inf.Run(ctx)
	inf.WaitForCacheSync(ctx)
	for i := range 20 {
		if _, err := c.Pods("default").Create(ctx, pod("default", fmt.Sprint("p", i), "", nil)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "20 adds despite a stuck handler", func() bool { return len(r.events()) == 20 })
	waitFor(t, "cache current", func() bool { return len(inf.Lister().List(nil)) == 20 })
}

func TestResync(t *testing.T) {
	_, c, ctx := setup(t)
	if _, err := c.Pods("default").Create(ctx, pod("default", "a", "", nil)); err != nil {
		t.Fatal(err)
	}
	opts := fast
	opts.ResyncPeriod = 20 * time.Millisecond
	inf := informer.New[*corev1.Pod](c.Pods(""), opts)
	var r recorder
	inf.AddEventHandler(r.handler())
	go inf.Run(ctx)
	waitFor(t, "resync", func() bool { return slices.Contains(r.events(), "resync default/a") })
}

func TestSelectors(t *testing.T) {
	_, c, ctx := setup(t)
	inf := informer.New[*corev1.Pod](c.Pods(""), informer.Options{LabelSelector: "app=web"})
	var r recorder
	inf.AddEventHandler(r.handler())
	go inf.Run(ctx)
	inf.WaitForCacheSync(ctx)
	if _, err := c.Pods("default").Create(ctx, pod("default", "db", "", map[string]string{"app": "db"})); err != nil {
		t.Fatal(err)
	}
	w, err := c.Pods("default").Create(ctx, pod("default", "web", "", map[string]string{"app": "web"}))
	if err != nil {
		t.Fatal(err)
	}
	waitEvents(t, &r, "add default/web")
	w.Metadata.Labels["app"] = "other"
	if _, err := c.Pods("default").Update(ctx, w); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, &r, "add default/web", "delete default/web")
}

func TestFactory(t *testing.T) {
	_, c, ctx := setup(t)
	if _, err := c.Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	f := informer.NewFactory(c, 0)
	pods := informer.ForType[*corev1.Pod](f)
	if informer.ForType[*corev1.Pod](f) != pods {
		t.Fatal("ForType must share the informer")
	}
	if informer.ForTypeWith[*corev1.Pod](f, "kube-system", informer.Options{}) == pods {
		t.Fatal("a namespaced informer is a different one")
	}
	nodes := informer.ForTypeWith[*corev1.Node](f, "ignored", informer.Options{})
	if informer.ForType[*corev1.Node](f) != nodes {
		t.Fatal("cluster-scoped informers ignore the namespace")
	}
	sctx, stop := context.WithCancel(ctx)
	f.Start(sctx)
	f.Start(sctx) // idempotent
	if !f.WaitForCacheSync(ctx) {
		t.Fatal("no sync")
	}
	if _, ok := nodes.Lister().Get("", "n1"); !ok {
		t.Fatal("node missing")
	}
	if !informer.WaitForCacheSync(ctx, pods.HasSynced, nodes.HasSynced) {
		t.Fatal("WaitForCacheSync")
	}
	stop()
	f.Shutdown()
}

func TestStore(t *testing.T) {
	s := informer.NewStore[*corev1.Pod]()
	s.Add(pod("ns", "a", "n1", nil))
	s.Add(pod("ns", "b", "n1", nil))
	if err := s.AddIndexers(map[string]informer.IndexFunc[*corev1.Pod]{
		"node": func(p *corev1.Pod) []string { return []string{p.GetSpec().GetNodeName()} },
	}); err != nil {
		t.Fatal(err)
	}
	if got := s.IndexKeys("node", "n1"); !slices.Equal(got, []string{"ns/a", "ns/b"}) {
		t.Fatalf("index built over existing objects: %v", got)
	}
	s.Add(pod("ns", "a", "n2", nil))
	if got := s.IndexKeys("node", "n1"); !slices.Equal(got, []string{"ns/b"}) {
		t.Fatalf("reindex on update: %v", got)
	}
	s.Delete(pod("ns", "b", "", nil))
	if len(s.ByIndex("node", "n1")) != 0 || s.Len() != 1 {
		t.Fatal("delete")
	}
	if err := s.AddIndexers(map[string]informer.IndexFunc[*corev1.Pod]{"node": nil}); err == nil {
		t.Fatal("duplicate indexer accepted")
	}
	if ns, name, err := informer.SplitKey("ns/a"); ns != "ns" || name != "a" || err != nil {
		t.Fatal("SplitKey")
	}
}
