package disruption

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	policyv1 "kube5/proto/api/policy/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/controllerref"
	"kube5/controller-manager/internal/controller/controllertest"
)

const ns = "default"

type harness struct {
	t  *testing.T
	cs *client.Clientset
}

func start(t *testing.T) *harness {
	s := apiservertest.Start(t)
	controllertest.Start(t, s.Client, []controller.Constructor{New}, 1)
	return &harness{t: t, cs: s.Client}
}

func podSpec() *corev1.PodSpec {
	return &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}}
}

// createRS creates a ReplicaSet (no replicaset controller runs: its pods are the test's).
func (h *harness) createRS(name string, replicas int32) *appsv1.ReplicaSet {
	h.t.Helper()
	rs, err := h.cs.ReplicaSets(ns).Create(context.Background(), &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: &appsv1.ReplicaSetSpec{
			Replicas: proto.Int32(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:     podSpec(),
			},
		},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return rs
}

// createReadyPods creates n Ready pods app-0, app-1, ... labelled app=app, controlled
// by owner (nil: none).
func (h *harness) createReadyPods(app string, n int, owner *metav1.OwnerReference) {
	h.t.Helper()
	for i := 0; i < n; i++ {
		h.createReadyPod(fmt.Sprintf("%s-%d", app, i), app, owner)
	}
}

func (h *harness) createReadyPod(name, app string, owner *metav1.OwnerReference) {
	h.t.Helper()
	md := &metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}}
	if owner != nil {
		md.OwnerReferences = []*metav1.OwnerReference{owner}
	}
	p, err := h.cs.Pods(ns).Create(context.Background(), &corev1.Pod{Metadata: md, Spec: podSpec()})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := controllertest.MarkPodReady(context.Background(), h.cs, p); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) createPDB(name, app string, minAvailable, maxUnavailable *metav1.IntOrString) {
	h.t.Helper()
	_, err := h.cs.PodDisruptionBudgets(ns).Create(context.Background(), &policyv1.PodDisruptionBudget{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: &policyv1.PodDisruptionBudgetSpec{
			MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
		},
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// waitPDB polls the budget until cond holds (deadline 20s).
func (h *harness) waitPDB(name, what string, cond func(*policyv1.PodDisruptionBudget) bool) *policyv1.PodDisruptionBudget {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var pdb *policyv1.PodDisruptionBudget
	for time.Now().Before(deadline) {
		var err error
		if pdb, err = h.cs.PodDisruptionBudgets(ns).Get(context.Background(), name); err == nil && cond(pdb) {
			return pdb
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("pdb %s: timed out waiting for %s; status %v", name, what, pdb.GetStatus())
	return nil
}

// counts matches the status numbers (expected, currentHealthy, desiredHealthy,
// disruptionsAllowed) of an up-to-date status.
func counts(expected, healthy, desired, allowed int32) func(*policyv1.PodDisruptionBudget) bool {
	return func(p *policyv1.PodDisruptionBudget) bool {
		st := p.GetStatus()
		return st.GetObservedGeneration() == p.GetMetadata().GetGeneration() && st.GetExpectedPods() == expected &&
			st.GetCurrentHealthy() == healthy && st.GetDesiredHealthy() == desired && st.GetDisruptionsAllowed() == allowed
	}
}

func allowedCondition(p *policyv1.PodDisruptionBudget) *policyv1.Condition {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == ConditionDisruptionAllowed {
			return c
		}
	}
	return nil
}

func checkCondition(t *testing.T, p *policyv1.PodDisruptionBudget, status, reason string) {
	t.Helper()
	c := allowedCondition(p)
	if c.GetStatus() != status || c.GetReason() != reason || c.GetMessage() != "" ||
		c.GetObservedGeneration() != p.GetMetadata().GetGeneration() || c.LastTransitionTime == nil {
		t.Errorf("DisruptionAllowed condition = %v, want %s/%s", c, status, reason)
	}
}

// waitEvent polls for an event of reason about the named object.
func (h *harness) waitEvent(kind, name, typ, reason string) *corev1.Event {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		l, err := h.cs.Events(ns).List(context.Background(), client.ListOptions{})
		if err == nil {
			for _, ev := range l.Items {
				o := ev.GetInvolvedObject()
				if o.GetKind() == kind && o.GetName() == name && ev.GetType() == typ && ev.GetReason() == reason {
					return ev
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("no %s event %s about %s %s", typ, reason, kind, name)
	return nil
}

func setReady(t *testing.T, cs *client.Clientset, name string, ready bool) {
	t.Helper()
	p, err := cs.Pods(ns).Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	status := "False"
	if ready {
		status = "True"
	}
	p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: status, LastTransitionTime: metav1.Now()}}
	if _, err := cs.Pods(ns).UpdateStatus(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func TestDisruption(t *testing.T) {
	h := start(t)

	t.Run("minAvailable over a ReplicaSet", func(t *testing.T) {
		h := &harness{t: t, cs: h.cs}
		rs := h.createRS("web", 3)
		h.createReadyPods("web", 3, controllerref.New(rs, "apps/v1", "ReplicaSet"))
		h.createPDB("web", "web", metav1.FromInt(2), nil)
		p := h.waitPDB("web", "1 disruption allowed", counts(3, 3, 2, 1))
		checkCondition(t, p, "True", ReasonSufficientPods)
		since := allowedCondition(p).GetLastTransitionTime()

		setReady(t, h.cs, "web-1", false)
		p = h.waitPDB("web", "no disruption allowed", counts(3, 2, 2, 0))
		checkCondition(t, p, "False", ReasonInsufficientPods)

		// Back to ready: True again, with a new transition.
		setReady(t, h.cs, "web-1", true)
		p = h.waitPDB("web", "1 disruption allowed again", counts(3, 3, 2, 1))
		checkCondition(t, p, "True", ReasonSufficientPods)
		if allowedCondition(p).GetLastTransitionTime().AsTime().Before(since.AsTime()) {
			t.Errorf("lastTransitionTime went back: %v", allowedCondition(p))
		}
	})

	t.Run("maxUnavailable percent over a ReplicaSet", func(t *testing.T) {
		h := &harness{t: t, cs: h.cs}
		rs := h.createRS("half", 4)
		// Three of the four pods exist: the budget still expects the ReplicaSet's scale.
		h.createReadyPods("half", 3, controllerref.New(rs, "apps/v1", "ReplicaSet"))
		h.createPDB("half", "half", nil, metav1.FromString("50%"))
		p := h.waitPDB("half", "desiredHealthy 2", counts(4, 3, 2, 1))
		checkCondition(t, p, "True", ReasonSufficientPods)
	})

	t.Run("minAvailable percent over a Deployment", func(t *testing.T) {
		h := &harness{t: t, cs: h.cs}
		d, err := h.cs.Deployments(ns).Create(context.Background(), &appsv1.Deployment{
			Metadata: &metav1.ObjectMeta{Name: "dep", Namespace: ns},
			Spec: &appsv1.DeploymentSpec{
				Replicas: proto.Int32(5),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "dep"}},
				Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "dep"}}, Spec: podSpec()},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		rs := &appsv1.ReplicaSet{
			Metadata: &metav1.ObjectMeta{Name: "dep-1", Namespace: ns, OwnerReferences: []*metav1.OwnerReference{controllerref.New(d, "apps/v1", "Deployment")}},
			Spec: &appsv1.ReplicaSetSpec{
				Replicas: proto.Int32(2), // the Deployment's scale counts, not this
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "dep"}},
				Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "dep"}}, Spec: podSpec()},
			},
		}
		if rs, err = h.cs.ReplicaSets(ns).Create(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		h.createReadyPods("dep", 2, controllerref.New(rs, "apps/v1", "ReplicaSet"))
		h.createPDB("dep", "dep", metav1.FromString("50%"), nil)
		h.waitPDB("dep", "expected 5, desired ceil(2.5)", counts(5, 2, 3, 0))
	})

	t.Run("disrupted pods", func(t *testing.T) {
		h := &harness{t: t, cs: h.cs}
		rs := h.createRS("dis", 3)
		h.createReadyPods("dis", 3, controllerref.New(rs, "apps/v1", "ReplicaSet"))
		h.createPDB("dis", "dis", metav1.FromInt(1), nil)
		p := h.waitPDB("dis", "2 disruptions allowed", counts(3, 3, 1, 2))

		// As an eviction does: dis-0 evicted just now, and dis-1 nearly DeletionTimeout
		// ago (its entry expires within a second: the pod outlived its eviction).
		now := time.Now()
		p.Status.DisruptedPods = map[string]*metav1.Time{
			"dis-0": metav1.NewTime(now),
			"dis-1": metav1.NewTime(now.Add(-DeletionTimeout + time.Second)),
		}
		p.Status.DisruptionsAllowed = 0
		if _, err := h.cs.PodDisruptionBudgets(ns).UpdateStatus(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		h.waitPDB("dis", "dis-0 not counted healthy", func(p *policyv1.PodDisruptionBudget) bool {
			_, ok := p.GetStatus().GetDisruptedPods()["dis-0"]
			return ok && p.GetStatus().GetCurrentHealthy() <= 2
		})
		// dis-1's entry expires: it is dropped (requeued at expiry, no other change
		// comes) and the pod counts again; the controller warns about the pod.
		p = h.waitPDB("dis", "dis-1's entry expired", func(p *policyv1.PodDisruptionBudget) bool {
			_, ok := p.GetStatus().GetDisruptedPods()["dis-1"]
			return !ok && counts(3, 2, 1, 1)(p)
		})
		if _, ok := p.GetStatus().GetDisruptedPods()["dis-0"]; !ok {
			t.Errorf("dis-0's entry dropped early: %v", p.GetStatus())
		}
		h.waitEvent("Pod", "dis-1", "Warning", "NotDeleted")

		if err := h.cs.Pods(ns).Delete(context.Background(), "dis-0", nil); err != nil {
			t.Fatal(err)
		}
		h.waitPDB("dis", "dis-0's entry gone", func(p *policyv1.PodDisruptionBudget) bool {
			return len(p.GetStatus().GetDisruptedPods()) == 0 && counts(2, 2, 1, 1)(p)
		})
	})

	t.Run("percentage over pods without a controller", func(t *testing.T) {
		h := &harness{t: t, cs: h.cs}
		h.createReadyPods("bare", 3, nil)
		h.createPDB("bare", "bare", metav1.FromString("50%"), nil)
		p := h.waitPDB("bare", "status", counts(0, 3, 0, 0))
		checkCondition(t, p, "False", ReasonInsufficientPods)
		h.waitEvent("PodDisruptionBudget", "bare", "Warning", "UnmanagedPods")
	})

	t.Run("controller missing", func(t *testing.T) {
		h := &harness{t: t, cs: h.cs}
		ghost := &metav1.OwnerReference{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "ghost", Uid: "00000000-0000-0000-0000-000000000001", Controller: proto.Bool(true)}
		h.createReadyPods("ghost", 2, ghost)
		h.createPDB("ghost", "ghost", nil, metav1.FromInt(1))
		p := h.waitPDB("ghost", "SyncFailed", func(p *policyv1.PodDisruptionBudget) bool {
			return allowedCondition(p).GetReason() == ReasonSyncFailed
		})
		if c := allowedCondition(p); c.GetStatus() != "False" || c.GetMessage() != `found no controllers for pod "ghost-0"` && c.GetMessage() != `found no controllers for pod "ghost-1"` {
			t.Errorf("condition = %v", c)
		}
		if p.GetStatus().GetDisruptionsAllowed() != 0 {
			t.Errorf("status = %v", p.GetStatus())
		}
		h.waitEvent("PodDisruptionBudget", "ghost", "Warning", "NoControllers")
		h.waitEvent("PodDisruptionBudget", "ghost", "Warning", "CalculateExpectedPodCountFailed")
	})

	t.Run("nil selector selects nothing, empty selects all", func(t *testing.T) {
		h := &harness{t: t, cs: h.cs}
		for name, sel := range map[string]*metav1.LabelSelector{"none": nil, "all": {}} {
			_, err := h.cs.PodDisruptionBudgets(ns).Create(context.Background(), &policyv1.PodDisruptionBudget{
				Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec:     &policyv1.PodDisruptionBudgetSpec{MinAvailable: metav1.FromInt(1), Selector: sel},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		h.waitPDB("none", "no pods", counts(0, 0, 1, 0))
		h.waitPDB("all", "every pod of the namespace", func(p *policyv1.PodDisruptionBudget) bool {
			return p.GetStatus().GetObservedGeneration() == p.GetMetadata().GetGeneration() && p.GetStatus().GetExpectedPods() > 5
		})
		h.waitEvent("PodDisruptionBudget", "none", "Normal", "NoPods")
		for _, name := range []string{"none", "all"} {
			if err := h.cs.PodDisruptionBudgets(ns).Delete(context.Background(), name, nil); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
	})
}
