package integration

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"kube5/proto/client"
)

// TestStopEndsWatches: stopping the apiserver ends every watch at once — also the watches
// that are still being set up when the stop begins — so the stop takes no longer than
// its requests do (it used to wait 5 seconds for watch streams registered on an already
// stopped cache).
func TestStopEndsWatches(t *testing.T) {
	ts := start(t)
	cms := ts.Client.ConfigMaps("default")
	l, err := cms.List(ctxFor(t), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ws []*watcher
	restDone := make(chan struct{}, 10)
	for range 10 {
		ws = append(ws, grpcWatch(t, cms, client.ListOptions{ResourceVersion: l.ResourceVersion}))
		go func() { // REST watches open concurrently; some may find the port closed already
			defer func() { restDone <- struct{}{} }()
			req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion="+l.ResourceVersion, nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	start := time.Now()
	ts.Stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopping the apiserver with watches opening took %v", d)
	}
	for i := range 10 {
		select {
		case <-restDone:
		case <-time.After(timeout):
			t.Fatalf("REST watch %d still open after the apiserver stopped", i)
		}
	}
	for i, w := range ws {
		select {
		case <-drained(w):
		case <-time.After(timeout):
			t.Fatalf("watch %d still open after the apiserver stopped", i)
		}
	}
}

// drained returns a channel closed once w's events are all read and w has ended.
func drained(w *watcher) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for range w.ch {
		}
		close(done)
	}()
	return done
}
