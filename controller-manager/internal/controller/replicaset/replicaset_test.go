package replicaset_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/controllertest"
	"kube5/controller-manager/internal/controller/replicaset"
)

func start(t *testing.T, ctor controller.Constructor) (*apiservertest.Server, context.Context) {
	t.Helper()
	s := apiservertest.Start(t)
	controllertest.Start(t, s.Client, []controller.Constructor{ctor}, 5)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return s, ctx
}

func template(app string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}},
	}
}

func newRS(name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &appsv1.ReplicaSetSpec{
			Replicas: proto.Int32(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: template(name),
		},
	}
}

// waitFor polls cond until it holds or the timeout passes; the last message explains a
// failure.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pods(t *testing.T, ctx context.Context, cs *client.Clientset, app string) []*corev1.Pod {
	t.Helper()
	l, err := cs.Pods("default").List(ctx, client.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func waitPods(t *testing.T, ctx context.Context, cs *client.Clientset, app string, n int, timeout time.Duration) []*corev1.Pod {
	t.Helper()
	var got []*corev1.Pod
	waitFor(t, timeout, fmt.Sprintf("%d pods of %s", n, app), func() (bool, string) {
		got = pods(t, ctx, cs, app)
		return len(got) == n, fmt.Sprintf("have %d", len(got))
	})
	return got
}

// scaleRS sets replicas, retrying when the controller's status writes conflict.
func scaleRS(t *testing.T, ctx context.Context, cs *client.Clientset, name string, n int32) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		cur, err := cs.ReplicaSets("default").Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		cur.Spec.Replicas = proto.Int32(n)
		if _, err = cs.ReplicaSets("default").Update(ctx, cur); err == nil {
			return
		}
		if !apierrors.IsConflict(err) || attempt > 20 {
			t.Fatal(err)
		}
	}
}

var podName = regexp.MustCompile(`^web-[a-z0-9]{5}$`)

