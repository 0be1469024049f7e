package integration

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"kube5/apiserver/app/options"
	"kube5/proto/client"
)

// TestWatchModes: where a watch starts ("" and "0" begin with the current state), what it
// covers (one object, the legacy /watch/ path), how it ends (timeoutSeconds), and
// bookmarks for the watchers that ask for them.
func TestWatchModes(t *testing.T) {
	ts := start(t, func(o *options.Options) { o.WatchBookmarkInterval = 100 * time.Millisecond })
	ns := newNamespace(t, ts.Client, "modes")
	cms := ts.Client.ConfigMaps(ns)
	for _, n := range []string{"b", "a", "c"} {
		mustCreate(t, cms, newConfigMap(ns, n, nil))
	}
	path := "/api/v1/namespaces/" + ns + "/configmaps"

	t.Run("current state first", func(t *testing.T) {
		want := []string{"ADDED a", "ADDED b", "ADDED c"}
		for i, rv := range []string{"", "0"} {
			w := grpcWatch(t, cms, client.ListOptions{ResourceVersion: rv})
			evs := w.expect(t, "grpc rv="+rv, want...)
			r, resp := restWatch(t, ts, path+"?watch=1&resourceVersion="+rv, newCM)
			if r == nil {
				t.Fatalf("REST watch: %d %s", resp.Code, resp.Body)
			}
			r.expect(t, "rest rv="+rv, want...)
			live := fmt.Sprint("d", i)
			mustCreate(t, cms, newConfigMap(ns, live, nil))
			w.expect(t, "grpc live", "ADDED "+live)
			r.expect(t, "rest live", "ADDED "+live)
			want = append(want, "ADDED "+live)
			if evs[0].RV == 0 {
				t.Errorf("synthetic ADDED without resourceVersion")
			}
			w.stop()
			r.stop()
		}
	})

	l, err := cms.List(ctxFor(t), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rv := l.ResourceVersion

	t.Run("one object and the legacy path", func(t *testing.T) {
		one, resp := restWatch(t, ts, path+"/a?watch=true&resourceVersion="+rv, newCM)
		if one == nil {
			t.Fatalf("watch of one object: %d %s", resp.Code, resp.Body)
		}
		legacy, resp := restWatch(t, ts, "/api/v1/watch/namespaces/"+ns+"/configmaps?resourceVersion="+rv, newCM)
		if legacy == nil {
			t.Fatalf("legacy watch path: %d %s", resp.Code, resp.Body)
		}
		for _, n := range []string{"b", "a"} {
			cm, _ := cms.Get(ctxFor(t), n)
			cm.Data = map[string]string{"x": "1"}
			if _, err := cms.Update(ctxFor(t), cm); err != nil {
				t.Fatal(err)
			}
		}
		one.expect(t, "watch of a", "MODIFIED a")
		legacy.expect(t, "legacy watch", "MODIFIED b", "MODIFIED a")
	})

	t.Run("timeoutSeconds", func(t *testing.T) {
		startAt := time.Now()
		r, resp := restWatch(t, ts, path+"?watch=true&timeoutSeconds=1&resourceVersion="+rv, newCM)
		if r == nil {
			t.Fatalf("%d %s", resp.Code, resp.Body)
		}
		g := grpcWatch(t, cms, client.ListOptions{ResourceVersion: rv, TimeoutSeconds: 1})
		for name, w := range map[string]*watcher{"rest": r, "grpc": g} {
			deadline := time.After(timeout)
		drain:
			for {
				select {
				case _, ok := <-w.ch:
					if !ok {
						break drain
					}
				case <-deadline:
					t.Fatalf("%s watch with timeoutSeconds=1 still open after %v", name, timeout)
				}
			}
		}
		if d := time.Since(startAt); d < 900*time.Millisecond {
			t.Errorf("watches with timeoutSeconds=1 ended after %v", d)
		}
	})

	t.Run("bookmarks", func(t *testing.T) {
		with := grpcWatch(t, cms, client.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		withREST, resp := restWatch(t, ts, path+"?watch=true&allowWatchBookmarks=true&resourceVersion="+rv, newCM)
		if withREST == nil {
			t.Fatalf("%d %s", resp.Code, resp.Body)
		}
		without := grpcWatch(t, cms, client.ListOptions{ResourceVersion: rv})
		cur, err := cms.List(ctxFor(t), client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range map[string]*watcher{"grpc": with, "rest": withREST} {
			bookmarks := 0
			for bookmarks < 2 {
				select {
				case e, ok := <-w.ch:
					if !ok {
						t.Fatalf("%s: the watch ended", name)
					}
					if e.Type != "BOOKMARK" {
						continue // the updates of the previous subtest
					}
					if listRV, _ := strconv.ParseInt(cur.ResourceVersion, 10, 64); e.RV < listRV || e.Obj.GetMetadata().GetName() != "" {
						t.Fatalf("%s: bookmark %v (object %v), want the current revision and no object", name, e, e.Obj)
					}
					bookmarks++
				case <-time.After(timeout):
					t.Fatalf("%s: no bookmarks within %v", name, timeout)
				}
			}
		}
		mustCreate(t, cms, newConfigMap(ns, "sentinel", nil))
		for {
			var e event
			select {
			case e = <-without.ch:
			case <-time.After(timeout):
				t.Fatalf("the sentinel did not arrive within %v", timeout)
			}
			if e.Type == "BOOKMARK" {
				t.Fatalf("a watch that did not ask for bookmarks got one")
			}
			if e.Name == "sentinel" {
				break
			}
		}
	})
}
