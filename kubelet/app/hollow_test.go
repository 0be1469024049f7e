package app

import (
	"context"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/kubeconfig"

	"kube5/kubelet/app/options"
)

// TestHollowNodes runs 20 hollow kubelets in one process: they register, keep leases, and
// run pods bound to them (Running with an IP of their podCIDR) without running anything.
func TestHollowNodes(t *testing.T) {
	api := apiservertest.Start(t)
	cs := api.Client
	kc := &kubeconfig.Config{}
	kc.SetCluster("t", api.URL)
	kc.SetContext("t", "t", "", "")
	kc.CurrentContextName = "t"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := kc.Save(path); err != nil {
		t.Fatal(err)
	}
	o := options.New()
	o.Kubeconfig, o.HostnameOverride, o.HollowNodes, o.NodeIP = path, "hollow", 20, "127.0.0.1"
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Setup(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	poll("20 nodes and leases", func() bool {
		n, err1 := cs.Nodes().List(ctx, client.ListOptions{})
		l, err2 := cs.Leases("kube-node-lease").List(ctx, client.ListOptions{})
		return err1 == nil && err2 == nil && len(n.Items) == 20 && len(l.Items) == 20
	})
	for i := range 5 {
		p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p" + strconv.Itoa(i), Namespace: "default"},
			Spec: &corev1.PodSpec{NodeName: "hollow-7", Containers: []*corev1.Container{{Name: "c", Image: "anything:1"}}}}
		if _, err := cs.Pods("default").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Bound before the node has a podCIDR, the pods wait for it (ContainerCreating, no
	// IP) instead of starting on a network no other node routes to.
	poll("5 pods reported ContainerCreating without an IP", func() bool {
		l, err := cs.Pods("default").List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=hollow-7"})
		if err != nil || len(l.Items) != 5 {
			return false
		}
		for _, p := range l.Items {
			cs := p.GetStatus().GetContainerStatuses()
			if p.GetStatus().GetPodIp() != "" || len(cs) != 1 || cs[0].GetState().GetWaiting().GetReason() != "ContainerCreating" {
				return false
			}
		}
		return true
	})
	// As the controller-manager would: a podCIDR for hollow-7.
	poll("the podCIDR set", func() bool { // the kubelet updates the status meanwhile: retry conflicts
		n, err := cs.Nodes().Get(ctx, "hollow-7")
		if err != nil {
			return false
		}
		n.Spec.PodCidr = "10.244.77.0/24"
		_, err = cs.Nodes().Update(ctx, n)
		return err == nil
	})
	k := s.Kubelets()[7]
	poll("the podCIDR seen", func() bool { return k.PodNetwork() != "" })
	poll("5 pods Running with podCIDR IPs", func() bool {
		l, err := cs.Pods("default").List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=hollow-7"})
		if err != nil || len(l.Items) != 5 {
			return false
		}
		for _, p := range l.Items {
			ip, err := netip.ParseAddr(p.GetStatus().GetPodIp())
			if p.GetStatus().GetPhase() != "Running" || err != nil || !netip.MustParsePrefix("10.244.77.0/24").Contains(ip) {
				return false
			}
		}
		return true
	})
	if err := cs.Pods("default").Delete(ctx, "p0", nil); err != nil {
		t.Fatal(err)
	}
	poll("p0 deleted by its hollow kubelet", func() bool {
		_, err := cs.Pods("default").Get(ctx, "p0")
		return err != nil
	})
}
