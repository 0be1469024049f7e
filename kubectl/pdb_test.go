package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	policyv1 "kube5/proto/api/policy/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
)

// pdbFixtures: two nodes; web-1 and web-2 (app=web, owned by a ReplicaSet, Running and
// Ready) on node-1, web-3 on node-2. Statuses are written through the status
// subresource by createFixtures, as the kubelet would.
var pdbFixtures = `apiVersion: v1
kind: Node
metadata:
  name: node-1
---
apiVersion: v1
kind: Node
metadata:
  name: node-2
` + pdbPod + pdbPod2 + pdbPod3

const pdbPodTmpl = `---
apiVersion: v1
kind: Pod
metadata:
  name: NAME
  namespace: default
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-rs, uid: 6b6e7a1c-0000-4000-8000-000000000001, controller: true}
spec:
  nodeName: NODE
  containers:
  - name: web
    image: kube5/httpenv:1.0
status:
  phase: Running
  conditions:
  - {type: Ready, status: "True"}
`

var (
	pdbPod  = strings.NewReplacer("NAME", "web-1", "NODE", "node-1").Replace(pdbPodTmpl)
	pdbPod2 = strings.NewReplacer("NAME", "web-2", "NODE", "node-1").Replace(pdbPodTmpl)
	pdbPod3 = strings.NewReplacer("NAME", "web-3", "NODE", "node-2").Replace(pdbPodTmpl)
)

// setPDBStatus writes the status the disruption controller would (no controller-manager
// runs in these tests).
func setPDBStatus(t *testing.T, cs *client.Clientset, name string, allowed, current, desired, expected int32) {
	t.Helper()
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		pdb, err := cs.PodDisruptionBudgets("default").Get(ctx, name)
		must(t, err)
		pdb.Status = &policyv1.PodDisruptionBudgetStatus{
			ObservedGeneration: pdb.GetMetadata().GetGeneration(),
			DisruptionsAllowed: allowed, CurrentHealthy: current, DesiredHealthy: desired, ExpectedPods: expected,
		}
		_, err = cs.PodDisruptionBudgets("default").UpdateStatus(ctx, pdb)
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		must(t, err)
		return
	}
}

