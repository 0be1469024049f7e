package deployment_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/controllertest"
	"kube5/controller-manager/internal/controller/deployment"
	"kube5/controller-manager/internal/controller/replicaset"
)

// neverReady is an image the fake kubelet never makes ready.
const neverReady = "kube5/never-ready:1.0"

type env struct {
	s   *apiservertest.Server
	cs  *client.Clientset
	ctx context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	s := apiservertest.Start(t)
	controllertest.Start(t, s.Client, []controller.Constructor{deployment.New, replicaset.NewReplicaSet}, 5)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	controllertest.FakeKubelet(ctx, s.Client, "default", 30*time.Millisecond, func(p *corev1.Pod) bool {
		return p.GetSpec().GetContainers()[0].GetImage() == neverReady
	})
	return &env{s: s, cs: s.Client, ctx: ctx}
}

func newDeployment(name string, replicas int32, image string) *appsv1.Deployment {
	return &appsv1.Deployment{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &appsv1.DeploymentSpec{
			Replicas: proto.Int32(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
}

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

func (e *env) get(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := e.cs.Deployments("default").Get(e.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// update applies mutate to the current Deployment, retrying on conflicts.
func (e *env) update(t *testing.T, name string, mutate func(*appsv1.Deployment)) {
	t.Helper()
	for i := 0; ; i++ {
		d := e.get(t, name)
		mutate(d)
		_, err := e.cs.Deployments("default").Update(e.ctx, d)
		if err == nil {
			return
		}
		if i > 10 {
			t.Fatal(err)
		}
	}
}

func cond(d *appsv1.Deployment, typ string) *appsv1.DeploymentCondition {
	for _, c := range d.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

// waitComplete waits until the rollout finished: every replica updated and available,
// Progressing=NewReplicaSetAvailable, Available=True.
func (e *env) waitComplete(t *testing.T, name string, timeout time.Duration) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	waitFor(t, timeout, name+" rollout complete", func() (bool, string) {
		d = e.get(t, name)
		st := d.GetStatus()
		want := d.GetSpec().GetReplicas()
		p, a := cond(d, "Progressing"), cond(d, "Available")
		ok := st.GetObservedGeneration() == d.GetMetadata().GetGeneration() && st.GetReplicas() == want &&
			st.GetUpdatedReplicas() == want && st.GetAvailableReplicas() == want && st.GetReadyReplicas() == want &&
			st.GetUnavailableReplicas() == 0 &&
			p != nil && p.GetReason() == "NewReplicaSetAvailable" && a != nil && a.GetStatus() == "True"
		return ok, fmt.Sprint(st)
	})
	return d
}

func (e *env) replicaSets(t *testing.T, app string) []*appsv1.ReplicaSet {
	t.Helper()
	l, err := e.cs.ReplicaSets("default").List(e.ctx, client.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// newRS returns the ReplicaSet whose template has image.
func (e *env) rsWithImage(t *testing.T, app, image string) *appsv1.ReplicaSet {
	t.Helper()
	for _, rs := range e.replicaSets(t, app) {
		if rs.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage() == image {
			return rs
		}
	}
	return nil
}

// invariantWatcher follows the pods of app through one watch (a consistent, ordered view)
// and records every state violating: pods <= replicas+maxSurge, available (ready) pods >=
// replicas-maxUnavailable once the first rollout completed. onState may add checks.
type invariantWatcher struct {
	mu         sync.Mutex
	violations []string
	maxPods    int
	done       chan struct{}
}

func watchInvariants(t *testing.T, e *env, app string, maxPods, minAvailable int, onState func(pods map[string]*corev1.Pod) string) (stop func() *invariantWatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	w, err := e.cs.Pods("default").Watch(ctx, client.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	iw := &invariantWatcher{done: make(chan struct{})}
	go func() {
		defer close(iw.done)
		pods := map[string]*corev1.Pod{}
		for ev := range w.ResultChan() {
			switch ev.Type {
			case client.Added, client.Modified:
				pods[ev.Object.GetMetadata().GetName()] = ev.Object
			case client.Deleted:
				delete(pods, ev.Object.GetMetadata().GetName())
			default:
				continue
			}
			ready := 0
			for _, p := range pods {
				for _, c := range p.GetStatus().GetConditions() {
					if c.GetType() == "Ready" && c.GetStatus() == "True" {
						ready++
					}
				}
			}
			iw.mu.Lock()
			iw.maxPods = max(iw.maxPods, len(pods))
			if len(pods) > maxPods {
				iw.violations = append(iw.violations, fmt.Sprintf("%d pods > %d", len(pods), maxPods))
			}
			if ev.Type != client.Added && ready < minAvailable {
				iw.violations = append(iw.violations, fmt.Sprintf("%d ready pods < %d after %s of %s", ready, minAvailable, ev.Type, ev.Object.GetMetadata().GetName()))
			}
			if onState != nil {
				if v := onState(pods); v != "" {
					iw.violations = append(iw.violations, v)
				}
			}
			iw.mu.Unlock()
		}
	}()
	return func() *invariantWatcher {
		cancel()
		<-iw.done
		return iw
	}
}

// A RollingUpdate never runs more than replicas+maxSurge pods nor fewer than
// replicas-maxUnavailable ready ones, names ReplicaSets <deployment>-<hash> with the
// pod-template-hash label, and records revisions and ScalingReplicaSet events.
func TestRollingUpdateStepByStep(t *testing.T) {
	e := start(t)
	d := newDeployment("web", 4, "kube5/httpenv:1.0")
	d.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDeployment{
		MaxSurge: metav1.FromInt(1), MaxUnavailable: metav1.FromInt(1),
	}}
	if _, err := e.cs.Deployments("default").Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	d = e.waitComplete(t, "web", 30*time.Second)
	rss := e.replicaSets(t, "web")
	if len(rss) != 1 {
		t.Fatalf("%d replica sets, want 1", len(rss))
	}
	rs1 := rss[0]
	hash := rs1.GetMetadata().GetLabels()["pod-template-hash"]
	if hash == "" || rs1.GetMetadata().GetName() != "web-"+hash || rs1.GetSpec().GetSelector().GetMatchLabels()["pod-template-hash"] != hash ||
		rs1.GetSpec().GetTemplate().GetMetadata().GetLabels()["pod-template-hash"] != hash {
		t.Fatalf("replica set %s labels %v selector %v: want web-<hash> with pod-template-hash everywhere", rs1.GetMetadata().GetName(), rs1.GetMetadata().GetLabels(), rs1.GetSpec().GetSelector())
	}
	if hash != deployment.ComputeHash(d.GetSpec().GetTemplate(), nil) {
		t.Errorf("hash %s is not ComputeHash of the template", hash)
	}
	if r := rs1.GetMetadata().GetAnnotations()[deployment.RevisionAnnotation]; r != "1" {
		t.Errorf("rs revision %q, want 1", r)
	}
	if r := d.GetMetadata().GetAnnotations()[deployment.RevisionAnnotation]; r != "1" {
		t.Errorf("deployment revision %q, want 1", r)
	}

	stop := watchInvariants(t, e, "web", 5, 3, nil)
	e.update(t, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "kube5/httpenv:2.0" })
	d = e.waitComplete(t, "web", 60*time.Second)
	iw := stop()
	if len(iw.violations) > 0 {
		t.Fatalf("invariants violated during the rollout:\n%s", strings.Join(iw.violations, "\n"))
	}
	t.Logf("peak pods during the rollout: %d", iw.maxPods)
	rs2 := e.rsWithImage(t, "web", "kube5/httpenv:2.0")
	old := e.rsWithImage(t, "web", "kube5/httpenv:1.0")
	if rs2 == nil || old == nil || old.GetSpec().GetReplicas() != 0 || rs2.GetSpec().GetReplicas() != 4 {
		t.Fatalf("after the rollout: new %v, old %v", rs2.GetSpec(), old.GetSpec())
	}
	if r := d.GetMetadata().GetAnnotations()[deployment.RevisionAnnotation]; r != "2" {
		t.Errorf("deployment revision %q, want 2", r)
	}
	waitFor(t, 10*time.Second, "ScalingReplicaSet events", func() (bool, string) {
		l, _ := e.cs.Events("default").List(e.ctx, client.ListOptions{})
		var msgs []string
		for _, ev := range l.Items {
			if ev.GetReason() == "ScalingReplicaSet" {
				msgs = append(msgs, ev.GetMessage())
			}
		}
		all := strings.Join(msgs, "; ")
		return strings.Contains(all, "Scaled up replica set "+rs2.GetMetadata().GetName()+" to 1") &&
			strings.Contains(all, "Scaled down replica set "+old.GetMetadata().GetName()+" to 0"), all
	})
}

// Recreate deletes every old pod before the first new one exists.
func TestRecreate(t *testing.T) {
	e := start(t)
	d := newDeployment("rec", 3, "kube5/httpenv:1.0")
	d.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "Recreate"}
	if _, err := e.cs.Deployments("default").Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.waitComplete(t, "rec", 30*time.Second)
	mixed := func(pods map[string]*corev1.Pod) string {
		images := map[string]bool{}
		for _, p := range pods {
			images[p.GetSpec().GetContainers()[0].GetImage()] = true
		}
		if len(images) > 1 {
			return fmt.Sprintf("old and new pods at once: %v", images)
		}
		return ""
	}
	stop := watchInvariants(t, e, "rec", 3, 0, mixed)
	e.update(t, "rec", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "kube5/httpenv:2.0" })
	e.waitComplete(t, "rec", 60*time.Second)
	if iw := stop(); len(iw.violations) > 0 {
		t.Fatalf("Recreate violated:\n%s", strings.Join(iw.violations, "\n"))
	}
}

// Rolling back (the client copies an old template into the Deployment) reuses the old
// ReplicaSet with a new revision; revisionHistoryLimit deletes the oldest scaled-down
// ReplicaSets.
func TestRollbackAndHistoryLimit(t *testing.T) {
	e := start(t)
	d := newDeployment("rb", 2, "kube5/httpenv:1.0")
	d.Spec.RevisionHistoryLimit = proto.Int32(1)
	if _, err := e.cs.Deployments("default").Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.waitComplete(t, "rb", 30*time.Second)
	v1 := e.rsWithImage(t, "rb", "kube5/httpenv:1.0")
	e.update(t, "rb", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "kube5/httpenv:2.0" })
	e.waitComplete(t, "rb", 30*time.Second)
	// kubectl rollout undo: copy revision 1's template (without its hash label) back.
	e.update(t, "rb", func(d *appsv1.Deployment) {
		tmpl := proto.Clone(v1.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
		delete(tmpl.Metadata.Labels, "pod-template-hash")
		d.Spec.Template = tmpl
	})
	d = e.waitComplete(t, "rb", 30*time.Second)
	back := e.rsWithImage(t, "rb", "kube5/httpenv:1.0")
	if back == nil || back.GetMetadata().GetUid() != v1.GetMetadata().GetUid() {
		t.Fatalf("rollback did not reuse the revision-1 replica set")
	}
	if r := back.GetMetadata().GetAnnotations()[deployment.RevisionAnnotation]; r != "3" {
		t.Errorf("reused replica set revision %q, want 3", r)
	}
	if r := d.GetMetadata().GetAnnotations()[deployment.RevisionAnnotation]; r != "3" {
		t.Errorf("deployment revision %q, want 3", r)
	}
	// A third template: with revisionHistoryLimit 1, only one old replica set remains.
	e.update(t, "rb", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "kube5/httpenv:3.0" })
	e.waitComplete(t, "rb", 30*time.Second)
	waitFor(t, 20*time.Second, "history limited to 1 old replica set", func() (bool, string) {
		rss := e.replicaSets(t, "rb")
		var names []string
		for _, rs := range rss {
			names = append(names, rs.GetMetadata().GetName()+"="+rs.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage())
		}
		return len(rss) == 2 && e.rsWithImage(t, "rb", "kube5/httpenv:3.0") != nil && e.rsWithImage(t, "rb", "kube5/httpenv:1.0") != nil, strings.Join(names, ", ")
	})
}

// A paused Deployment does not roll out a new template, but still scales; resuming rolls
// out.
func TestPauseResume(t *testing.T) {
	e := start(t)
	if _, err := e.cs.Deployments("default").Create(e.ctx, newDeployment("p", 2, "kube5/httpenv:1.0")); err != nil {
		t.Fatal(err)
	}
	e.waitComplete(t, "p", 30*time.Second)
	e.update(t, "p", func(d *appsv1.Deployment) {
		d.Spec.Paused = true
		d.Spec.Template.Spec.Containers[0].Image = "kube5/httpenv:2.0"
		d.Spec.Replicas = proto.Int32(3)
	})
	waitFor(t, 20*time.Second, "paused deployment scaled, not rolled out", func() (bool, string) {
		d := e.get(t, "p")
		c := cond(d, "Progressing")
		old := e.rsWithImage(t, "p", "kube5/httpenv:1.0")
		return d.GetStatus().GetObservedGeneration() == d.GetMetadata().GetGeneration() && c != nil && c.GetReason() == "DeploymentPaused" &&
			old.GetSpec().GetReplicas() == 3 && old.GetStatus().GetAvailableReplicas() == 3, fmt.Sprint(d.GetStatus(), old.GetSpec().GetReplicas())
	})
	if rs := e.rsWithImage(t, "p", "kube5/httpenv:2.0"); rs != nil {
		t.Fatalf("paused deployment created %s", rs.GetMetadata().GetName())
	}
	e.update(t, "p", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	e.waitComplete(t, "p", 30*time.Second)
	if rs := e.rsWithImage(t, "p", "kube5/httpenv:2.0"); rs == nil || rs.GetSpec().GetReplicas() != 3 {
		t.Fatalf("resumed deployment did not roll out: %v", rs)
	}
}

// A rollout that makes no progress for progressDeadlineSeconds gets
// Progressing=False/ProgressDeadlineExceeded.
func TestProgressDeadlineExceeded(t *testing.T) {
	e := start(t)
	d := newDeployment("slow", 2, neverReady)
	d.Spec.ProgressDeadlineSeconds = proto.Int32(2)
	if _, err := e.cs.Deployments("default").Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "ProgressDeadlineExceeded", func() (bool, string) {
		d := e.get(t, "slow")
		c := cond(d, "Progressing")
		a := cond(d, "Available")
		return c != nil && c.GetStatus() == "False" && c.GetReason() == "ProgressDeadlineExceeded" &&
			a != nil && a.GetStatus() == "False" && d.GetStatus().GetUnavailableReplicas() == 2, fmt.Sprint(d.GetStatus())
	})
}

// Scaling a Deployment in the middle of a (stuck) rollout spreads the change over the
// old and new ReplicaSets in proportion to their sizes.
func TestProportionalScaling(t *testing.T) {
	e := start(t)
	d := newDeployment("prop", 10, "kube5/httpenv:1.0")
	d.Spec.Strategy = &appsv1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDeployment{
		MaxSurge: metav1.FromInt(3), MaxUnavailable: metav1.FromInt(2),
	}}
	if _, err := e.cs.Deployments("default").Create(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	e.waitComplete(t, "prop", 30*time.Second)
	e.update(t, "prop", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = neverReady })
	sizes := func(wantOld, wantNew int32) func() (bool, string) {
		return func() (bool, string) {
			old, cur := e.rsWithImage(t, "prop", "kube5/httpenv:1.0"), e.rsWithImage(t, "prop", neverReady)
			if old == nil || cur == nil {
				return false, "replica sets missing"
			}
			o, n := old.GetSpec().GetReplicas(), cur.GetSpec().GetReplicas()
			return o == wantOld && n == wantNew && old.GetStatus().GetReplicas() == o && cur.GetStatus().GetReplicas() == n,
				fmt.Sprintf("old %d (status %d), new %d (status %d)", o, old.GetStatus().GetReplicas(), n, cur.GetStatus().GetReplicas())
		}
	}
	// Stuck: 10+3 pods at most, at least 10-2 available, the new ones never ready.
	waitFor(t, 30*time.Second, "stuck rollout at old 8 / new 5", sizes(8, 5))
	e.update(t, "prop", func(d *appsv1.Deployment) { d.Spec.Replicas = proto.Int32(20) })
	// 23 allowed (20+3); old gets round(8*23/13) = 14, new round(5*23/13) = 9.
	waitFor(t, 30*time.Second, "proportional scale to old 14 / new 9", sizes(14, 9))
}

// A Deployment adopts an orphan ReplicaSet its selector matches and, when the template is
// its own, rolls forward with it instead of creating another (as after
// `kubectl delete deployment --cascade=orphan` and re-creating it).
func TestAdoptsOrphanReplicaSet(t *testing.T) {
	e := start(t)
	d := newDeployment("adopt", 2, "kube5/httpenv:1.0")
	tmpl := proto.Clone(d.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
	tmpl.Metadata.Labels["pod-template-hash"] = "orphan1"
	orphan := &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: "adopt-orphan1", Namespace: "default", Labels: tmpl.Metadata.Labels},
		Spec: &appsv1.ReplicaSetSpec{
			Replicas: proto.Int32(2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "adopt", "pod-template-hash": "orphan1"}},
			Template: tmpl,
		},
	}
	orphan, err := e.cs.ReplicaSets("default").Create(e.ctx, orphan)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the orphan's pods", func() (bool, string) {
		rs, _ := e.cs.ReplicaSets("default").Get(e.ctx, "adopt-orphan1")
		return rs.GetStatus().GetAvailableReplicas() == 2, fmt.Sprint(rs.GetStatus())
	})
	created, err := e.cs.Deployments("default").Create(e.ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	e.waitComplete(t, "adopt", 30*time.Second)
	rss := e.replicaSets(t, "adopt")
	if len(rss) != 1 || rss[0].GetMetadata().GetUid() != orphan.GetMetadata().GetUid() {
		t.Fatalf("%d replica sets; want only the adopted orphan", len(rss))
	}
	refs := rss[0].GetMetadata().GetOwnerReferences()
	if len(refs) != 1 || refs[0].GetUid() != created.GetMetadata().GetUid() || !refs[0].GetController() || refs[0].GetKind() != "Deployment" {
		t.Fatalf("adopted replica set ownerReferences %v", refs)
	}
}
