package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"kube5/e2e/framework"
)

// The single-node failure tests of issue 7: a pod deleted, the apiserver or etcd killed
// and started again, the controller-manager and scheduler killed in the middle of a
// rollout. Each checks what a user would: the service answers, kubectl works, the
// deployment converges, and pods that ran before are not restarted.

// TestPodDeletedReplaced: a deployment's pod deleted with kubectl is replaced by a new
// Running pod, and the service answers throughout.
func TestPodDeletedReplaced(t *testing.T) {
	c := framework.Start(t, framework.Options{})
	apply(t, c, webApp("web", "kube5/httpenv:1.0", 2, zeroDowntimeSpec, zeroDowntimeContainer))
	pods := waitAppPods(t, c, "web", 2, "kube5/httpenv:1.0", 120*time.Second)
	ip := serviceIP(t, c, "web")
	waitServes(t, ip, pods)

	l := startTraffic(ip, 2)
	victim := pods[0]
	if out := admin(t, c, "delete", "pod", victim.Name); !strings.Contains(out, `pod "`+victim.Name+`" deleted`) {
		t.Errorf("kubectl delete pod printed %q", out)
	}
	var now []appPod
	framework.Eventually(t, 90*time.Second, "a new Running and Ready pod in place of "+victim.Name, func() error {
		var err error
		if now, err = appPods(c, "web"); err != nil {
			return err
		}
		if len(now) != 2 {
			return fmt.Errorf("%d pods: %+v", len(now), now)
		}
		for _, p := range now {
			if p.Name == victim.Name || p.Deleting || p.Phase != "Running" || !p.Ready {
				return fmt.Errorf("not yet: %+v", now)
			}
		}
		return nil
	})
	r := l.stop()
	t.Logf("GETs while the pod was replaced: %d answered, %d failed", r.ok, r.failed)
	if r.failed > 0 {
		t.Errorf("%d of %d GETs of the ClusterIP failed while a pod was deleted; the first:\n  %s",
			r.failed, r.ok+r.failed, strings.Join(r.errs, "\n  "))
	}
	if r.ok == 0 {
		t.Errorf("no GET answered")
	}
	for _, p := range now {
		if p.Name != pods[1].Name && p.Containers["web"].RestartCount != 0 {
			t.Errorf("the new pod %s has restarted %d times", p.Name, p.Containers["web"].RestartCount)
		}
	}
	// The survivor was left alone.
	if !samePod(pods[1], now) {
		t.Errorf("pod %s changed while another was replaced: before %+v, now %+v", pods[1].Name, pods[1], now)
	}
	waitServes(t, ip, now)
}

// samePod says whether p is among pods with the same container, never restarted.
func samePod(p appPod, pods []appPod) bool {
	for _, q := range pods {
		if q.Name == p.Name {
			return q.Containers["web"].ContainerID == p.Containers["web"].ContainerID && q.Containers["web"].RestartCount == 0
		}
	}
	return false
}

// requireUntouched fails the test unless every pod of before still runs with the same
// container and no restart.
func requireUntouched(t *testing.T, c *framework.Cluster, app string, before []appPod) {
	t.Helper()
	now, err := appPods(c, app)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range before {
		if !samePod(p, now) {
			t.Errorf("pod %s of %s was restarted or replaced: before %+v\nnow %+v", p.Name, app, p, now)
		}
	}
}

// readySince is when the node's Ready condition last changed; it fails unless the node
// is Ready.
func readySince(c *framework.Cluster) (string, error) {
	out, err := c.AdminKubectl("get", "node", c.NodeName, "-o",
		`jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastTransitionTime}`)
	status, since, _ := strings.Cut(strings.TrimSpace(out), " ")
	if err != nil || status != "True" {
		return "", fmt.Errorf("node %s Ready=%q (%v)", c.NodeName, out, err)
	}
	return since, nil
}

// summary names each pod with its image and readiness, for logs.
func summary(pods []appPod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "%s(%s ready=%v deleting=%v) ", p.Name, p.Image, p.Ready, p.Deleting)
	}
	return b.String()
}

