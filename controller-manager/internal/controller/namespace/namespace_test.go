package namespace

import (
	"context"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

func TestNamespaceDeletionCascade(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := informer.NewFactory(cs, 0)
	c, err := New(&controller.Context{Client: cs, Informers: f})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx)
	go c.Run(ctx, 2)

	const ns = "doomed"
	if _, err := cs.Namespaces().Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	meta := func(name string) *metav1.ObjectMeta { return &metav1.ObjectMeta{Name: name, Namespace: ns} }
	spec := &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cs.ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{Metadata: meta("cfg")}))
	must(cs.Secrets(ns).Create(ctx, &corev1.Secret{Metadata: meta("sec")}))
	must(cs.ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{Metadata: meta("default")}))
	must(cs.Services(ns).Create(ctx, &corev1.Service{Metadata: meta("svc"), Spec: &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80}}}}))
	must(cs.Pods(ns).Create(ctx, &corev1.Pod{Metadata: meta("unbound"), Spec: spec}))
	// A pod on a node takes its grace period: the namespace waits for it.
	bound := &corev1.Pod{Metadata: meta("bound"), Spec: &corev1.PodSpec{NodeName: "node-1", Containers: spec.Containers}}
	must(cs.Pods(ns).Create(ctx, bound))
	// Another namespace is not touched.
	must(cs.ConfigMaps("default").Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "keep", Namespace: "default"}}))

	if err := cs.Namespaces().Delete(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	got, err := cs.Namespaces().Get(ctx, ns)
	if err != nil {
		t.Fatalf("namespace gone at once: %v", err)
	}
	if got.GetStatus().GetPhase() != "Terminating" {
		t.Errorf("phase = %q, want Terminating", got.GetStatus().GetPhase())
	}
	if _, err := cs.ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{Metadata: meta("late")}); !apierrors.IsForbidden(err) {
		t.Errorf("create in a terminating namespace: %v, want Forbidden", err)
	}

	// Everything but the terminating pod goes.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := 0
		for _, r := range Resources() {
			l, err := cs.Resource(r, ns).List(ctx, client.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			left += len(l.Items)
		}
		p, err := cs.Pods(ns).Get(ctx, "bound")
		if err != nil {
			t.Fatalf("bound pod: %v", err)
		}
		if left == 1 && p.GetMetadata().GetDeletionTimestamp() != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d objects left in %s", left, ns)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := cs.Namespaces().Get(ctx, ns); err != nil {
		t.Fatalf("namespace removed while a pod is terminating: %v", err)
	}
	// The kubelet finishes the pod: the namespace goes.
	zero := int64(0)
	if err := cs.Pods(ns).Delete(ctx, "bound", &metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := cs.Namespaces().Get(ctx, ns)
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace still there: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := cs.ConfigMaps("default").Get(ctx, "keep"); err != nil {
		t.Errorf("other namespace touched: %v", err)
	}
	// The name can be used again.
	if _, err := cs.Namespaces().Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
}
