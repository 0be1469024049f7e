package garbagecollector

import (
	"context"
	"testing"
	"time"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/informer"
	"kube5/proto/scheme"

	"kube5/controller-manager/internal/controller"
)

const ns = "default"

type env struct {
	t   *testing.T
	cs  *client.Clientset
	ctx context.Context
}

func startGC(t *testing.T, cs *client.Clientset) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	f := informer.NewFactory(cs, 0)
	c, err := New(&controller.Context{Client: cs, Informers: f})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx)
	done := make(chan struct{})
	go func() { c.Run(ctx, 3); close(done) }()
	return func() { cancel(); <-done; f.Shutdown() }
}

func ref(o scheme.Object, block bool) *metav1.OwnerReference {
	res, _ := scheme.For(o)
	t := true
	r := &metav1.OwnerReference{ApiVersion: res.GroupVersion(), Kind: res.Kind, Name: o.GetMetadata().GetName(), Uid: o.GetMetadata().GetUid()}
	if block {
		r.BlockOwnerDeletion, r.Controller = &t, &t
	}
	return r
}

var tmpl = &corev1.PodTemplateSpec{
	Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
	Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "kube5/httpenv:1.0"}}},
}

func (e *env) deployment(name string) *appsv1.Deployment {
	e.t.Helper()
	d, err := e.cs.Deployments(ns).Create(e.ctx, &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: &appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: tmpl}})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) replicaSet(name string, owners ...*metav1.OwnerReference) *appsv1.ReplicaSet {
	e.t.Helper()
	rs, err := e.cs.ReplicaSets(ns).Create(e.ctx, &appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: owners},
		Spec: &appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: tmpl}})
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func (e *env) pod(name, node string, owners ...*metav1.OwnerReference) *corev1.Pod {
	e.t.Helper()
	p, err := e.cs.Pods(ns).Create(e.ctx, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: owners},
		Spec: &corev1.PodSpec{NodeName: node, Containers: tmpl.Spec.Containers}})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) configMap(name string, owners ...*metav1.OwnerReference) *corev1.ConfigMap {
	e.t.Helper()
	c, err := e.cs.ConfigMaps(ns).Create(e.ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: owners}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) del(o scheme.Object, policy string) {
	e.t.Helper()
	res, _ := scheme.For(o)
	var opts *metav1.DeleteOptions
	if policy != "" {
		opts = &metav1.DeleteOptions{PropagationPolicy: &policy}
	}
	if err := e.cs.Resource(res, ns).Delete(e.ctx, o.GetMetadata().GetName(), opts); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) exists(o scheme.Object) bool {
	e.t.Helper()
	res, _ := scheme.For(o)
	cur, err := e.cs.Resource(res, ns).Get(e.ctx, o.GetMetadata().GetName())
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return cur.GetMetadata().GetUid() == o.GetMetadata().GetUid()
}

