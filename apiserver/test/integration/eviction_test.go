package integration

import (
	"net/http"
	"strings"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	policyv1 "kube5/proto/api/policy/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

func newBudget(ns, name string, minAvailable int32, sel map[string]string) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{Metadata: meta(ns, name, nil), Spec: &policyv1.PodDisruptionBudgetSpec{
		MinAvailable: metav1.FromInt(minAvailable),
		Selector:     &metav1.LabelSelector{MatchLabels: sel},
	}}
}

// runningReady makes a pod Running and Ready, as its kubelet would report it.
func runningReady(t *testing.T, cs *client.Clientset, p *corev1.Pod) {
	t.Helper()
	p.Status = &corev1.PodStatus{Phase: "Running", Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True"}}}
	if _, err := cs.Pods(p.GetMetadata().GetNamespace()).UpdateStatus(ctxFor(t), p); err != nil {
		t.Fatal(err)
	}
}

// setBudgetStatus writes the status the disruption controller would.
func setBudgetStatus(t *testing.T, cs *client.Clientset, ns, name string, allowed, current, desired int32) *policyv1.PodDisruptionBudget {
	t.Helper()
	pdbs := cs.PodDisruptionBudgets(ns)
	p, err := pdbs.Get(ctxFor(t), name)
	if err != nil {
		t.Fatal(err)
	}
	p.Status = &policyv1.PodDisruptionBudgetStatus{ObservedGeneration: p.GetMetadata().GetGeneration(),
		DisruptionsAllowed: allowed, CurrentHealthy: current, DesiredHealthy: desired, ExpectedPods: current}
	p, err = pdbs.UpdateStatus(ctxFor(t), p)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPodDisruptionBudgetValidation(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "pdb")
	path := "/apis/policy/v1/namespaces/" + ns + "/poddisruptionbudgets"
	both := `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"b"},"spec":{"minAvailable":1,"maxUnavailable":1,"selector":{"matchLabels":{"app":"web"}}}}`
	do(t, ts, "POST", path, both).expectStatus(t, 422, "Invalid", "minAvailable and maxUnavailable cannot be both set")
	pct := `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"b"},"spec":{"maxUnavailable":"150%","selector":{"matchLabels":{"app":"web"}}}}`
	st := do(t, ts, "POST", path, pct).expectStatus(t, 422, "Invalid", "must not be greater than 100%")
	if !hasCause(st, "spec.maxUnavailable") {
		t.Errorf("causes %v do not name spec.maxUnavailable", causeFields(st))
	}
	policy := `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"b"},"spec":{"minAvailable":"50%","unhealthyPodEvictionPolicy":"Sometimes","selector":{"matchLabels":{"app":"web"}}}}`
	do(t, ts, "POST", path, policy).expectStatus(t, 422, "Invalid", `supported values: "IfHealthyBudget", "AlwaysAllow"`)
	// A valid one: the status a client sends is dropped (the controller owns it).
	ok := `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"web"},"spec":{"minAvailable":"50%","selector":{"matchLabels":{"app":"web"}}},"status":{"disruptionsAllowed":5}}`
	got := do(t, ts, "POST", path, ok).expect(t, 201, "create").generic(t)
	spec := got["spec"].(map[string]any)
	if spec["minAvailable"] != "50%" || got["status"].(map[string]any)["disruptionsAllowed"] != float64(0) {
		t.Fatalf("created %v", got)
	}
	// Discovery: the resource and the pods' eviction subresource.
	do(t, ts, "GET", "/apis/policy/v1", nil).expect(t, 200, "discovery")
	if !strings.Contains(string(do(t, ts, "GET", "/apis/policy/v1", nil).Body), `"name":"poddisruptionbudgets"`) {
		t.Fatal("policy/v1 discovery lacks poddisruptionbudgets")
	}
	if !strings.Contains(string(do(t, ts, "GET", "/api/v1", nil).expect(t, 200, "discovery").Body), `"name":"pods/eviction"`) {
		t.Fatal("v1 discovery lacks pods/eviction")
	}
}

func TestEviction(t *testing.T) {
	ts := start(t)
	cs := ts.Client
	ctx := ctxFor(t)
	ns := newNamespace(t, cs, "evict")
	web := map[string]string{"app": "web"}
	pods := map[string]*corev1.Pod{}
	for _, n := range []string{"a", "b", "c"} {
		p, err := cs.Pods(ns).Create(ctx, newPod(ns, n, web))
		if err != nil {
			t.Fatal(err)
		}
		runningReady(t, cs, p)
		pods[n] = p
	}
	evict := func(name string, body string) response {
		return do(t, ts, "POST", "/api/v1/namespaces/"+ns+"/pods/"+name+"/eviction", body)
	}
	body := func(name string) string {
		return `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"` + name + `","namespace":"` + ns + `"}}`
	}
	if _, err := cs.PodDisruptionBudgets(ns).Create(ctx, newBudget(ns, "web", 2, web)); err != nil {
		t.Fatal(err)
	}
	// Not yet processed by the controller (observedGeneration behind): refused.
	st := evict("a", body("a")).expectStatus(t, http.StatusTooManyRequests, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.")
	if c := st.GetDetails().GetCauses(); len(c) != 1 || c[0].Reason != "DisruptionBudget" || !strings.Contains(c[0].Message, "still being processed") {
		t.Fatalf("causes %v", c)
	}
	setBudgetStatus(t, cs, ns, "web", 1, 3, 2)
	// One disruption allowed: a goes (graceful delete: deletionTimestamp set), the budget
	// records it and has none left.
	if s := evict("a", body("a")).expect(t, http.StatusCreated, "evict a").status(t); s.Status != "Success" {
		t.Fatalf("eviction answer %v", s)
	}
	if p, err := cs.Pods(ns).Get(ctx, "a"); err == nil && p.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatal("the evicted pod is neither gone nor terminating")
	}
	pdb, err := cs.PodDisruptionBudgets(ns).Get(ctx, "web")
	if err != nil || pdb.GetStatus().GetDisruptionsAllowed() != 0 || pdb.GetStatus().GetDisruptedPods()["a"] == nil {
		t.Fatalf("budget after the eviction: %v %v", pdb.GetStatus(), err)
	}
	// None left: b stays, with upstream's 429 and the budget's numbers.
	st = evict("b", body("b")).expectStatus(t, http.StatusTooManyRequests, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.")
	if c := st.GetDetails().GetCauses(); len(c) != 1 || c[0].Message != "The disruption budget web needs 2 healthy pods and has 3 currently" {
		t.Fatalf("causes %v", c)
	}
	if p, err := cs.Pods(ns).Get(ctx, "b"); err != nil || p.GetMetadata().GetDeletionTimestamp() != nil {
		t.Fatalf("a refused eviction touched the pod: %v %v", p.GetMetadata(), err)
	}
	// The same over gRPC (the shared client): a typed TooManyRequests error.
	err = cs.Pods(ns).CreateSubresource(ctx, "b", "eviction", &policyv1.Eviction{Metadata: meta(ns, "b", nil)}, nil)
	if !apierrors.IsTooManyRequests(err) {
		t.Fatalf("gRPC eviction of b: %v, want TooManyRequests", err)
	}
	// A dry run spends nothing and deletes nothing.
	setBudgetStatus(t, cs, ns, "web", 1, 2, 1)
	do(t, ts, "POST", "/api/v1/namespaces/"+ns+"/pods/b/eviction?dryRun=All", body("b")).expect(t, http.StatusCreated, "dry-run eviction")
	if pdb, _ := cs.PodDisruptionBudgets(ns).Get(ctx, "web"); pdb.GetStatus().GetDisruptionsAllowed() != 1 {
		t.Fatal("a dry-run eviction spent the budget")
	}
	// gRPC, allowed: b goes.
	if err := cs.Pods(ns).CreateSubresource(ctx, "b", "eviction", &policyv1.Eviction{Metadata: meta(ns, "b", nil)}, nil); err != nil {
		t.Fatalf("gRPC eviction of b: %v", err)
	}
	// A pod that is not running disrupts nothing: evicted whatever the budget says.
	pending, err := cs.Pods(ns).Create(ctx, newPod(ns, "pending", web))
	if err != nil {
		t.Fatal(err)
	}
	setBudgetStatus(t, cs, ns, "web", 0, 1, 2)
	evict(pending.GetMetadata().GetName(), body("pending")).expect(t, http.StatusCreated, "evict a Pending pod")
	// Two budgets over one pod: refused, as upstream.
	if _, err := cs.PodDisruptionBudgets(ns).Create(ctx, newBudget(ns, "also", 1, web)); err != nil {
		t.Fatal(err)
	}
	evict("c", body("c")).expectStatus(t, http.StatusInternalServerError, "InternalError", "more than one PodDisruptionBudget")
	// Errors: a missing pod, a body naming another pod.
	evict("nope", body("nope")).expectStatus(t, http.StatusNotFound, "NotFound", `pods "nope" not found`)
	evict("c", body("a")).expectStatus(t, http.StatusBadRequest, "BadRequest", "does not match")
}