// TestPodDisruptionBudget covers create poddisruptionbudget (flags, validation, dry
// run), get and describe of budgets, api-resources, and drain through the eviction API:
// a budget that allows one disruption lets one of two pods go, the second eviction is
// refused (429) and retried until the budget allows it; --timeout ends a drain the
// budget blocks; --disable-eviction deletes regardless of the budget.
func TestPodDisruptionBudget(t *testing.T) {
	t.Parallel()
	s := apiservertest.Start(t)
	e := newEnv(t, s.URL)
	ctx := context.Background()

	// create: upstream's validation, in upstream's order.
	wantEqual(t, "no selector", e.fails("create", "pdb", "web", "--min-available=1"), "error: a selector must be specified\n")
	wantEqual(t, "neither", e.fails("create", "pdb", "web", "--selector=app=web"), "error: one of min-available or max-unavailable must be specified\n")
	wantEqual(t, "both", e.fails("create", "pdb", "web", "--selector=app=web", "--min-available=1", "--max-unavailable=1"), "error: min-available and max-unavailable cannot be both specified\n")
	wantEqual(t, "bad min", e.fails("create", "pdb", "web", "--selector=app=web", "--min-available=10Gb"), "error: invalid format specified for min-available\n")
	wantEqual(t, "bad max", e.fails("create", "pdb", "web", "--selector=app=web", "--max-unavailable=1.5"), "error: invalid format specified for max-unavailable\n")
	wantContains(t, "no name", e.fails("create", "pdb", "--selector=app=web", "--min-available=1"), "NAME is required")

	wantEqual(t, "dry run", e.ok("create", "poddisruptionbudget", "half", "--selector=app=web,tier in (front)", "--max-unavailable=50%", "--dry-run=client", "-o", "yaml"), `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: half
  namespace: default
spec:
  maxUnavailable: 50%
  selector:
    matchExpressions:
    - key: tier
      operator: In
      values:
      - front
    matchLabels:
      app: web
`)
	if _, err := s.Client.PodDisruptionBudgets("default").Get(ctx, "half"); !apierrors.IsNotFound(err) {
		t.Errorf("--dry-run=client created the budget (err %v)", err)
	}
	wantEqual(t, "create", e.ok("create", "pdb", "web", "--selector=app=web", "--min-available=1"), "poddisruptionbudget.policy/web created\n")
	wantEqual(t, "create max", e.ok("create", "poddisruptionbudget", "half", "--selector=app=web", "--max-unavailable=50%"), "poddisruptionbudget.policy/half created\n")
	wantEqual(t, "exists", e.fails("create", "pdb", "web", "--selector=app=web", "--min-available=1"), "error: failed to create poddisruptionbudgets: poddisruptionbudgets.policy \"web\" already exists\n")
	pdb, err := s.Client.PodDisruptionBudgets("default").Get(ctx, "web")
	must(t, err)
	if got := pdb.GetSpec().GetMinAvailable(); got.GetType() != 0 || got.GetIntVal() != 1 {
		t.Errorf("minAvailable: %v, want the integer 1", got)
	}
	if got := pdb.GetSpec().GetSelector().GetMatchLabels(); len(got) != 1 || got["app"] != "web" {
		t.Errorf("selector: %v", got)
	}
	half, err := s.Client.PodDisruptionBudgets("default").Get(ctx, "half")
	must(t, err)
	if got := half.GetSpec().GetMaxUnavailable(); got.GetType() != 1 || got.GetStrVal() != "50%" {
		t.Errorf("maxUnavailable: %v, want the string 50%%", got)
	}
	wantEqual(t, "delete half", e.ok("delete", "pdb", "half"), "poddisruptionbudget.policy \"half\" deleted\n")

	// api-resources: from the scheme, as discovery.
	found := false
	for _, l := range strings.Split(e.ok("api-resources"), "\n") {
		if strings.Join(strings.Fields(l), " ") == "poddisruptionbudgets pdb policy/v1 true PodDisruptionBudget" {
			found = true
		}
	}
	if !found {
		t.Error("api-resources does not list poddisruptionbudgets (pdb, policy/v1, namespaced)")
	}

	// The pods on node-1 and node-2, then the budget's status as the controller would
	// write it: 2 healthy, 1 desired, 1 disruption allowed.
	file := filepath.Join(t.TempDir(), "pdb.yaml")
	writeFile(t, file, pdbFixtures, 0o644)
	createFixtures(t, s.Client, file)
	e.ok("create", "pdb", "other", "--selector=app=other", "--max-unavailable=25%")
	setPDBStatus(t, s.Client, "web", 1, 3, 1, 3)

	wantEqual(t, "get pdb", normaliseTable(e.ok("get", "pdb")), normaliseTable(`NAME    MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS   AGE
other   N/A             25%               0                     1s
web     1               N/A               1                     1s
`))
	wantEqual(t, "describe pdb", normaliseText(e.ok("describe", "pdb", "web")), `Name:           web
Namespace:      default
Min available:  1
Selector:       app=web
Status:
    Allowed disruptions:  1
    Current:              3
    Desired:              1
    Total:                3
Events:                   <none>
`)
	wantEqual(t, "describe max", normaliseText(e.ok("describe", "poddisruptionbudgets", "other")), `Name:             other
Namespace:        default
Max unavailable:  25%
Selector:         app=other
Status:
    Allowed disruptions:  0
    Current:              0
    Desired:              0
    Total:                0
Events:                   <none>
`)

	// drain node-1: one of web-1/web-2 is evicted at once; the other is refused and
	// retried (every 100ms here) until the budget allows another disruption.
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(dctx, kubectlBin, "--server="+s.URL, "drain", "node-1", "--grace-period=0", "--timeout=60s")
	cmd.Env = []string{"HOME=" + e.home, "KUBE5_DRAIN_EVICTION_RETRY=100ms"}
	out, errOut := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errOut
	must(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			select {
			case err := <-exited:
				t.Fatalf("drain exited (%v) before %s\nstdout:\n%s\nstderr:\n%s", err, what, out, errOut)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("drain: no %s within 30s\nstdout:\n%s\nstderr:\n%s", what, out, errOut)
			}
		}
	}
	refused := func(pod string) string {
		return `error when evicting pods/"` + pod + `" -n "default" (will retry after 100ms): Cannot evict pod as it would violate the pod's disruption budget.` + "\n"
	}
	var evicted, blocked string
	waitFor("eviction and refusal", func() bool {
		for _, p := range [][2]string{{"web-1", "web-2"}, {"web-2", "web-1"}} {
			if strings.Contains(out.String(), "pod/"+p[0]+" evicted\n") && strings.Contains(errOut.String(), refused(p[1])) {
				evicted, blocked = p[0], p[1]
				return true
			}
		}
		return false
	})
	wantContains(t, "drain stdout", out.String(), "node/node-1 cordoned\n", "evicting pod default/web-1\n", "evicting pod default/web-2\n")
	if _, err := s.Client.Pods("default").Get(ctx, evicted); !apierrors.IsNotFound(err) {
		t.Errorf("%s was reported evicted but is still there (err %v)", evicted, err)
	}
	if _, err := s.Client.Pods("default").Get(ctx, blocked); err != nil {
		t.Errorf("%s, which the budget protects, is gone: %v", blocked, err)
	}
	if strings.Contains(out.String(), "drained") {
		t.Errorf("drain finished while the budget blocked %s:\n%s", blocked, out)
	}
	// The eviction spent the budget's one disruption.
	pdb, err = s.Client.PodDisruptionBudgets("default").Get(ctx, "web")
	must(t, err)
	if pdb.GetStatus().GetDisruptionsAllowed() != 0 {
		t.Errorf("disruptionsAllowed after the eviction: %d, want 0", pdb.GetStatus().GetDisruptionsAllowed())
	}
	// Retried, not given up: a second refusal comes within the retry interval.
	waitFor("a retry", func() bool { return strings.Count(errOut.String(), refused(blocked)) >= 2 })

	setPDBStatus(t, s.Client, "web", 1, 2, 1, 2)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("drain: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("drain did not finish within 30s of the budget allowing it\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	wantContains(t, "drain done", out.String(), "pod/"+blocked+" evicted\n", "node/node-1 drained\n")
	if strings.Contains(out.String(), "deleted") {
		t.Errorf("drain deleted instead of evicting:\n%s", out)
	}
	if _, err := s.Client.Pods("default").Get(ctx, blocked); !apierrors.IsNotFound(err) {
		t.Errorf("%s is still there after the drain (err %v)", blocked, err)
	}

	// A budget that never allows it: --timeout ends the drain with upstream's errors.
	setPDBStatus(t, s.Client, "web", 0, 1, 1, 1)
	e.extra = []string{"KUBE5_DRAIN_EVICTION_RETRY=100ms"}
	r := e.run("drain", "node-2", "--grace-period=0", "--timeout=1s")
	if r.code != 1 {
		t.Fatalf("drain with a blocking budget: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
	wantContains(t, "timeout stdout", r.out, "node/node-2 cordoned\n", "evicting pod default/web-3\n")
	wantContains(t, "timeout stderr", r.err, refused("web-3"),
		"There are pending pods in node \"node-2\" when an error occurred: error when evicting pods/\"web-3\" -n \"default\": global timeout reached: 1s\npod/web-3\n",
		"error: unable to drain node \"node-2\" due to error: error when evicting pods/\"web-3\" -n \"default\": global timeout reached: 1s, continuing command...\nThere are pending nodes to be drained:\n node-2\nerror: error when evicting pods/\"web-3\" -n \"default\": global timeout reached: 1s\n")
	if _, err := s.Client.Pods("default").Get(ctx, "web-3"); err != nil {
		t.Fatalf("web-3, which the budget protects, is gone: %v", err)
	}

	// --disable-eviction deletes, whatever the budget says.
	r = e.run("drain", "node-2", "--grace-period=0", "--disable-eviction", "--timeout=30s")
	if r.code != 0 {
		t.Fatalf("drain --disable-eviction: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
	wantEqual(t, "drain --disable-eviction", r.out, "node/node-2 already cordoned\npod/web-3 deleted\nnode/node-2 drained\n")
	if _, err := s.Client.Pods("default").Get(ctx, "web-3"); !apierrors.IsNotFound(err) {
		t.Errorf("web-3 is still there after drain --disable-eviction (err %v)", err)
	}
}