func (e *env) waitGone(objs ...scheme.Object) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, o := range objs {
		for e.exists(o) {
			if time.Now().After(deadline) {
				e.t.Fatalf("%s still exists", o.GetMetadata().GetName())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestGarbageCollector(t *testing.T) {
	s := apiservertest.Start(t)
	e := &env{t: t, cs: s.Client, ctx: context.Background()}

	// Dependents whose owner vanished while no collector ran are collected at start;
	// an owner referenced by the wrong uid counts as gone.
	ghost := &metav1.OwnerReference{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "ghost", Uid: "no-such-uid"}
	early := e.pod("early-orphan", "", ghost)
	live := e.replicaSet("live")
	wrongUID := *ref(live, true)
	wrongUID.Uid = "stale-uid"
	stale := e.pod("stale-ref", "", &wrongUID)
	kept := e.pod("kept", "", ref(live, true))

	stop := startGC(t, s.Client)
	defer func() { stop() }()
	e.waitGone(early, stale)
	if !e.exists(kept) {
		t.Fatal("pod with a live owner collected")
	}

	t.Run("background: delete deployment removes replica sets and pods", func(t *testing.T) {
		e := &env{t: t, cs: s.Client, ctx: context.Background()}
		d := e.deployment("web")
		rs := e.replicaSet("web-1", ref(d, true))
		p1, p2 := e.pod("web-1-a", "", ref(rs, true)), e.pod("web-1-b", "", ref(rs, true))
		e.del(d, "")
		e.waitGone(d, rs, p1, p2)
	})

	t.Run("foreground: owner stays until blocking dependents are gone", func(t *testing.T) {
		e := &env{t: t, cs: s.Client, ctx: context.Background()}
		d := e.deployment("fg")
		rs := e.replicaSet("fg-1", ref(d, true))
		unbound := e.pod("fg-1-a", "", ref(rs, true))
		bound := e.pod("fg-1-b", "node-1", ref(rs, true)) // graceful: terminates until the kubelet is done
		e.del(d, "Foreground")
		e.waitGone(unbound)
		deadline := time.Now().Add(5 * time.Second)
		for {
			p, err := e.cs.Pods(ns).Get(e.ctx, "fg-1-b")
			if err != nil {
				t.Fatal(err)
			}
			if p.GetMetadata().GetDeletionTimestamp() != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("bound pod not deleted")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cur, err := e.cs.Deployments(ns).Get(e.ctx, "fg")
		if err != nil || cur.GetMetadata().GetDeletionTimestamp() == nil {
			t.Fatalf("deployment gone before its pods: %v", err)
		}
		if !e.exists(rs) {
			t.Fatal("replica set gone before its pods")
		}
		// The kubelet finishes the pod: the replica set goes, then the deployment.
		zero := int64(0)
		if err := e.cs.Pods(ns).Delete(e.ctx, "fg-1-b", &metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
		e.waitGone(bound, rs, d)
	})

	t.Run("foreground: non-blocking dependents are deleted but not waited for", func(t *testing.T) {
		e := &env{t: t, cs: s.Client, ctx: context.Background()}
		owner := e.configMap("fg-owner")
		e.pod("fg-loose", "node-1", ref(owner, false))
		e.del(owner, "Foreground")
		e.waitGone(owner) // not held by the graceful pod
		deadline := time.Now().Add(5 * time.Second)
		for {
			p, err := e.cs.Pods(ns).Get(e.ctx, "fg-loose")
			if apierrors.IsNotFound(err) || (err == nil && p.GetMetadata().GetDeletionTimestamp() != nil) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("non-blocking dependent not deleted: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("orphan: dependents stay without the owner reference", func(t *testing.T) {
		e := &env{t: t, cs: s.Client, ctx: context.Background()}
		rs := e.replicaSet("orphaner")
		other := e.configMap("other-owner")
		p1 := e.pod("orphan-a", "", ref(rs, true))
		p2 := e.pod("orphan-b", "", ref(rs, true), ref(other, false))
		e.del(rs, "Orphan")
		e.waitGone(rs)
		for _, p := range []*corev1.Pod{p1, p2} {
			cur, err := e.cs.Pods(ns).Get(e.ctx, p.Metadata.Name)
			if err != nil {
				t.Fatalf("%s deleted: %v", p.Metadata.Name, err)
			}
			for _, r := range cur.GetMetadata().GetOwnerReferences() {
				if r.GetUid() == rs.Metadata.Uid {
					t.Errorf("%s still references the replica set", p.Metadata.Name)
				}
			}
		}
		if cur, _ := e.cs.Pods(ns).Get(e.ctx, "orphan-b"); len(cur.GetMetadata().GetOwnerReferences()) != 1 {
			t.Errorf("orphan-b lost its other owner: %v", cur.GetMetadata().GetOwnerReferences())
		}
	})

	t.Run("two owners: the object lives while one does", func(t *testing.T) {
		e := &env{t: t, cs: s.Client, ctx: context.Background()}
		a, b := e.configMap("owner-a"), e.configMap("owner-b")
		p := e.pod("shared", "", ref(a, false), ref(b, false))
		e.del(a, "")
		deadline := time.Now().Add(5 * time.Second)
		for {
			cur, err := e.cs.Pods(ns).Get(e.ctx, "shared")
			if err != nil {
				t.Fatalf("shared pod deleted with one owner left: %v", err)
			}
			if len(cur.GetMetadata().GetOwnerReferences()) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("reference to the deleted owner not removed")
			}
			time.Sleep(20 * time.Millisecond)
		}
		e.del(b, "")
		e.waitGone(p)
	})

	t.Run("restart: deletions while the collector is down are caught up", func(t *testing.T) {
		e := &env{t: t, cs: s.Client, ctx: context.Background()}
		stop()
		rs := e.replicaSet("down")
		p := e.pod("down-a", "", ref(rs, true))
		e.del(rs, "")
		stop = startGC(t, s.Client)
		e.waitGone(p)
	})
}
