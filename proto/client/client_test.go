package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/client/testserver"
	"kube5/proto/scheme"
)

// fastReconnect keeps gRPC's reconnect backoff short so restart tests run quickly.
var fastReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.5, MaxDelay: 200 * time.Millisecond},
	MinConnectTimeout: time.Second,
})

func newClient(t *testing.T, srv *testserver.Server) *client.Clientset {
	t.Helper()
	c, err := client.New(client.Config{Server: "http://" + srv.Addr(), UserAgent: "client-test", Timeout: 5 * time.Second,
		DialOptions: []grpc.DialOption{fastReconnect}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func pod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "kube5/httpenv:1.0"}}}}
}

func TestParseServer(t *testing.T) {
	cases := map[string]string{
		"":                        "127.0.0.1:8080",
		"http://127.0.0.1:8080":   "127.0.0.1:8080",
		"http://10.0.0.1:6443/x/": "10.0.0.1:6443",
		"localhost":               "localhost:8080",
		"http://example":          "example:8080",
		"host:9000":               "host:9000",
		"[::1]":                   "[::1]:8080",
	}
	for in, want := range cases {
		got, err := client.ParseServer(in)
		if err != nil || got != want {
			t.Errorf("ParseServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := client.ParseServer("https://h:6443"); err == nil {
		t.Error("https must be refused: only insecure is supported")
	}
}

func TestCRUD(t *testing.T) {
	srv := testserver.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	pods := c.Pods("default")

	if _, err := pods.Get(ctx, "web"); !apierrors.IsNotFound(err) || err.Error() != `pods "web" not found` {
		t.Fatalf("get missing: %v", err)
	}
	created, err := pods.Create(ctx, pod("", "web", map[string]string{"app": "web"}))
	if err != nil {
		t.Fatal(err)
	}
	if created.Metadata.Namespace != "default" || created.Metadata.Uid == "" || created.Metadata.ResourceVersion == "" {
		t.Fatalf("created %v", created.Metadata)
	}
	if _, err := pods.Create(ctx, pod("", "web", nil)); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: %v", err)
	}
	got, err := pods.Get(ctx, "web")
	if err != nil || got.Spec.Containers[0].Image != "kube5/httpenv:1.0" {
		t.Fatalf("get: %v %v", got, err)
	}

	// Optimistic concurrency: an update with a stale resourceVersion conflicts.
	stale := got
	got.Spec.Containers[0].Image = "kube5/httpenv:1.1"
	updated, err := pods.Update(ctx, got)
	if err != nil || updated.Metadata.ResourceVersion == created.Metadata.ResourceVersion {
		t.Fatalf("update: %v", err)
	}
	stale.Metadata.ResourceVersion = created.Metadata.ResourceVersion
	if _, err := pods.Update(ctx, stale); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: %v", err)
	}

	updated.Status = &corev1.PodStatus{Phase: "Running"}
	st, err := pods.UpdateStatus(ctx, updated)
	if err != nil || st.Status.GetPhase() != "Running" {
		t.Fatalf("update status: %v %v", st, err)
	}

	// Binding through the subresource.
	if err := pods.CreateSubresource(ctx, "web", "binding", &corev1.Binding{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Target:   &corev1.ObjectReference{Kind: "Node", Name: "node-1"}}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = pods.Get(ctx, "web")
	if got.Spec.NodeName != "node-1" {
		t.Fatalf("binding: nodeName %q", got.Spec.NodeName)
	}

	if _, err := pods.Create(ctx, pod("", "db", map[string]string{"app": "db"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pods("other").Create(ctx, pod("", "web", map[string]string{"app": "web"})); err != nil {
		t.Fatal(err)
	}
	l, err := pods.List(ctx, client.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(l.Items) != 1 || l.Items[0].Metadata.Name != "web" || l.ResourceVersion == "" {
		t.Fatalf("list: %v %v", l, err)
	}
	all, err := c.Pods("").List(ctx, client.ListOptions{})
	if err != nil || len(all.Items) != 3 {
		t.Fatalf("list all: %v %v", all, err)
	}
	page, err := c.Pods("").List(ctx, client.ListOptions{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Continue == "" {
		t.Fatalf("page: %v %v", page, err)
	}

	if err := pods.Delete(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "web", nil); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}

	// Cluster-scoped and other groups.
	if _, err := c.Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deployments("default").Get(ctx, "nope"); err == nil || err.Error() != `deployments.apps "nope" not found` {
		t.Fatalf("deployment: %v", err)
	}
	if _, err := c.Deployments("default").Create(ctx, &appsv1.Deployment{Metadata: &metav1.ObjectMeta{GenerateName: "d-"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deployments("default").Create(ctx, &appsv1.Deployment{Metadata: &metav1.ObjectMeta{}}); !apierrors.IsInvalid(err) {
		t.Fatalf("nameless: %v", err)
	}
}

func TestDynamic(t *testing.T) {
	srv := testserver.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	res, _ := scheme.Lookup("cm")
	d := c.Resource(res, "default")
	obj := res.New().(*corev1.ConfigMap)
	obj.Metadata = &metav1.ObjectMeta{Name: "cfg"}
	obj.Data = map[string]string{"k": "v"}
	if _, err := d.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get(ctx, "cfg")
	if err != nil || got.(*corev1.ConfigMap).Data["k"] != "v" {
		t.Fatalf("%v %v", got, err)
	}
	l, err := d.List(ctx, client.ListOptions{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("%v %v", l, err)
	}
}

func recv[T scheme.Object](t *testing.T, w client.Watch[T]) client.Event[T] {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatalf("watch closed: %v", w.Err())
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	panic("unreachable")
}

func TestWatch(t *testing.T) {
	srv := testserver.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	pods := c.Pods("default")
	if _, err := pods.Create(ctx, pod("", "a", map[string]string{"app": "x"})); err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx, client.ListOptions{LabelSelector: "app=x"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if ev := recv(t, w); ev.Type != client.Added || ev.Object.Metadata.Name != "a" {
		t.Fatalf("initial: %v", ev)
	}
	b, _ := pods.Create(ctx, pod("", "b", map[string]string{"app": "x"}))
	if ev := recv(t, w); ev.Type != client.Added || ev.Object.Metadata.Name != "b" {
		t.Fatalf("add: %v", ev)
	}
	b.Metadata.Labels = map[string]string{"app": "y"}
	if _, err := pods.Update(ctx, b); err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, w); ev.Type != client.Deleted || ev.Object.Metadata.Name != "b" {
		t.Fatalf("stopped matching: %v", ev)
	}
	if err := pods.Delete(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	ev := recv(t, w)
	if ev.Type != client.Deleted || ev.Object.Metadata.Name != "a" {
		t.Fatalf("delete: %v", ev)
	}
	w.Stop()
	for range w.ResultChan() {
	}
	if w.Err() != nil {
		t.Fatalf("stopped watch err: %v", w.Err())
	}

	// From a revision: only later events; bookmarks when allowed.
	rv := ev.Object.Metadata.ResourceVersion
	if _, err := pods.Create(ctx, pod("", "c", nil)); err != nil {
		t.Fatal(err)
	}
	w2, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	if ev := recv(t, w2); ev.Type != client.Added || ev.Object.Metadata.Name != "c" {
		t.Fatalf("from rv: %v", ev)
	}
	if ev := recv(t, w2); ev.Type != client.Bookmark || ev.Object.Metadata.ResourceVersion == "" {
		t.Fatalf("bookmark: %v", ev)
	}

	// A compacted revision answers Expired as an Error event.
	srv.Compact()
	w3, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: rv})
	if err != nil {
		t.Fatal(err)
	}
	ev = recv(t, w3)
	if ev.Type != client.Error || !apierrors.IsResourceExpired(apierrors.FromStatus(ev.Status)) {
		t.Fatalf("compacted: %v", ev)
	}
	if _, ok := <-w3.ResultChan(); ok {
		t.Fatal("watch must close after an Error event")
	}
}

func TestServerDown(t *testing.T) {
	srv := testserver.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	w, err := c.Pods("").Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pods("default").Create(ctx, pod("", "a", nil)); err != nil {
		t.Fatal(err)
	}
	recv(t, w)
	srv.Stop()
	for range w.ResultChan() {
	}
	if !apierrors.IsServiceUnavailable(w.Err()) {
		t.Fatalf("broken stream: %v", w.Err())
	}
	_, err = c.Pods("default").Get(ctx, "a")
	if !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("get while down: %v", err)
	}
	t.Logf("while down: %v", err)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Pods("default").Get(ctx, "a")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not back after restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestContextCanceled(t *testing.T) {
	srv := testserver.Start(t)
	c := newClient(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Pods("default").Get(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
