package nodeipam

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

func run(t *testing.T, cs *client.Clientset) (*Controller, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := informer.NewFactory(cs, 0)
	c, err := New(&controller.Context{Client: cs, Informers: f, Config: controller.Config{
		AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16", NodeCIDRMaskSize: 24,
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx)
	done := make(chan struct{})
	go func() { c.Run(ctx, 3); close(done) }()
	return c.(*Controller), func() { cancel(); <-done; f.Shutdown() }
}

func createNodes(t *testing.T, cs *client.Clientset, from, to int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, to-from)
	for i := from; i < to; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cs.Nodes().Create(context.Background(), &corev1.Node{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("node-%03d", i)}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitAllAllocated waits until every node has a podCIDR and checks they are unique /24s
// of the cluster CIDR with podCIDRs = [podCIDR].
func waitAllAllocated(t *testing.T, cs *client.Clientset, n int) map[string]string {
	t.Helper()
	_, cluster, _ := net.ParseCIDR("10.244.0.0/16")
	deadline := time.Now().Add(20 * time.Second)
	for {
		l, err := cs.Nodes().List(context.Background(), client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, node := range l.Items {
			if c := node.GetSpec().GetPodCidr(); c != "" {
				got[node.Metadata.Name] = c
				if len(node.Spec.PodCidrs) != 1 || node.Spec.PodCidrs[0] != c {
					t.Fatalf("%s: podCIDRs %v, podCIDR %s", node.Metadata.Name, node.Spec.PodCidrs, c)
				}
			}
		}
		if len(got) == n && len(l.Items) == n {
			seen := map[string]string{}
			for name, c := range got {
				ip, ipn, err := net.ParseCIDR(c)
				if err != nil || !cluster.Contains(ip) {
					t.Fatalf("%s: %s outside the cluster CIDR", name, c)
				}
				if ones, _ := ipn.Mask.Size(); ones != 24 {
					t.Fatalf("%s: %s is not a /24", name, c)
				}
				if other, dup := seen[c]; dup {
					t.Fatalf("%s and %s both have %s", name, other, c)
				}
				seen[c] = name
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d nodes have a podCIDR", len(got), len(l.Items))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAllocateUniqueAcrossRestart(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	c, stop := run(t, cs)
	createNodes(t, cs, 0, 50)
	first := waitAllAllocated(t, cs, 50)

	// Deleting a node releases its subnet.
	if err := cs.Nodes().Delete(context.Background(), "node-007", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		_, held := c.owner["node-007"]
		c.mu.Unlock()
		if !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("subnet of the deleted node not released")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()

	// Nodes created while no controller runs, then a new controller: it rebuilds the set
	// from the nodes and never hands out a subnet in use.
	createNodes(t, cs, 50, 60)
	_, stop2 := run(t, cs)
	defer stop2()
	after := waitAllAllocated(t, cs, 59)
	for name, c := range first {
		if name != "node-007" && after[name] != c {
			t.Errorf("%s changed from %s to %s", name, c, after[name])
		}
	}
}

func TestDisabled(t *testing.T) {
	c, err := New(&controller.Context{Config: controller.Config{AllocateNodeCIDRs: false}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(noop); !ok {
		t.Fatalf("got %T, want the no-op controller", c)
	}
	for _, cfg := range []controller.Config{
		{AllocateNodeCIDRs: true},
		{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0"},
		{AllocateNodeCIDRs: true, ClusterCIDR: "10.244.0.0/16", NodeCIDRMaskSize: 8},
	} {
		if _, err := New(&controller.Context{Config: cfg}); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