// A ReplicaSet keeps its replicas: pods named <rs>-<5 chars>, owned with controller and
// blockOwnerDeletion, a deleted pod replaced, the status counted, events recorded.
func TestReplicaSetKeepsReplicas(t *testing.T) {
	s, ctx := start(t, replicaset.NewReplicaSet)
	cs := s.Client
	rs, err := cs.ReplicaSets("default").Create(ctx, newRS("web", 3))
	if err != nil {
		t.Fatal(err)
	}
	got := waitPods(t, ctx, cs, "web", 3, 20*time.Second)
	for _, p := range got {
		if !podName.MatchString(p.GetMetadata().GetName()) {
			t.Errorf("pod name %q, want web-<5 chars>", p.GetMetadata().GetName())
		}
		refs := p.GetMetadata().GetOwnerReferences()
		if len(refs) != 1 || refs[0].GetUid() != rs.GetMetadata().GetUid() || !refs[0].GetController() ||
			!refs[0].GetBlockOwnerDeletion() || refs[0].GetKind() != "ReplicaSet" || refs[0].GetApiVersion() != "apps/v1" {
			t.Errorf("pod %s ownerReferences %v", p.GetMetadata().GetName(), refs)
		}
	}
	victim := got[0].GetMetadata().GetName()
	if err := cs.Pods("default").Delete(ctx, victim, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the deleted pod replaced", func() (bool, string) {
		cur := pods(t, ctx, cs, "web")
		for _, p := range cur {
			if p.GetMetadata().GetName() == victim {
				return false, "victim still listed"
			}
		}
		return len(cur) == 3, fmt.Sprintf("%d pods", len(cur))
	})
	for _, p := range pods(t, ctx, cs, "web")[:2] {
		if err := controllertest.MarkPodReady(ctx, cs, p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "status", func() (bool, string) {
		cur, err := cs.ReplicaSets("default").Get(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		st := cur.GetStatus()
		return st.GetReplicas() == 3 && st.GetFullyLabeledReplicas() == 3 && st.GetReadyReplicas() == 2 &&
			st.GetAvailableReplicas() == 2 && st.GetObservedGeneration() == cur.GetMetadata().GetGeneration(), fmt.Sprint(st)
	})
	waitFor(t, 10*time.Second, "SuccessfulCreate and SuccessfulDelete-free events", func() (bool, string) {
		l, err := cs.Events("default").List(ctx, client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, e := range l.Items {
			if e.GetReason() == "SuccessfulCreate" && e.GetSource().GetComponent() == "replicaset-controller" &&
				strings.HasPrefix(e.GetMessage(), "Created pod: web-") {
				n++
			}
		}
		return n == 4, fmt.Sprintf("%d SuccessfulCreate events", n)
	})
}

// Orphans that match are adopted (so only the missing pods are created); a pod whose
// labels stop matching is released and replaced; scaling down deletes the not-ready pod
// first.
func TestReplicaSetAdoptReleaseAndScaleDownOrder(t *testing.T) {
	s, ctx := start(t, replicaset.NewReplicaSet)
	cs := s.Client
	orphan := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "orphan", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: template("web").GetSpec()}
	if _, err := cs.Pods("default").Create(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	rs, err := cs.ReplicaSets("default").Create(ctx, newRS("web", 3))
	if err != nil {
		t.Fatal(err)
	}
	got := waitPods(t, ctx, cs, "web", 3, 20*time.Second)
	waitFor(t, 10*time.Second, "orphan adopted", func() (bool, string) {
		p, err := cs.Pods("default").Get(ctx, "orphan")
		if err != nil {
			return false, err.Error()
		}
		refs := p.GetMetadata().GetOwnerReferences()
		return len(refs) == 1 && refs[0].GetUid() == rs.GetMetadata().GetUid() && refs[0].GetController(), fmt.Sprint(refs)
	})
	if n := len(pods(t, ctx, cs, "web")); n != 3 {
		t.Fatalf("%d pods after adoption, want 3 (the orphan counts)", n)
	}
	// Release: relabel the orphan.
	for attempt := 0; ; attempt++ {
		p, err := cs.Pods("default").Get(ctx, "orphan")
		if err != nil {
			t.Fatal(err)
		}
		p.Metadata.Labels = map[string]string{"app": "other"}
		if _, err = cs.Pods("default").Update(ctx, p); err == nil {
			break
		}
		if !apierrors.IsConflict(err) || attempt > 20 {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "relabelled pod released and replaced", func() (bool, string) {
		p, err := cs.Pods("default").Get(ctx, "orphan")
		if err != nil {
			return false, err.Error()
		}
		n := len(pods(t, ctx, cs, "web"))
		return len(p.GetMetadata().GetOwnerReferences()) == 0 && n == 3, fmt.Sprintf("refs %v, %d pods", p.GetMetadata().GetOwnerReferences(), n)
	})
	// Scale down 3 -> 2 with two pods ready: the not-ready one goes.
	got = pods(t, ctx, cs, "web")
	ready := map[string]bool{}
	for _, p := range got[:2] {
		if err := controllertest.MarkPodReady(ctx, cs, p); err != nil {
			t.Fatal(err)
		}
		ready[p.GetMetadata().GetName()] = true
	}
	waitFor(t, 10*time.Second, "ready count", func() (bool, string) {
		cur, _ := cs.ReplicaSets("default").Get(ctx, "web")
		return cur.GetStatus().GetReadyReplicas() == 2, fmt.Sprint(cur.GetStatus())
	})
	scaleRS(t, ctx, cs, "web", 2)
	left := waitPods(t, ctx, cs, "web", 2, 10*time.Second)
	for _, p := range left {
		if !ready[p.GetMetadata().GetName()] {
			t.Errorf("kept not-ready pod %s; the not-ready one should go first", p.GetMetadata().GetName())
		}
	}
}

// 0 -> 1000 -> 0 in bounded time, never more than 1000 pods, in slow-start batches.
func TestReplicaSetScale1000(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	s, ctx := start(t, replicaset.NewReplicaSet)
	cs := s.Client
	if _, err := cs.ReplicaSets("default").Create(ctx, newRS("big", 0)); err != nil {
		t.Fatal(err)
	}
	// Count creations through a watch: the number of pods must never exceed 1000.
	w, err := cs.Pods("default").Watch(ctx, client.ListOptions{LabelSelector: "app=big"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	peak := make(chan int, 1)
	go func() {
		live, most := 0, 0
		for ev := range w.ResultChan() {
			switch ev.Type {
			case client.Added:
				live++
			case client.Deleted:
				live--
			}
			most = max(most, live)
		}
		peak <- most
	}()
	scale := func(n int32) { scaleRS(t, ctx, cs, "big", n) }
	begin := time.Now()
	scale(1000)
	waitFor(t, 90*time.Second, "1000 pods and status", func() (bool, string) {
		cur, _ := cs.ReplicaSets("default").Get(ctx, "big")
		return cur.GetStatus().GetReplicas() == 1000, fmt.Sprint(cur.GetStatus())
	})
	t.Logf("scaled 0 -> 1000 in %v", time.Since(begin))
	if n := len(pods(t, ctx, cs, "big")); n != 1000 {
		t.Fatalf("%d pods, want 1000", n)
	}
	begin = time.Now()
	scale(0)
	waitPods(t, ctx, cs, "big", 0, 90*time.Second)
	t.Logf("scaled 1000 -> 0 in %v", time.Since(begin))
	w.Stop()
	if most := <-peak; most > 1000 {
		t.Fatalf("peak %d pods, want at most 1000", most)
	}
}

// A ReplicationController (map selector) is served by the same controller.
func TestReplicationController(t *testing.T) {
	s, ctx := start(t, replicaset.NewReplicationController)
	cs := s.Client
	rc := &corev1.ReplicationController{
		Metadata: &metav1.ObjectMeta{Name: "rc", Namespace: "default"},
		Spec: &corev1.ReplicationControllerSpec{
			Replicas: proto.Int32(2), MinReadySeconds: 1,
			Selector: map[string]string{"app": "rc"},
			Template: template("rc"),
		},
	}
	created, err := cs.ReplicationControllers("default").Create(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	got := waitPods(t, ctx, cs, "rc", 2, 20*time.Second)
	for _, p := range got {
		ref := p.GetMetadata().GetOwnerReferences()[0]
		if ref.GetKind() != "ReplicationController" || ref.GetApiVersion() != "v1" || ref.GetUid() != created.GetMetadata().GetUid() {
			t.Errorf("ownerReference %v", ref)
		}
		if err := controllertest.MarkPodReady(ctx, cs, p); err != nil {
			t.Fatal(err)
		}
	}
	// minReadySeconds: ready at once, available a second later.
	waitFor(t, 20*time.Second, "available after minReadySeconds", func() (bool, string) {
		cur, _ := cs.ReplicationControllers("default").Get(ctx, "rc")
		st := cur.GetStatus()
		return st.GetReplicas() == 2 && st.GetReadyReplicas() == 2 && st.GetAvailableReplicas() == 2, fmt.Sprint(st)
	})
}
