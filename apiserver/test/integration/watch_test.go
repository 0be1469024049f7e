package integration

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	apptesting "kube5/apiserver/app/testing"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

func newCM() scheme.Object     { return &corev1.ConfigMap{} }
func newPodObj() scheme.Object { return &corev1.Pod{} }

// write is one change a writer made: the revision it got and the state it wrote.
type write struct {
	typ  string // ADDED, MODIFIED, DELETED
	name string
	rv   int64 // 0 for deletes (the API does not return their revision)
	n    string
}

// TestWatchConcurrentWriters: watches from one resourceVersion — opened before the
// writers start and halfway through (so part of the events is replayed from history),
// over gRPC and REST — deliver every change of 8 concurrent writers exactly once, in
// revision order, each with the state its writer stored.
func TestWatchConcurrentWriters(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "watch")
	ctx := ctxFor(t)
	cms := ts.Client.ConfigMaps(ns)
	l, err := cms.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rv0 := l.ResourceVersion
	path := "/api/v1/namespaces/" + ns + "/configmaps?watch=true&resourceVersion=" + rv0
	watchers := map[string]*watcher{"grpc-early": grpcWatch(t, cms, client.ListOptions{ResourceVersion: rv0})}
	watchers["rest-early"], _ = restWatch(t, ts, path, newCM)

	const writers, updates = 8, 30
	writes := make([][]write, writers)
	var wg, halfway sync.WaitGroup
	errs := make(chan error, writers)
	halfway.Add(writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			passed := false
			defer func() {
				if !passed {
					halfway.Done()
				}
			}()
			name := fmt.Sprintf("w-%d", i)
			cm, err := cms.Create(ctx, newConfigMap(ns, name, map[string]string{"n": "0"}))
			if err != nil {
				errs <- err
				return
			}
			writes[i] = append(writes[i], write{"ADDED", name, rvNum(cm), "0"})
			for k := 1; k <= updates; k++ {
				cm.Data["n"] = strconv.Itoa(k)
				if cm, err = cms.Update(ctx, cm); err != nil {
					errs <- err
					return
				}
				writes[i] = append(writes[i], write{"MODIFIED", name, rvNum(cm), strconv.Itoa(k)})
				if k == updates/2 {
					passed = true
					halfway.Done()
				}
			}
			if err := cms.Delete(ctx, name, nil); err != nil {
				errs <- err
				return
			}
			writes[i] = append(writes[i], write{"DELETED", name, 0, ""})
		}()
	}
	halfway.Wait()
	watchers["grpc-late"] = grpcWatch(t, cms, client.ListOptions{ResourceVersion: rv0})
	watchers["rest-late"], _ = restWatch(t, ts, path, newCM)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	sentinel, err := cms.Create(ctx, newConfigMap(ns, "sentinel", nil))
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range watchers {
		if w == nil {
			t.Fatalf("%s: the watch did not start", name)
		}
		var got []event
		for {
			e := w.next(t)
			got = append(got, e)
			if e.Name == "sentinel" {
				break
			}
		}
		checkWatchHistory(t, name, got, writes, rvOf(t, sentinel))
	}
}

// checkWatchHistory compares the events a watcher got with what the writers did.
func checkWatchHistory(t *testing.T, watcher string, got []event, writes [][]write, sentinelRV int64) {
	t.Helper()
	total := 1
	for _, w := range writes {
		total += len(w)
	}
	if len(got) != total {
		t.Fatalf("%s: %d events, want %d (one per write and the sentinel)", watcher, len(got), total)
	}
	var last int64
	perName := map[string][]event{}
	for _, e := range got {
		if e.Type == "ERROR" {
			t.Fatalf("%s: %v", watcher, e)
		}
		if e.RV <= last {
			t.Fatalf("%s: events out of order: %v after revision %d", watcher, e, last)
		}
		last = e.RV
		perName[e.Name] = append(perName[e.Name], e)
	}
	if e := got[len(got)-1]; e.Type != "ADDED" || e.RV != sentinelRV {
		t.Fatalf("%s: last event %v, want ADDED sentinel@%d", watcher, e, sentinelRV)
	}
	for _, ws := range writes {
		evs := perName[ws[0].name]
		if len(evs) != len(ws) {
			t.Fatalf("%s: %d events for %s, want %d: %v", watcher, len(evs), ws[0].name, len(ws), evs)
		}
		for k, w := range ws {
			e := evs[k]
			if e.Type != w.typ {
				t.Fatalf("%s: event %d of %s is %v, want %s", watcher, k, w.name, e, w.typ)
			}
			if w.typ == "DELETED" {
				if e.RV <= ws[k-1].rv || e.RV >= sentinelRV {
					t.Fatalf("%s: %v not between the last update (%d) and the sentinel (%d)", watcher, e, ws[k-1].rv, sentinelRV)
				}
				continue
			}
			if n := e.Obj.(*corev1.ConfigMap).GetData()["n"]; e.RV != w.rv || n != w.n {
				t.Fatalf("%s: event %d of %s is %v with n=%s, want revision %d with n=%s", watcher, k, w.name, e, n, w.rv, w.n)
			}
		}
	}
}

