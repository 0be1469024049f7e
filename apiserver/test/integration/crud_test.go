package integration

import (
	"fmt"
	"net/http"
	"testing"

	"google.golang.org/protobuf/proto"

	apptesting "kube5/apiserver/app/testing"
	appsv1 "kube5/proto/api/apps/v1"
	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

// crudCase is one kind for the CRUD round trip: a fresh object, a change to it, and
// whether the change shows.
type crudCase[T scheme.Object] struct {
	path    string // REST collection path
	obj     func(name string) T
	mutate  func(T)
	changed func(T) bool
	// deleted, when set, finishes a delete that leaves the object terminating.
	deleted func(t *testing.T, name string)
}

// grpcRoundTrip creates, gets, lists, updates and deletes one object over gRPC.
func grpcRoundTrip[T scheme.Object](t *testing.T, r *client.Resource[T], c crudCase[T]) {
	ctx := ctxFor(t)
	in := c.obj("grpc-obj")
	created, err := r.Create(ctx, in)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	m := created.GetMetadata()
	if m.GetUid() == "" || m.GetResourceVersion() == "" || m.GetCreationTimestamp().IsZero() {
		t.Fatalf("create did not set uid, resourceVersion and creationTimestamp: %v", m)
	}
	got, err := r.Get(ctx, "grpc-obj")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !proto.Equal(got, created) {
		t.Fatalf("get returned\n%v\nwant what create returned\n%v", got, created)
	}
	l, err := r.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	found := false
	for _, o := range l.Items {
		found = found || o.GetMetadata().GetUid() == m.GetUid()
	}
	if !found || l.ResourceVersion == "" {
		t.Fatalf("list (rv %q) misses the object: %v", l.ResourceVersion, names(l.Items))
	}
	upd := proto.Clone(got).(T)
	c.mutate(upd)
	updated, err := r.Update(ctx, upd)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if !c.changed(updated) || updated.GetMetadata().GetResourceVersion() == m.GetResourceVersion() {
		t.Fatalf("update did not apply (rv %s -> %s): %v", m.GetResourceVersion(), updated.GetMetadata().GetResourceVersion(), updated)
	}
	if got, err = r.Get(ctx, "grpc-obj"); err != nil || !c.changed(got) {
		t.Fatalf("get after update: %v %v", err, got)
	}
	if err := r.Delete(ctx, "grpc-obj", nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if c.deleted != nil {
		c.deleted(t, "grpc-obj")
	}
	if _, err := r.Get(ctx, "grpc-obj"); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: want NotFound, got %v", err)
	}
	if err := r.Delete(ctx, "grpc-obj", nil); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete: want NotFound, got %v", err)
	}
}

// restRoundTrip does the same over REST with upstream JSON.
func restRoundTrip[T scheme.Object](t *testing.T, ts *apptesting.TestServer, c crudCase[T]) {
	in := c.obj("rest-obj")
	res, _ := scheme.For(in)
	created := c.obj("")
	do(t, ts, "POST", c.path, in).expect(t, http.StatusCreated, "POST").object(t, created)
	if created.GetMetadata().GetUid() == "" {
		t.Fatalf("POST answered an object without uid")
	}
	r := do(t, ts, "GET", c.path+"/rest-obj", nil).expect(t, http.StatusOK, "GET")
	g := r.generic(t)
	if g["kind"] != res.Kind || g["apiVersion"] != res.GroupVersion() {
		t.Fatalf("GET answered kind %v apiVersion %v, want %s %s", g["kind"], g["apiVersion"], res.Kind, res.GroupVersion())
	}
	if r.ContentType != "application/json" {
		t.Errorf("Content-Type %q, want application/json", r.ContentType)
	}
	got := c.obj("")
	r.object(t, got)
	if !proto.Equal(got, created) {
		t.Fatalf("GET returned\n%v\nwant what POST returned\n%v", got, created)
	}
	l := do(t, ts, "GET", c.path, nil).expect(t, http.StatusOK, "LIST").generic(t)
	if l["kind"] != res.Kind+"List" || l["apiVersion"] != res.GroupVersion() {
		t.Fatalf("list kind %v apiVersion %v, want %sList %s", l["kind"], l["apiVersion"], res.Kind, res.GroupVersion())
	}
	c.mutate(got)
	updated := c.obj("")
	do(t, ts, "PUT", c.path+"/rest-obj", got).expect(t, http.StatusOK, "PUT").object(t, updated)
	if !c.changed(updated) {
		t.Fatalf("PUT did not apply: %v", updated)
	}
	do(t, ts, "DELETE", c.path+"/rest-obj", nil).expect(t, http.StatusOK, "DELETE")
	if c.deleted != nil {
		c.deleted(t, "rest-obj")
	}
	do(t, ts, "GET", c.path+"/rest-obj", nil).expectStatus(t, http.StatusNotFound, "NotFound", `"rest-obj" not found`)
	do(t, ts, "DELETE", c.path+"/rest-obj", nil).expectStatus(t, http.StatusNotFound, "NotFound")
}

