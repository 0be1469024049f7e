package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	apptesting "kube5/apiserver/app/testing"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/client"
	"kube5/proto/informer"
)

// recorder remembers what an informer's handler was told, per object.
type recorder struct {
	mu      sync.Mutex
	adds    map[string]int
	updates map[string]int
	deletes map[string]int
}

func newRecorder() *recorder {
	return &recorder{adds: map[string]int{}, updates: map[string]int{}, deletes: map[string]int{}}
}

func (r *recorder) handler() informer.Handler[*corev1.ConfigMap] {
	count := func(m map[string]int) func(*corev1.ConfigMap) {
		return func(cm *corev1.ConfigMap) {
			r.mu.Lock()
			m[cm.Metadata.Name]++
			r.mu.Unlock()
		}
	}
	return informer.Handler[*corev1.ConfigMap]{
		OnAdd:    count(r.adds),
		OnUpdate: func(_, cm *corev1.ConfigMap) { count(r.updates)(cm) },
		OnDelete: count(r.deletes),
	}
}

func (r *recorder) get(m map[string]int, name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m[name]
}

// runInformer starts a configmap informer of ns on cs and waits for its first list.
func runInformer(t *testing.T, cs *client.Clientset, ns string) (*informer.Informer[*corev1.ConfigMap], *recorder) {
	t.Helper()
	inf := informer.New[*corev1.ConfigMap](cs.ConfigMaps(ns), informer.Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	rec := newRecorder()
	inf.AddEventHandler(rec.handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); inf.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if !inf.WaitForCacheSync(ctxFor(t)) {
		t.Fatal("the informer did not sync")
	}
	return inf, rec
}

// waitInformerMatchesServer waits until the informer holds exactly the server's objects,
// at the server's resourceVersions.
func waitInformerMatchesServer(t *testing.T, inf *informer.Informer[*corev1.ConfigMap], ts *apptesting.TestServer, ns string) {
	t.Helper()
	eventually(t, "the informer's cache equals the server's list", func() (bool, string) {
		l, err := ts.Client.ConfigMaps(ns).List(context.Background(), client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		want := map[string]string{}
		for _, cm := range l.Items {
			want[cm.Metadata.Name] = cm.Metadata.ResourceVersion + " " + fmt.Sprint(cm.Data)
		}
		got := map[string]string{}
		for _, cm := range inf.Lister().List(nil) {
			got[cm.Metadata.Name] = cm.Metadata.ResourceVersion + " " + fmt.Sprint(cm.Data)
		}
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("informer %v, server %v", got, want)
	})
}

// wait waits until the handler was told of each object in want (name -> the kind of
// notification), handlers being called asynchronously; then each must have been told
// exactly once.
func (r *recorder) wait(t *testing.T, want map[string]map[string]int) {
	t.Helper()
	summary := func() string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return fmt.Sprintf("adds %v updates %v deletes %v", r.adds, r.updates, r.deletes)
	}
	eventually(t, "the handler is notified", func() (bool, string) {
		for name, m := range want {
			if r.get(m, name) == 0 {
				return false, name + " not notified yet: " + summary()
			}
		}
		return true, ""
	})
	for name, m := range want {
		if n := r.get(m, name); n != 1 {
			t.Errorf("handler: %s notified %d times, want once (%s)", name, n, summary())
		}
	}
}

// TestInformerRelistsAfterGone: an informer whose resourceVersion was compacted away
// while its apiserver was down (the changes made through a second apiserver on the same
// etcd) gets Gone, relists, and ends with the server's state — the deletion it missed
// delivered to its handler.
func TestInformerRelistsAfterGone(t *testing.T) {
	ts := start(t)
	other := second(t, ts)
	ns := newNamespace(t, ts.Client, "relist")
	ctx := ctxFor(t)
	for _, n := range []string{"a", "b", "c"} {
		mustCreate(t, ts.Client.ConfigMaps(ns), newConfigMap(ns, n, map[string]string{"v": "1"}))
	}
	inf, rec := runInformer(t, fastClient(t, ts), ns)
	waitInformerMatchesServer(t, inf, ts, ns)
	before := inf.LastSyncResourceVersion()

	ts.Stop()
	cms := other.Client.ConfigMaps(ns)
	a, err := cms.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	a.Data["v"] = "2"
	if _, err := cms.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, cms, newConfigMap(ns, "d", map[string]string{"v": "1"}))
	compactEtcd(t, ts)
	ts.Restart(t)

	// The informer's revision is older than anything the restarted cache holds.
	w := grpcWatch(t, ts.Client.ConfigMaps(ns), client.ListOptions{ResourceVersion: before})
	if e := w.next(t); e.Type != "ERROR" || e.Status.GetCode() != 410 {
		t.Fatalf("a watch from the informer's revision %s: got %v, want 410 Gone", before, e)
	}
	waitInformerMatchesServer(t, inf, ts, ns)
	rec.wait(t, map[string]map[string]int{"b": rec.deletes, "d": rec.adds, "a": rec.updates})
	if rec.get(rec.updates, "c") != 0 {
		t.Errorf("the unchanged object c was re-delivered as an update")
	}
	// The informer watches again: a change now arrives as a plain event.
	c, _ := ts.Client.ConfigMaps(ns).Get(ctx, "c")
	c.Data["v"] = "3"
	if _, err := ts.Client.ConfigMaps(ns).Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	waitInformerMatchesServer(t, inf, ts, ns)
}

// TestInformerSurvivesRestart: an informer keeps following its apiserver across a
// restart, without missing the change made just before the stop, the changes made while
// it was down (through a second apiserver) and the one made right after the restart,
// before the informer has reconnected.
func TestInformerSurvivesRestart(t *testing.T) {
	ts := start(t)
	other := second(t, ts)
	ns := newNamespace(t, ts.Client, "restart")
	ctx := ctxFor(t)
	cms := ts.Client.ConfigMaps(ns)
	for _, n := range []string{"a", "b", "c"} {
		mustCreate(t, cms, newConfigMap(ns, n, map[string]string{"v": "1"}))
	}
	inf, rec := runInformer(t, fastClient(t, ts), ns)
	waitInformerMatchesServer(t, inf, ts, ns)

	// Just before the stop.
	mustCreate(t, cms, newConfigMap(ns, "before-stop", nil))
	ts.Stop()
	// While down.
	if err := other.Client.ConfigMaps(ns).Delete(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, other.Client.ConfigMaps(ns), newConfigMap(ns, "while-down", nil))
	ts.Restart(t)
	// Right after the restart, before the informer's backoff is over.
	a, err := cms.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	a.Data["v"] = "after-restart"
	if _, err := cms.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "c", nil); err != nil {
		t.Fatal(err)
	}
	waitInformerMatchesServer(t, inf, ts, ns)
	rec.wait(t, map[string]map[string]int{"before-stop": rec.adds, "while-down": rec.adds, "b": rec.deletes, "c": rec.deletes, "a": rec.updates})
	// And it keeps following.
	mustCreate(t, cms, newConfigMap(ns, "later", nil))
	waitInformerMatchesServer(t, inf, ts, ns)
}
