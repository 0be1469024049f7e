package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	apptesting "kube5/apiserver/app/testing"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/client"
	"kube5/proto/codec"
	"kube5/proto/scheme"
)

// event is a watch event from either API, reduced to what the tests compare.
type event struct {
	Type   string
	Name   string
	RV     int64
	Obj    scheme.Object
	Status *metav1.Status
}

func (e event) String() string {
	if e.Type == "ERROR" {
		return "ERROR " + e.Status.GetReason() + " " + e.Status.GetMessage()
	}
	return e.Type + " " + e.Name + "@" + strconv.FormatInt(e.RV, 10)
}

func rvOf(t *testing.T, obj scheme.Object) int64 {
	t.Helper()
	n, err := strconv.ParseInt(obj.GetMetadata().GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q of %s is not a number", obj.GetMetadata().GetResourceVersion(), obj.GetMetadata().GetName())
	}
	return n
}

// rvNum is rvOf for goroutines other than the test's (0 when not a number).
func rvNum(obj scheme.Object) int64 {
	n, _ := strconv.ParseInt(obj.GetMetadata().GetResourceVersion(), 10, 64)
	return n
}

// watcher is a running watch whose events arrive on ch; ch closes when the watch ends.
type watcher struct {
	ch   chan event
	stop func()
	ctx  context.Context // ends with stop
}

// send queues e for the test; false once the watcher is stopped, so that the reading
// goroutine never outlives the test blocked on a full channel.
func (w *watcher) send(e event) bool {
	select {
	case w.ch <- e:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// grpcWatch watches through the typed client.
func grpcWatch[T scheme.Object](t *testing.T, r *client.Resource[T], opts client.ListOptions) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := r.Watch(ctx, opts)
	if err != nil {
		cancel()
		t.Fatalf("grpc watch: %v", err)
	}
	out := &watcher{ch: make(chan event, 1024), stop: func() { w.Stop(); cancel() }, ctx: ctx}
	t.Cleanup(out.stop)
	go func() {
		defer close(out.ch)
		for ev := range w.ResultChan() {
			e := event{Type: string(ev.Type), Status: ev.Status}
			if ev.Type != client.Error {
				e.Obj, e.Name = ev.Object, ev.Object.GetMetadata().GetName()
				e.RV, _ = strconv.ParseInt(ev.Object.GetMetadata().GetResourceVersion(), 10, 64)
			}
			if !out.send(e) {
				return
			}
		}
	}()
	return out
}

// restWatch opens GET path (which carries ?watch=true ...) and decodes the stream of
// {"type":...,"object":...} lines; newObj gives the type of the objects. A non-200 answer
// is returned as it is, with a nil watcher.
func restWatch(t *testing.T, ts *apptesting.TestServer, path string, newObj func() scheme.Object) (*watcher, response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return nil, response{Code: resp.StatusCode, Body: b, ContentType: resp.Header.Get("Content-Type")}
	}
	out := &watcher{ch: make(chan event, 1024), stop: cancel, ctx: ctx}
	t.Cleanup(out.stop)
	go func() {
		defer close(out.ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		for sc.Scan() {
			var raw struct {
				Type   string          `json:"type"`
				Object json.RawMessage `json:"object"`
			}
			if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
				out.send(event{Type: "ERROR", Status: &metav1.Status{Reason: "ClientDecode", Message: err.Error() + ": " + sc.Text()}})
				return
			}
			e := event{Type: raw.Type}
			if raw.Type == "ERROR" {
				e.Status = &metav1.Status{}
				if err := codec.UnmarshalJSON(raw.Object, e.Status); err != nil {
					e.Status = &metav1.Status{Reason: "ClientDecode", Message: err.Error()}
				}
			} else {
				obj := newObj()
				apiVersion, kind, err := codec.DecodeObject(raw.Object, obj)
				if err == nil && (kind == "" || apiVersion == "") {
					err = errors.New("a watch event's object lacks kind or apiVersion")
				}
				if err != nil {
					out.send(event{Type: "ERROR", Status: &metav1.Status{Reason: "ClientDecode", Message: err.Error() + ": " + string(raw.Object)}})
					return
				}
				e.Obj, e.Name = obj, obj.GetMetadata().GetName()
				e.RV, _ = strconv.ParseInt(obj.GetMetadata().GetResourceVersion(), 10, 64)
			}
			if !out.send(e) {
				return
			}
		}
	}()
	return out, response{Code: http.StatusOK}
}

// next returns the next event that is not a BOOKMARK, failing after the timeout.
func (w *watcher) next(t *testing.T) event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case e, ok := <-w.ch:
			if !ok {
				t.Fatalf("the watch ended while an event was expected")
			}
			if e.Type == "BOOKMARK" {
				continue
			}
			return e
		case <-deadline.C:
			t.Fatalf("no watch event within %v", timeout)
		}
	}
}

// expect reads events and compares their "TYPE name" with want, in order.
func (w *watcher) expect(t *testing.T, what string, want ...string) []event {
	t.Helper()
	var got []event
	for i, wnt := range want {
		e := w.next(t)
		got = append(got, e)
		if e.Type+" "+e.Name != wnt {
			t.Fatalf("%s: event %d is %v, want %s (events so far: %v)", what, i, e, wnt, got)
		}
	}
	return got
}