// checkRecovered checks that the cluster works after an outage: kubectl answers, the node
// stayed Ready (its Ready condition did not change since readyAt), the pods of app from
// before run untouched and serve, and a new deployment with a service (fresh) gets
// Running pods that answer on its ClusterIP: scheduler, controller-manager, kubelet and
// kube-proxy all reconnected by themselves.
func checkRecovered(t *testing.T, c *framework.Cluster, app string, before []appPod, readyAt, fresh string) {
	t.Helper()
	framework.Eventually(t, 60*time.Second, "kubectl get nodes to answer", func() error {
		out, err := c.AdminKubectl("get", "nodes")
		if err != nil || !strings.Contains(out, c.NodeName) {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	apply(t, c, webApp(fresh, "kube5/httpenv:1.0", 2, "", ""))
	pods := waitAppPods(t, c, fresh, 2, "kube5/httpenv:1.0", 120*time.Second)
	waitServes(t, serviceIP(t, c, fresh), pods)
	waitAppPods(t, c, app, len(before), "kube5/httpenv:1.0", 30*time.Second)
	requireUntouched(t, c, app, before)
	waitServes(t, serviceIP(t, c, app), before)
	if since, err := readySince(c); err != nil || since != readyAt {
		t.Errorf("the node's Ready condition changed during the outage: Ready since %q (%v), was since %q", since, err, readyAt)
	}
}

// startBefore runs the deployment "before" (2 pods) and waits until it serves; it returns
// its pods, its ClusterIP and when the node became Ready.
func startBefore(t *testing.T, c *framework.Cluster) ([]appPod, string, string) {
	t.Helper()
	apply(t, c, webApp("before", "kube5/httpenv:1.0", 2, "", ""))
	before := waitAppPods(t, c, "before", 2, "kube5/httpenv:1.0", 120*time.Second)
	ip := serviceIP(t, c, "before")
	waitServes(t, ip, before)
	readyAt, err := readySince(c)
	if err != nil {
		t.Fatal(err)
	}
	return before, ip, readyAt
}

// TestAPIServerRestart: kube-apiserver SIGKILLed and started again with the same flags and
// data: the other daemons reconnect by themselves, and no pod is restarted.
func TestAPIServerRestart(t *testing.T) {
	c := framework.Start(t, framework.Options{})
	before, ip, readyAt := startBefore(t, c)

	c.Kill("kube-apiserver")
	// With the apiserver gone the data plane goes on: kube-proxy's rules and the pods stay.
	if _, err := c.AdminKubectl("get", "pods"); err == nil {
		t.Fatal("kubectl get pods answered with the apiserver killed")
	}
	waitServes(t, ip, before)
	c.StartAgain("kube-apiserver")
	checkRecovered(t, c, "before", before, readyAt, "after")
}

// TestEtcdRestart: an external etcd stopped while the apiserver runs: the apiserver's
// /readyz fails while etcd is down, and the cluster recovers when etcd is back, no pod
// restarted.
func TestEtcdRestart(t *testing.T) {
	c := framework.Start(t, framework.Options{ExternalEtcd: true})
	before, ip, readyAt := startBefore(t, c)

	c.Kill("etcd")
	framework.Eventually(t, 30*time.Second, "the apiserver's /readyz to fail", func() error {
		code, body := httpGetCode(c.URL + "/readyz")
		if code == http.StatusOK {
			return fmt.Errorf("/readyz answers %d: %s", code, body)
		}
		return nil
	})
	if code, body := httpGetCode(c.URL + "/readyz?verbose"); !strings.Contains(body, "[-]etcd failed") {
		t.Errorf("/readyz?verbose (%d) does not say etcd failed:\n%s", code, body)
	}
	waitServes(t, ip, before)
	c.StartAgain("etcd")
	framework.Eventually(t, 60*time.Second, "the apiserver's /readyz to pass again", func() error {
		if code, body := httpGetCode(c.URL + "/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz answers %d: %s", code, body)
		}
		return nil
	})
	checkRecovered(t, c, "before", before, readyAt, "after")
}

// httpGetCode GETs url and returns the status code (0 when it did not answer) and body.
func httpGetCode(url string) (int, string) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestControlPlaneKilledMidRollout: kube-controller-manager and kube-scheduler SIGKILLed in
// the middle of a rollout and started again: the rollout finishes with the right number of
// pods, all on the new image.
func TestControlPlaneKilledMidRollout(t *testing.T) {
	c := framework.Start(t, framework.Options{})
	const v1, v2 = "kube5/httpenv:1.0", "kube5/httpenv:1.1"
	// minReadySeconds slows the rollout down, so the kill lands in its middle.
	apply(t, c, webApp("mid", v1, 4, `  minReadySeconds: 2
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
      maxSurge: 1
`, `        readinessProbe:
          httpGet:
            path: /
            port: 8888
          periodSeconds: 1
`))
	waitAppPods(t, c, "mid", 4, v1, 120*time.Second)
	admin(t, c, "set", "image", "deployment/mid", "web="+v2)
	framework.Eventually(t, 60*time.Second, "the rollout to be under way", func() error {
		pods, err := appPods(c, "mid")
		if err != nil {
			return err
		}
		var onV2 int
		for _, p := range pods {
			if p.Image == v2 && p.Phase == "Running" {
				onV2++
			}
		}
		if onV2 == 0 {
			return fmt.Errorf("no pod of %s Running yet: %s", v2, summary(pods))
		}
		return nil
	})
	c.Kill("kube-controller-manager")
	c.Kill("kube-scheduler")
	pods, err := appPods(c, "mid")
	if err != nil {
		t.Fatal(err)
	}
	var onV1 int
	for _, p := range pods {
		if p.Image == v1 && !p.Deleting {
			onV1++
		}
	}
	if onV1 == 0 {
		t.Fatalf("the rollout was over before the kill, the test checks nothing: %s", summary(pods))
	}
	t.Logf("killed the controller-manager and the scheduler with %d of 4 pods on %s left: %s", onV1, v1, summary(pods))
	c.StartAgain("kube-scheduler")
	c.StartAgain("kube-controller-manager")
	rolloutStatus(t, c, "deployment/mid", 180*time.Second)
	final := waitAppPods(t, c, "mid", 4, v2, 60*time.Second)
	seen := map[string]bool{}
	for _, p := range final {
		if seen[p.IP] {
			t.Errorf("two pods with IP %s: %+v", p.IP, final)
		}
		seen[p.IP] = true
	}
	out := admin(t, c, "get", "deployment", "mid", "-o",
		`jsonpath={.spec.replicas} {.status.replicas} {.status.updatedReplicas} {.status.readyReplicas} {.status.availableReplicas}`)
	if strings.TrimSpace(out) != "4 4 4 4 4" {
		t.Errorf("deployment mid: replicas, status replicas, updated, ready, available = %q, want 4 4 4 4 4", out)
	}
	// The old ReplicaSet is scaled to 0, the new one to 4: no leftover or duplicate.
	var rs struct {
		Items []struct {
			Spec struct {
				Replicas int `json:"replicas"`
				Template struct {
					Spec struct {
						Containers []struct {
							Image string `json:"image"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
			Status struct {
				Replicas int `json:"replicas"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(admin(t, c, "get", "rs", "-l", "app=mid", "-o", "json")), &rs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range rs.Items {
		got = append(got, fmt.Sprintf("%s=%d/%d", it.Spec.Template.Spec.Containers[0].Image, it.Spec.Replicas, it.Status.Replicas))
	}
	sort.Strings(got)
	if want := []string{v1 + "=0/0", v2 + "=4/4"}; !slices.Equal(got, want) {
		t.Errorf("ReplicaSets of mid (image=spec/status replicas): %v, want %v", got, want)
	}
}
