package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kube5/e2e/framework"
)

// Draining a node honours a PodDisruptionBudget end to end, on the built binaries: the
// disruption controller computes the budget, kubectl drain evicts through pods/eviction,
// the first pod goes and the second is refused (its replacement cannot schedule on the
// cordoned node) until the drain times out; uncordoned, the deployment is whole again
// and the budget allows a disruption once more.
func TestDrainRespectsDisruptionBudget(t *testing.T) {
	c := framework.Start(t, framework.Options{})
	const image = "kube5/httpenv:1.0"
	apply(t, c, webApp("guarded", image, 2, "", ""))
	before := waitAppPods(t, c, "guarded", 2, image, 120*time.Second)
	admin(t, c, "create", "pdb", "guarded", "--selector=app=guarded", "--min-available=1")
	allowed := func(want string) {
		t.Helper()
		framework.Eventually(t, 60*time.Second, "the budget to allow "+want+" disruption(s)", func() error {
			out, err := c.AdminKubectl("get", "pdb", "guarded", "-o", "jsonpath={.status.disruptionsAllowed}")
			if err != nil || strings.TrimSpace(out) != want {
				return fmt.Errorf("disruptionsAllowed %q (%v)", out, err)
			}
			return nil
		})
	}
	allowed("1")

	out, err := c.AdminKubectl("drain", c.NodeName, "--timeout=15s")
	if err == nil {
		t.Fatalf("drain succeeded though the budget allows one disruption of two pods:\n%s", out)
	}
	for _, want := range []string{
		"evicting pod default/guarded-",
		"Cannot evict pod as it would violate the pod's disruption budget.",
		"global timeout reached: 15s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("drain output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, " evicted\n"); n != 1 {
		t.Errorf("drain evicted %d pods, want 1:\n%s", n, out)
	}
	// One of the two pods is left running; its replacement waits, unschedulable.
	framework.Eventually(t, 30*time.Second, "one old pod running and one replacement pending", func() error {
		pods, err := appPods(c, "guarded")
		if err != nil {
			return err
		}
		old := map[string]bool{before[0].Name: true, before[1].Name: true}
		var running, pending int
		for _, p := range pods {
			switch {
			case p.Deleting:
				return fmt.Errorf("%s still terminating", p.Name)
			case old[p.Name] && p.Phase == "Running":
				running++
			case !old[p.Name] && p.Phase == "Pending":
				pending++
			}
		}
		if running != 1 || pending != 1 || len(pods) != 2 {
			return fmt.Errorf("%+v", pods)
		}
		return nil
	})

	admin(t, c, "uncordon", c.NodeName)
	waitAppPods(t, c, "guarded", 2, image, 120*time.Second)
	allowed("1")
}
