package serviceaccount

import (
	"context"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

func TestDefaultServiceAccount(t *testing.T) {
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
	go c.Run(ctx, 1)

	waitSA := func(ns string) *corev1.ServiceAccount {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if sa, err := cs.ServiceAccounts(ns).Get(ctx, "default"); err == nil {
				return sa
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no default service account in %s", ns)
		return nil
	}
	// Namespaces that exist at start, and new ones.
	waitSA("default")
	waitSA("kube-system")
	if _, err := cs.Namespaces().Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team-a"}}); err != nil {
		t.Fatal(err)
	}
	sa := waitSA("team-a")
	// Deleted: recreated (a new object).
	if err := cs.ServiceAccounts("team-a").Delete(ctx, "default", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		again, err := cs.ServiceAccounts("team-a").Get(ctx, "default")
		if err == nil && again.GetMetadata().GetUid() != sa.GetMetadata().GetUid() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("default service account not recreated")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Exactly one per namespace.
	list, err := cs.ServiceAccounts("").List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, sa := range list.Items {
		seen[sa.Metadata.Namespace+"/"+sa.Metadata.Name]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s: %d objects", k, n)
		}
	}
}