func labelled[T scheme.Object](o T) {
	m := o.GetMetadata()
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels["changed"] = "yes"
}

func isLabelled[T scheme.Object](o T) bool { return o.GetMetadata().GetLabels()["changed"] == "yes" }

func runCRUD[T scheme.Object](t *testing.T, ts *apptesting.TestServer, ns string, c crudCase[T]) {
	var zero T
	res, _ := scheme.For(zero)
	t.Run(res.Resource, func(t *testing.T) {
		t.Run("grpc", func(t *testing.T) { grpcRoundTrip(t, client.For[T](ts.Client, ns), c) })
		t.Run("rest", func(t *testing.T) { restRoundTrip(t, ts, c) })
	})
}

// TestCRUD creates, reads, lists, updates and deletes objects of several kinds —
// namespaced and cluster-scoped, core and named groups — over gRPC and REST.
func TestCRUD(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "crud")
	nsPath := func(group, resource string) string {
		if group == "" {
			return "/api/v1/namespaces/" + ns + "/" + resource
		}
		return "/apis/" + group + "/namespaces/" + ns + "/" + resource
	}
	runCRUD(t, ts, ns, crudCase[*corev1.Pod]{
		path: nsPath("", "pods"), obj: func(n string) *corev1.Pod { return newPod(ns, n, nil) },
		mutate: labelled[*corev1.Pod], changed: isLabelled[*corev1.Pod],
	})
	runCRUD(t, ts, ns, crudCase[*corev1.Service]{
		path: nsPath("", "services"), obj: func(n string) *corev1.Service { return newService(ns, n) },
		mutate:  func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 },
		changed: func(s *corev1.Service) bool { return s.GetSpec().GetPorts()[0].GetPort() == 8080 },
	})
	runCRUD(t, ts, ns, crudCase[*appsv1.Deployment]{
		path: nsPath("apps/v1", "deployments"), obj: func(n string) *appsv1.Deployment { return newDeployment(ns, n, 2) },
		mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "kube5/httpenv:2.0" },
		changed: func(d *appsv1.Deployment) bool {
			return d.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage() == "kube5/httpenv:2.0"
		},
	})
	runCRUD(t, ts, ns, crudCase[*corev1.ConfigMap]{
		path: nsPath("", "configmaps"), obj: func(n string) *corev1.ConfigMap { return newConfigMap(ns, n, map[string]string{"k": "v1"}) },
		mutate:  func(c *corev1.ConfigMap) { c.Data["k"] = "v2" },
		changed: func(c *corev1.ConfigMap) bool { return c.GetData()["k"] == "v2" },
	})
	runCRUD(t, ts, ns, crudCase[*coordinationv1.Lease]{
		path: nsPath("coordination.k8s.io/v1", "leases"),
		obj: func(n string) *coordinationv1.Lease {
			holder, d := "a", int32(15)
			return &coordinationv1.Lease{Metadata: meta(ns, n, nil), Spec: &coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &d, RenewTime: metav1.NowMicro()}}
		},
		mutate:  func(l *coordinationv1.Lease) { b := "b"; l.Spec.HolderIdentity = &b },
		changed: func(l *coordinationv1.Lease) bool { return l.GetSpec().GetHolderIdentity() == "b" },
	})
	runCRUD(t, ts, "", crudCase[*corev1.Node]{
		path: "/api/v1/nodes", obj: func(n string) *corev1.Node { return &corev1.Node{Metadata: meta("", n, nil)} },
		mutate: labelled[*corev1.Node], changed: isLabelled[*corev1.Node],
	})
	runCRUD(t, ts, "", crudCase[*corev1.Namespace]{
		path: "/api/v1/namespaces", obj: func(n string) *corev1.Namespace { return &corev1.Namespace{Metadata: meta("", n, nil)} },
		mutate: labelled[*corev1.Namespace], changed: isLabelled[*corev1.Namespace],
		deleted: func(t *testing.T, name string) { releaseNamespace(t, ts.Client, name) },
	})
	t.Run("AlreadyExists", func(t *testing.T) {
		ctx := ctxFor(t)
		if _, err := ts.Client.ConfigMaps(ns).Create(ctx, newConfigMap(ns, "dup", nil)); err != nil {
			t.Fatal(err)
		}
		_, err := ts.Client.ConfigMaps(ns).Create(ctx, newConfigMap(ns, "dup", nil))
		if !apierrors.IsAlreadyExists(err) || apierrors.CodeForError(err) != http.StatusConflict {
			t.Fatalf("want AlreadyExists 409, got %v", err)
		}
		do(t, ts, "POST", nsPath("", "configmaps"), newConfigMap(ns, "dup", nil)).
			expectStatus(t, http.StatusConflict, "AlreadyExists", `configmaps "dup" already exists`)
	})
}