// compactEtcd compacts etcd's history at its current revision, as the apiserver's
// compactor would after --etcd-compaction-interval.
func compactEtcd(t *testing.T, ts *apptesting.TestServer) int64 {
	t.Helper()
	cli := etcdClient(t, ts)
	ctx := ctxFor(t)
	resp, err := cli.Get(ctx, "compact-probe")
	if err != nil {
		t.Fatal(err)
	}
	rev := resp.Header.Revision
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	// The compaction is real: etcd itself refuses the old revision now.
	if _, err := cli.Get(ctx, "compact-probe", clientv3.WithRev(rev-1)); err == nil {
		t.Fatalf("etcd still serves revision %d after compacting at %d", rev-1, rev)
	}
	return rev
}

// TestWatchGone: the watch cache serves history from memory, also past an etcd
// compaction (as upstream's cacher), from the revision it last listed at; a watch from
// before that — after a compaction and an apiserver restart — is 410 Expired over both
// APIs, and a watch from a current revision works.
func TestWatchGone(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "gone")
	ctx := ctxFor(t)
	cms := ts.Client.ConfigMaps(ns)
	cm, err := cms.Create(ctx, newConfigMap(ns, "cm", map[string]string{"n": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	rv0 := cm.Metadata.ResourceVersion
	const updates = 30
	for k := 1; k <= updates; k++ {
		cm.Data["n"] = strconv.Itoa(k)
		if cm, err = cms.Update(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	compactEtcd(t, ts)

	// The cache's history still covers rv0: every update is replayed.
	w := grpcWatch(t, cms, client.ListOptions{ResourceVersion: rv0})
	for k := 1; k <= updates; k++ {
		e := w.next(t)
		if e.Type != "MODIFIED" || e.Obj.(*corev1.ConfigMap).Data["n"] != strconv.Itoa(k) {
			t.Fatalf("replay from the cache's history: event %d is %v, want MODIFIED n=%d", k, e, k)
		}
	}
	w.stop()

	// A restarted apiserver's cache starts at etcd's current revision: rv0 is gone.
	ts.Restart(t)
	w = grpcWatch(t, cms, client.ListOptions{ResourceVersion: rv0})
	e := w.next(t)
	if e.Type != "ERROR" || e.Status.GetCode() != http.StatusGone || !apierrors.IsGoneOrExpired(apierrors.FromStatus(e.Status)) {
		t.Fatalf("grpc watch from a compacted revision: got %v (%v), want ERROR 410 Expired", e, e.Status)
	}
	if !strings.Contains(e.Status.GetMessage(), "too old resource version") {
		t.Errorf("Gone message %q does not say 'too old resource version'", e.Status.GetMessage())
	}
	rw, r := restWatch(t, ts, "/api/v1/namespaces/"+ns+"/configmaps?watch=true&resourceVersion="+rv0, newCM)
	if rw == nil {
		r.expectStatus(t, http.StatusGone, "Expired", "too old resource version")
	} else if e := rw.next(t); e.Type != "ERROR" || e.Status.GetCode() != http.StatusGone || e.Status.GetReason() != "Expired" {
		t.Fatalf("REST watch from a compacted revision: got %v, want 410 Expired", e)
	}

	// A watch from the current revision works.
	l, err := cms.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w = grpcWatch(t, cms, client.ListOptions{ResourceVersion: l.ResourceVersion})
	if _, err := cms.Create(ctx, newConfigMap(ns, "after", nil)); err != nil {
		t.Fatal(err)
	}
	w.expect(t, "watch from the current revision", "ADDED after")
}

// TestWatchSelectors: label and field selectors filter watches on the server; an object
// that stops matching is sent as DELETED, one that starts matching as ADDED; an
// unsupported field is refused with 400 naming it.
func TestWatchSelectors(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "sel")
	ctx := ctxFor(t)
	pods := ts.Client.Pods(ns)
	base := "/api/v1/namespaces/" + ns + "/pods?watch=true&"
	open := func(label, field string) []*watcher {
		l, err := pods.List(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		g := grpcWatch(t, pods, client.ListOptions{ResourceVersion: l.ResourceVersion, LabelSelector: label, FieldSelector: field})
		r, resp := restWatch(t, ts, base+"resourceVersion="+l.ResourceVersion+"&labelSelector="+urlQuery(label)+"&fieldSelector="+urlQuery(field), newPodObj)
		if r == nil {
			t.Fatalf("REST watch: %d %s", resp.Code, resp.Body)
		}
		return []*watcher{g, r}
	}
	relabel := func(name, app string) *corev1.Pod {
		p, err := pods.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		p.Metadata.Labels["app"] = app
		if p, err = pods.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("labels", func(t *testing.T) {
		ws := open("app=web", "")
		mustCreate(t, pods, newPod(ns, "a", map[string]string{"app": "web"}))
		mustCreate(t, pods, newPod(ns, "b", map[string]string{"app": "db"}))
		left := relabel("a", "other") // a leaves the selection
		relabel("b", "web")           // b enters it
		b, _ := pods.Get(ctx, "b")
		b.Metadata.Annotations = map[string]string{"touched": "yes"}
		if _, err := pods.Update(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := pods.Delete(ctx, "b", nil); err != nil {
			t.Fatal(err)
		}
		if err := pods.Delete(ctx, "a", nil); err != nil { // no longer selected: unseen
			t.Fatal(err)
		}
		mustCreate(t, pods, newPod(ns, "c", map[string]string{"app": "web"}))
		for i, w := range ws {
			evs := w.expect(t, fmt.Sprint("label watch ", i), "ADDED a", "DELETED a", "ADDED b", "MODIFIED b", "DELETED b", "ADDED c")
			if evs[1].RV != rvOf(t, left) {
				t.Errorf("the DELETED of a relabelled pod has revision %d, want the relabel's %d", evs[1].RV, rvOf(t, left))
			}
		}
	})

	t.Run("spec.nodeName", func(t *testing.T) {
		ws := open("", "spec.nodeName=n1")
		onN1 := newPod(ns, "p1", nil)
		onN1.Spec.NodeName = "n1"
		mustCreate(t, pods, onN1)
		mustCreate(t, pods, newPod(ns, "p2", nil)) // unbound: not selected yet
		if err := pods.CreateSubresource(ctx, "p2", "binding", &corev1.Binding{
			Metadata: meta(ns, "p2", nil), Target: &corev1.ObjectReference{Kind: "Node", Name: "n1"}}, nil); err != nil {
			t.Fatal(err)
		}
		onN2 := newPod(ns, "p3", nil)
		onN2.Spec.NodeName = "n2"
		mustCreate(t, pods, onN2)
		if err := pods.Delete(ctx, "p1", &metav1.DeleteOptions{GracePeriodSeconds: proto.Int64(0)}); err != nil {
			t.Fatal(err)
		}
		if err := pods.Delete(ctx, "p2", nil); err != nil { // graceful: stays, with deletionTimestamp
			t.Fatal(err)
		}
		sentinel := newPod(ns, "p4", nil)
		sentinel.Spec.NodeName = "n1"
		mustCreate(t, pods, sentinel)
		for i, w := range ws {
			evs := w.expect(t, fmt.Sprint("field watch ", i), "ADDED p1", "ADDED p2", "DELETED p1", "MODIFIED p2", "ADDED p4")
			if evs[1].Obj.(*corev1.Pod).GetSpec().GetNodeName() != "n1" || evs[3].Obj.(*corev1.Pod).GetMetadata().GetDeletionTimestamp() == nil {
				t.Errorf("watch %d: events carry the wrong states: %v", i, evs)
			}
		}
		l, err := pods.List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=n1"})
		if err != nil || !sameStrings(names(l.Items), []string{"p2", "p4"}) {
			t.Fatalf("list spec.nodeName=n1: %v %v", err, names(l.Items))
		}
		l, err = pods.List(ctx, client.ListOptions{FieldSelector: "spec.nodeName!=n1,metadata.name!=a"})
		if err != nil || !sameStrings(names(l.Items), []string{"c", "p3"}) {
			t.Fatalf("list spec.nodeName!=n1: %v %v", err, names(l.Items))
		}
	})

	t.Run("unsupported field", func(t *testing.T) {
		for _, path := range []string{
			"/api/v1/namespaces/" + ns + "/pods?fieldSelector=spec.foo%3Dbar",
			"/api/v1/namespaces/" + ns + "/pods?watch=true&fieldSelector=spec.foo%3Dbar",
		} {
			do(t, ts, "GET", path, nil).expectStatus(t, http.StatusBadRequest, "BadRequest", "spec.foo")
		}
		_, err := pods.List(ctx, client.ListOptions{FieldSelector: "spec.foo=bar"})
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "spec.foo") {
			t.Fatalf("grpc list with an unsupported field: want BadRequest naming spec.foo, got %v", err)
		}
		w := grpcWatch(t, pods, client.ListOptions{FieldSelector: "spec.foo=bar"})
		e := w.next(t)
		if e.Type != "ERROR" || e.Status.GetCode() != http.StatusBadRequest || !strings.Contains(e.Status.GetMessage(), "spec.foo") {
			t.Fatalf("grpc watch with an unsupported field: got %v, want ERROR 400 naming spec.foo", e)
		}
	})
}

func mustCreate[T scheme.Object](t *testing.T, r *client.Resource[T], obj T) T {
	t.Helper()
	out, err := r.Create(context.Background(), obj)
	if err != nil {
		t.Fatalf("create %s: %v", obj.GetMetadata().GetName(), err)
	}
	return out
}
