package podgc

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

func mkPod(t *testing.T, cs *client.Clientset, name, node, phase string) {
	t.Helper()
	ctx := context.Background()
	p, err := cs.Pods("default").Create(ctx, &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:     &corev1.PodSpec{NodeName: node, Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if phase != "" {
		p.Status = &corev1.PodStatus{Phase: phase}
		if _, err := cs.Pods("default").UpdateStatus(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}

func podNames(t *testing.T, cs *client.Clientset) string {
	l, err := cs.Pods("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, p := range l.Items {
		names = append(names, p.Metadata.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func TestPodGC(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, n := range []string{"n1", "n2"} {
		if _, err := cs.Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	// Five finished pods, created in name order; threshold 3 keeps the newest three.
	for i := 0; i < 5; i++ {
		mkPod(t, cs, fmt.Sprintf("done-%d", i), "n1", []string{"Succeeded", "Failed"}[i%2])
	}
	mkPod(t, cs, "running", "n1", "Running")
	mkPod(t, cs, "orphan", "gone", "Running")
	mkPod(t, cs, "terminating", "n2", "Running")
	if err := cs.Pods("default").Delete(ctx, "terminating", nil); err != nil {
		t.Fatal(err)
	}

	f := informer.NewFactory(cs, 0)
	c, err := New(&controller.Context{Client: cs, Informers: f, Config: controller.Config{TerminatedPodGCThreshold: 3}})
	if err != nil {
		t.Fatal(err)
	}
	gc := c.(*Controller)
	gc.Period, gc.Quarantine = 50*time.Millisecond, 500*time.Millisecond
	f.Start(ctx)
	started := time.Now()
	go c.Run(ctx, 1)

	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		got := ""
		for time.Now().Before(deadline) {
			if got = podNames(t, cs); got == want {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("pods = %s, want %s", got, want)
	}
	wait("done-2,done-3,done-4,orphan,running,terminating")
	// The pod on the missing node goes only after the quarantine.
	wait("done-2,done-3,done-4,running,terminating")
	if d := time.Since(started); d < 500*time.Millisecond {
		t.Errorf("orphan deleted after %v, before the quarantine", d)
	}
	// The node of a terminating pod is deleted: the pod is force-deleted.
	if err := cs.Nodes().Delete(ctx, "n2", nil); err != nil {
		t.Fatal(err)
	}
	wait("done-2,done-3,done-4,running")
}

func TestExcessTerminated(t *testing.T) {
	mk := func(name string, sec int64, phase string, deleting bool) *corev1.Pod {
		p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, CreationTimestamp: &metav1.Time{Seconds: sec}}, Status: &corev1.PodStatus{Phase: phase}}
		if deleting {
			p.Metadata.DeletionTimestamp = metav1.Now()
		}
		return p
	}
	pods := []*corev1.Pod{mk("a", 5, "Failed", false), mk("b", 1, "Succeeded", false), mk("c", 3, "Running", false),
		mk("d", 2, "Failed", true), mk("e", 4, "Succeeded", false)}
	got := ExcessTerminated(pods, 1)
	var names []string
	for _, p := range got {
		names = append(names, p.Metadata.Name)
	}
	if strings.Join(names, ",") != "b,e" {
		t.Errorf("excess = %v, want b,e", names)
	}
	if len(ExcessTerminated(pods, 3)) != 0 {
		t.Error("nothing beyond threshold expected")
	}
}