// TestConflict: an update carrying a stale resourceVersion is refused with 409 Conflict;
// one without a resourceVersion overwrites.
func TestConflict(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "conflict")
	ctx := ctxFor(t)
	cms := ts.Client.ConfigMaps(ns)
	v1, err := cms.Create(ctx, newConfigMap(ns, "cm", map[string]string{"v": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	v2 := proto.Clone(v1).(*corev1.ConfigMap)
	v2.Data["v"] = "2"
	if v2, err = cms.Update(ctx, v2); err != nil {
		t.Fatal(err)
	}
	stale := proto.Clone(v1).(*corev1.ConfigMap)
	stale.Data["v"] = "stale"
	_, err = cms.Update(ctx, stale)
	if !apierrors.IsConflict(err) || apierrors.ReasonForError(err) != "Conflict" || apierrors.CodeForError(err) != http.StatusConflict {
		t.Fatalf("grpc update with stale rv: want 409 Conflict, got %v", err)
	}
	path := "/api/v1/namespaces/" + ns + "/configmaps/cm"
	do(t, ts, "PUT", path, stale).expectStatus(t, http.StatusConflict, "Conflict",
		`Operation cannot be fulfilled on configmaps "cm"`, "the object has been modified")
	// Delete with a stale precondition is refused as well.
	_, err = ts.Client.ConfigMaps(ns).Get(ctx, "cm")
	if err != nil {
		t.Fatal(err)
	}
	err = cms.Delete(ctx, "cm", &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: proto.String(v1.Metadata.ResourceVersion)}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("delete with stale precondition: want Conflict, got %v", err)
	}
	got, err := cms.Get(ctx, "cm")
	if err != nil || got.Data["v"] != "2" {
		t.Fatalf("the refused writes changed the object: %v %v", err, got)
	}

	// Unconditional updates (no resourceVersion) win over whatever is stored.
	for i, via := range []string{"grpc", "rest"} {
		u := proto.Clone(stale).(*corev1.ConfigMap)
		u.Metadata.ResourceVersion = ""
		u.Data["v"] = fmt.Sprint("unconditional-", i)
		switch via {
		case "grpc":
			if _, err := cms.Update(ctx, u); err != nil {
				t.Fatalf("grpc unconditional update: %v", err)
			}
		case "rest":
			do(t, ts, "PUT", path, u).expect(t, http.StatusOK, "REST unconditional update")
		}
		got, err := cms.Get(ctx, "cm")
		if err != nil || got.Data["v"] != u.Data["v"] {
			t.Fatalf("%s unconditional update not stored: %v %v", via, err, got)
		}
	}
	// The current resourceVersion works.
	got, _ = cms.Get(ctx, "cm")
	got.Data["v"] = "fresh"
	if _, err := cms.Update(ctx, got); err != nil {
		t.Fatalf("update with the current rv: %v", err)
	}
}

// TestRESTErrors: the errors a user meets on malformed paths and requests.
func TestRESTErrors(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "errs")
	base := "/api/v1/namespaces/" + ns + "/configmaps"
	do(t, ts, "PUT", base+"/missing", newConfigMap(ns, "missing", nil)).expectStatus(t, http.StatusNotFound, "NotFound", `configmaps "missing" not found`)
	mustCreate(t, ts.Client.ConfigMaps(ns), newConfigMap(ns, "cm", nil))
	do(t, ts, "PUT", base+"/cm", newConfigMap(ns, "other", nil)).expectStatus(t, http.StatusBadRequest, "BadRequest", "does not match the name")
	do(t, ts, "GET", "/api/v1/configmaps/cm", nil).expectStatus(t, http.StatusBadRequest, "BadRequest", "namespace")
	do(t, ts, "GET", "/api/v1/namespaces/"+ns+"/nodes", nil).expectStatus(t, http.StatusNotFound, "NotFound")
	do(t, ts, "GET", base+"/cm/nosuchsub", nil).expectStatus(t, http.StatusNotFound, "NotFound")
	do(t, ts, "GET", base+"?limit=abc", nil).expectStatus(t, http.StatusBadRequest, "BadRequest", "limit")
	do(t, ts, "DELETE", base+"/cm?propagationPolicy=Sometimes", nil).expectStatus(t, http.StatusBadRequest, "BadRequest", "propagationPolicy")
	do(t, ts, "GET", base+"?watch=true&labelSelector=a%3D%3D%3Db", nil).expectStatus(t, http.StatusBadRequest, "BadRequest", "labelSelector")
	_, err := ts.Client.ConfigMaps("").Create(ctxFor(t), newConfigMap("", "no-namespace", nil))
	if !apierrors.IsBadRequest(err) {
		t.Errorf("gRPC create without any namespace: want BadRequest, got %v", err)
	}
}
