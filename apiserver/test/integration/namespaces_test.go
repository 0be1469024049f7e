package integration

import (
	"net/http"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

// TestNamespaces: the system namespaces exist from the start (and once only, across a
// restart); content cannot be created in a missing namespace (404) nor in a terminating
// one (403); a deleted namespace is Terminating until its finalizers are done.
func TestNamespaces(t *testing.T) {
	ts := start(t)
	ctx := ctxFor(t)
	checkSystem := func() {
		t.Helper()
		l, err := ts.Client.Namespaces().List(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, ns := range l.Items {
			seen[ns.Metadata.Name]++
		}
		for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
			if seen[name] != 1 {
				t.Errorf("namespace %s listed %d times, want once", name, seen[name])
			}
			ns, err := ts.Client.Namespaces().Get(ctx, name)
			if err != nil {
				t.Fatalf("namespace %s: %v", name, err)
			}
			if ns.GetStatus().GetPhase() != "Active" || ns.Metadata.Labels["kubernetes.io/metadata.name"] != name ||
				!sameStrings(ns.GetSpec().GetFinalizers(), []string{"kubernetes"}) {
				t.Errorf("namespace %s: phase %q labels %v finalizers %v", name, ns.GetStatus().GetPhase(), ns.Metadata.Labels, ns.GetSpec().GetFinalizers())
			}
		}
	}
	checkSystem()
	ts.Restart(t)
	checkSystem()
	do(t, ts, "GET", "/api/v1/namespaces/kube-system", nil).expect(t, http.StatusOK, "GET kube-system")

	// The namespaces every cluster needs cannot be deleted (upstream's message); they stay.
	for _, name := range []string{"default", "kube-system", "kube-public"} {
		do(t, ts, "DELETE", "/api/v1/namespaces/"+name, nil).
			expectStatus(t, http.StatusForbidden, "Forbidden", `namespaces "`+name+`" is forbidden: this namespace may not be deleted`)
		if err := ts.Client.Namespaces().Delete(ctx, name, nil); !apierrors.IsForbidden(err) {
			t.Fatalf("delete namespace %s over gRPC: want Forbidden, got %v", name, err)
		}
	}
	checkSystem()

	t.Run("missing namespace", func(t *testing.T) {
		_, err := ts.Client.ConfigMaps("nope").Create(ctx, newConfigMap("nope", "cm", nil))
		if !apierrors.IsNotFound(err) {
			t.Fatalf("create in a missing namespace over gRPC: want NotFound, got %v", err)
		}
		do(t, ts, "POST", "/api/v1/namespaces/nope/pods", newPod("nope", "p", nil)).
			expectStatus(t, http.StatusNotFound, "NotFound", `namespaces "nope" not found`)
	})

	t.Run("terminating namespace", func(t *testing.T) {
		ns := newNamespace(t, ts.Client, "ending")
		mustCreate(t, ts.Client.ConfigMaps(ns), newConfigMap(ns, "kept", nil))
		r := do(t, ts, "DELETE", "/api/v1/namespaces/"+ns, nil).expect(t, http.StatusOK, "DELETE namespace")
		got, err := ts.Client.Namespaces().Get(ctx, ns)
		if err != nil {
			t.Fatalf("a deleted namespace must stay Terminating while spec.finalizers holds it: %v", err)
		}
		out := &corev1.Namespace{}
		r.object(t, out)
		if out.Metadata.DeletionTimestamp == nil {
			t.Errorf("DELETE answered the namespace without deletionTimestamp")
		}
		if got.Metadata.DeletionTimestamp == nil || got.GetStatus().GetPhase() != "Terminating" {
			t.Fatalf("deleted namespace: deletionTimestamp %v phase %q, want set and Terminating", got.Metadata.DeletionTimestamp, got.GetStatus().GetPhase())
		}
		_, err = ts.Client.ConfigMaps(ns).Create(ctx, newConfigMap(ns, "late", nil))
		if !apierrors.IsForbidden(err) {
			t.Fatalf("create in a terminating namespace over gRPC: want Forbidden, got %v", err)
		}
		do(t, ts, "POST", "/api/v1/namespaces/"+ns+"/configmaps", newConfigMap(ns, "late", nil)).
			expectStatus(t, http.StatusForbidden, "Forbidden", "because it is being terminated")
		// What was there stays readable and deletable.
		if _, err := ts.Client.ConfigMaps(ns).Get(ctx, "kept"); err != nil {
			t.Fatalf("get in a terminating namespace: %v", err)
		}
		if err := ts.Client.ConfigMaps(ns).Delete(ctx, "kept", nil); err != nil {
			t.Fatalf("delete in a terminating namespace: %v", err)
		}
		// A second delete changes nothing; removing the "kubernetes" finalizer (what the
		// namespace controller does once the namespace is empty) removes it.
		if err := ts.Client.Namespaces().Delete(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		releaseNamespace(t, ts.Client, ns)
	})

	t.Run("namespace held by a finalizer", func(t *testing.T) {
		ns := newNamespace(t, ts.Client, "held")
		n, err := ts.Client.Namespaces().Get(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		n.Metadata.Finalizers = []string{"example.com/hold"}
		if _, err := ts.Client.Namespaces().Update(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := ts.Client.Namespaces().Delete(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		if n, err = ts.Client.Namespaces().Get(ctx, ns); err != nil || n.Metadata.DeletionTimestamp == nil {
			t.Fatalf("a namespace with a finalizer: %v, deletionTimestamp %v", err, n.GetMetadata().GetDeletionTimestamp())
		}
		do(t, ts, "POST", "/api/v1/namespaces/"+ns+"/pods", newPod(ns, "p", nil)).
			expectStatus(t, http.StatusForbidden, "Forbidden", "because it is being terminated")
		n = proto.Clone(n).(*corev1.Namespace)
		n.Metadata.Finalizers = nil
		if _, err := ts.Client.Namespaces().Update(ctx, n); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFinalizers: an object with finalizers is only marked deleted; it goes when the
// last finalizer is removed; no finalizer may be added meanwhile.
func TestFinalizers(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "fin")
	ctx := ctxFor(t)
	cms := ts.Client.ConfigMaps(ns)
	cm := newConfigMap(ns, "held", map[string]string{"k": "v"})
	cm.Metadata.Finalizers = []string{"example.com/a", "example.com/b"}
	mustCreate(t, cms, cm)
	l, _ := cms.List(ctx, client.ListOptions{})
	w := grpcWatch(t, cms, client.ListOptions{ResourceVersion: l.ResourceVersion})

	path := "/api/v1/namespaces/" + ns + "/configmaps/held"
	out := &corev1.ConfigMap{}
	do(t, ts, "DELETE", path, nil).expect(t, http.StatusOK, "DELETE").object(t, out)
	if out.Metadata.DeletionTimestamp == nil {
		t.Fatalf("DELETE of an object with finalizers answered it without deletionTimestamp: %v", out.Metadata)
	}
	cur, err := cms.Get(ctx, "held")
	if err != nil || cur.Metadata.DeletionTimestamp == nil {
		t.Fatalf("after delete: %v, deletionTimestamp %v", err, cur.GetMetadata().GetDeletionTimestamp())
	}
	// No new finalizers on an object being deleted.
	add := proto.Clone(cur).(*corev1.ConfigMap)
	add.Metadata.Finalizers = append(add.Metadata.Finalizers, "example.com/c")
	if _, err := cms.Update(ctx, add); !apierrors.IsInvalid(err) || !hasCause(apierrors.StatusFor(err), "metadata.finalizers") {
		t.Fatalf("adding a finalizer during deletion: want Invalid naming metadata.finalizers, got %v", err)
	}
	// Removing one keeps it; removing the last deletes it.
	cur.Metadata.Finalizers = []string{"example.com/b"}
	if cur, err = cms.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held"); err != nil {
		t.Fatalf("removed while a finalizer is left: %v", err)
	}
	cur.Metadata.Finalizers = nil
	if _, err := cms.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held"); !apierrors.IsNotFound(err) {
		t.Fatalf("after the last finalizer: want NotFound, got %v", err)
	}
	w.expect(t, "watch of a finalized object", "MODIFIED held", "MODIFIED held", "MODIFIED held", "DELETED held")
}

// releaseNamespace removes the spec.finalizers of a terminating namespace, as the
// namespace controller does once it is empty, and checks it is then gone.
func releaseNamespace(t *testing.T, cs *client.Clientset, name string) {
	t.Helper()
	ctx := ctxFor(t)
	n, err := cs.Namespaces().Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if n.GetStatus().GetPhase() != "Terminating" {
		t.Fatalf("namespace %s: phase %q, want Terminating", name, n.GetStatus().GetPhase())
	}
	n.Spec.Finalizers = nil
	if _, err := cs.Namespaces().Update(ctx, n); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("releasing namespace %s: %v", name, err)
	}
	if _, err := cs.Namespaces().Get(ctx, name); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s after its finalizers were removed: want NotFound, got %v", name, err)
	}
}
