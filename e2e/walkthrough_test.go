package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"kube5/e2e/framework"
)

// TestWalkthrough is INSTALL.md's single-node walkthrough, command for command: every
// kubectl command below is run through the guide (framework.Cluster.Run refuses one that
// INSTALL.md's `<!-- e2e: walkthrough -->` blocks do not hold verbatim), and at the end
// every kubectl command of those blocks must have been run. The daemons are started by the
// harness with the guide's flags plus free ports; the HTTP GETs stand in for its curls.
func TestWalkthrough(t *testing.T) {
	g := framework.LoadInstallGuide(t, "walkthrough")
	daemons := framework.LoadInstallGuide(t, "daemons")
	start := time.Now()
	c := framework.Start(t, framework.Options{})
	// The guide's daemon command lines: the harness started each daemon with every flag
	// the guide gives it (with its own values: free ports, temp dirs).
	for _, cmd := range daemons.Commands() {
		name, flags := framework.FlagNames(cmd)
		if c.Process(name) == nil {
			t.Errorf("INSTALL.md starts %q, which the harness does not run", cmd)
		}
		for _, f := range flags {
			if !c.HasFlag(name, f) {
				t.Errorf("INSTALL.md runs %q but the harness starts %s without --%s", cmd, name, f)
			}
		}
	}
	t.Logf("cluster started in %s (node %s, apiserver %s)", time.Since(start).Round(time.Millisecond), c.NodeName, c.URL)

	c.MustRun(g, "kubectl config set-cluster local --server=http://127.0.0.1:8080")
	c.MustRun(g, "kubectl config set-context local --cluster=local")
	c.MustRun(g, "kubectl config use-context local")

	out := c.MustRun(g, "kubectl create deployment web --image=kube5/httpenv:1.0 --port=8888")
	if strings.TrimSpace(out) != "deployment.apps/web created" {
		t.Errorf("kubectl create deployment printed %q, want %q", out, "deployment.apps/web created")
	}
	if out := c.MustRun(g, "kubectl get deployments"); !strings.Contains(out, "web") {
		t.Errorf("kubectl get deployments does not list web:\n%s", out)
	}

	framework.Eventually(t, 90*time.Second, "node "+c.NodeName+" Ready", func() error {
		out, err := c.Kubectl("get", "node", c.NodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil || strings.TrimSpace(out) != "True" {
			return fmt.Errorf("Ready=%q (%v)", strings.TrimSpace(out), err)
		}
		return nil
	})
	if out := c.MustRun(g, "kubectl get nodes"); !strings.Contains(out, c.NodeName) || !strings.Contains(out, "Ready") {
		t.Errorf("kubectl get nodes does not show %s Ready:\n%s", c.NodeName, out)
	}
	pods := waitPods(t, c, 1, nil)
	if out := c.MustRun(g, "kubectl get pods -o wide"); !strings.Contains(out, pods[0].Name) || !strings.Contains(out, "Running") {
		t.Errorf("kubectl get pods -o wide does not show %s Running:\n%s", pods[0].Name, out)
	}

	out = c.MustRun(g, "kubectl expose deployment web --port=80 --target-port=8888")
	if strings.TrimSpace(out) != "service/web exposed" {
		t.Errorf("kubectl expose printed %q, want %q", out, "service/web exposed")
	}
	ip := clusterIP(t, c.MustRun(g, "kubectl get svc web"))
	framework.Eventually(t, 30*time.Second, "endpoints of web", func() error {
		out, err := c.Run(g, "kubectl get endpoints web")
		if err != nil || !strings.Contains(out, pods[0].IP+":8888") {
			return fmt.Errorf("want %s:8888 in:\n%s (%v)", pods[0].IP, out, err)
		}
		return nil
	})
	url, err := c.CurlURL(g, "curl $(kubectl get svc web -o jsonpath='{.spec.clusterIP}')")
	if err != nil || url != "http://"+ip.String() {
		t.Errorf("the guide's curl is of %q (%v), want http://%s", url, err, ip)
	}
	framework.Eventually(t, 30*time.Second, "http://"+ip.String()+"/ to answer", func() error {
		host, err := get(ip)
		if err == nil && host != pods[0].Name {
			return fmt.Errorf("answered from %q, want %q", host, pods[0].Name)
		}
		return err
	})

	if out := c.MustRun(g, "kubectl scale deploy web --replicas=3"); strings.TrimSpace(out) != "deployment.apps/web scaled" {
		t.Errorf("kubectl scale printed %q", out)
	}
	pods = waitPods(t, c, 3, nil)
	if out := c.MustRun(g, "kubectl get pods -o wide"); strings.Count(out, "Running") < 3 {
		t.Errorf("kubectl get pods -o wide shows fewer than 3 Running pods:\n%s", out)
	}
	reachAll(t, ip, pods)

	// Delete a pod: the ReplicaSet replaces it.
	victim := c.MustKubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
	out = c.MustRun(g, "kubectl delete pod $(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')")
	if !strings.Contains(out, victim) || !strings.Contains(out, "deleted") {
		t.Errorf("kubectl delete pod printed %q, want pod %q deleted", out, victim)
	}
	pods = waitPods(t, c, 3, map[string]bool{victim: true})
	if out := c.MustRun(g, "kubectl get pods -l app=web"); strings.Count(out, "Running") < 3 {
		t.Errorf("kubectl get pods -l app=web shows fewer than 3 Running pods:\n%s", out)
	}
	reachAll(t, ip, pods)

	// Roll it, under load: every pod replaced, and back.
	stopLoad := load(ip)
	if out := c.MustRun(g, "kubectl rollout restart deployment/web"); !strings.Contains(out, "deployment.apps/web restarted") {
		t.Errorf("kubectl rollout restart printed %q", out)
	}
	if out := c.MustRun(g, "kubectl rollout status deployment/web"); !strings.Contains(out, "successfully rolled out") {
		t.Errorf("kubectl rollout status printed %q", out)
	}
	pods = waitPods(t, c, 3, names(pods))
	reachAll(t, ip, pods)
	if out := c.MustRun(g, "kubectl rollout history deployment/web"); !strings.Contains(out, "REVISION") {
		t.Errorf("kubectl rollout history printed %q", out)
	}
	if out := c.MustRun(g, "kubectl rollout undo deployment/web"); !strings.Contains(out, "rolled back") {
		t.Errorf("kubectl rollout undo printed %q", out)
	}
	pods = waitPods(t, c, 3, names(pods))
	reachAll(t, ip, pods)
	if out := c.MustRun(g, "kubectl get rs"); strings.Count(out, "web-") < 2 {
		t.Errorf("kubectl get rs does not show the two ReplicaSets of web:\n%s", out)
	}
	ok, failed := stopLoad()
	// httpenv has no readiness probe and the walkthrough no minReadySeconds, so a request
	// or two may be lost during a rollout; the zero-downtime rollout is another test's.
	t.Logf("GETs of the ClusterIP during the two rollouts: %d answered, %d failed", ok, failed)
	if ok == 0 {
		t.Errorf("no GET answered during the rollouts")
	}

	if out := c.MustRun(g, "kubectl delete deployment web"); !strings.Contains(out, `deployment.apps "web" deleted`) {
		t.Errorf("kubectl delete deployment printed %q", out)
	}
	framework.Eventually(t, 60*time.Second, "the pods of web to be gone", func() error {
		ps, err := listPods(c)
		if err == nil && len(ps) > 0 {
			return fmt.Errorf("%d pods left", len(ps))
		}
		return err
	})
	if out := c.MustRun(g, "kubectl delete svc web"); !strings.Contains(out, `service "web" deleted`) {
		t.Errorf("kubectl delete svc printed %q", out)
	}
	if left := g.Uncovered("kubectl ", "curl "); len(left) > 0 {
		t.Errorf("commands of INSTALL.md's walkthrough blocks that TestWalkthrough does not run:\n  %s",
			strings.Join(left, "\n  "))
	}
	t.Logf("walkthrough done in %s", time.Since(start).Round(time.Millisecond))
}

type pod struct {
	Name, Phase, IP string
	Ready           bool
}

// listPods lists the pods labelled app=web that are not being deleted.
func listPods(c *framework.Cluster) ([]pod, error) {
	out, err := c.Kubectl("get", "pods", "-l", "app=web", "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name              string `json:"name"`
				DeletionTimestamp string `json:"deletionTimestamp"`
			} `json:"metadata"`
			Status struct {
				Phase      string `json:"phase"`
				PodIP      string `json:"podIP"`
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("kubectl get pods -o json: %v", err)
	}
	var pods []pod
	for _, it := range list.Items {
		if it.Metadata.DeletionTimestamp != "" {
			continue
		}
		p := pod{Name: it.Metadata.Name, Phase: it.Status.Phase, IP: it.Status.PodIP}
		for _, cond := range it.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				p.Ready = true
			}
		}
		pods = append(pods, p)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// waitPods waits until exactly n pods of web, none of them in gone, are Running and Ready
// with an IP in the pod network 10.244.0.0/16.
func waitPods(t *testing.T, c *framework.Cluster, n int, gone map[string]bool) []pod {
	t.Helper()
	podNet := netip.MustParsePrefix("10.244.0.0/16")
	var pods []pod
	framework.Eventually(t, 90*time.Second, fmt.Sprintf("%d Running pods of web", n), func() error {
		var err error
		if pods, err = listPods(c); err != nil {
			return err
		}
		if len(pods) != n {
			return fmt.Errorf("%d pods: %v", len(pods), pods)
		}
		for _, p := range pods {
			ip, err := netip.ParseAddr(p.IP)
			if p.Phase == "Running" && err == nil && !podNet.Contains(ip) {
				// A sandbox is never moved to another network: no use waiting.
				t.Fatalf("pod %s runs with IP %s, outside the pod network %s (was its sandbox started "+
					"on Docker's default bridge before the kubelet knew the node's podCIDR?)", p.Name, ip, podNet)
			}
			if gone[p.Name] || p.Phase != "Running" || !p.Ready || err != nil || !podNet.Contains(ip) {
				return fmt.Errorf("not yet: %+v", pods)
			}
		}
		return nil
	})
	return pods
}

// clusterIP reads the CLUSTER-IP column of `kubectl get svc web` and checks it is in the
// service CIDR 10.0.0.0/24.
func clusterIP(t *testing.T, table string) netip.Addr {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get svc web: want a header and one row:\n%s", table)
	}
	header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	for i, h := range header {
		if h == "CLUSTER-IP" && i < len(row) {
			ip, err := netip.ParseAddr(row[i])
			if err != nil || !netip.MustParsePrefix("10.0.0.0/24").Contains(ip) {
				t.Fatalf("CLUSTER-IP %q is not in 10.0.0.0/24:\n%s", row[i], table)
			}
			return ip
		}
	}
	t.Fatalf("kubectl get svc web has no CLUSTER-IP column:\n%s", table)
	return netip.Addr{}
}

func names(pods []pod) map[string]bool {
	m := map[string]bool{}
	for _, p := range pods {
		m[p.Name] = true
	}
	return m
}

// load GETs http://ip/ in a loop until the returned function is called, which returns
// how many GETs were answered and how many failed.
func load(ip netip.Addr) (stop func() (ok, failed int)) {
	done := make(chan struct{})
	result := make(chan [2]int)
	go func() {
		var n [2]int
		for {
			select {
			case <-done:
				result <- n
				return
			default:
			}
			if _, err := get(ip); err != nil {
				n[1]++
			} else {
				n[0]++
			}
			time.Sleep(20 * time.Millisecond) // pacing, not waiting for anything
		}
	}()
	return func() (int, int) {
		close(done)
		n := <-result
		return n[0], n[1]
	}
}

// get GETs http://ip/ (port 80) and returns the HOSTNAME httpenv answered with.
func get(ip netip.Addr) (string, error) {
	cl := http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Get("http://" + ip.String() + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET http://%s/: %s: %s", ip, resp.Status, body)
	}
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil || m["HOSTNAME"] == "" {
		return "", fmt.Errorf("GET http://%s/: want {\"HOSTNAME\": ...}, got %q", ip, body)
	}
	return m["HOSTNAME"], nil
}

// reachAll waits until 30 GETs of the ClusterIP in a row all succeed, answered only by
// pods, and reach every one of them (kube-proxy may lag the endpoints by a sync).
func reachAll(t *testing.T, ip netip.Addr, pods []pod) {
	t.Helper()
	want := map[string]bool{}
	for _, p := range pods {
		want[p.Name] = true
	}
	framework.Eventually(t, 60*time.Second, fmt.Sprintf("30 GETs of %s to reach all of %v", ip, pods), func() error {
		seen := map[string]int{}
		for range 30 {
			host, err := get(ip)
			if err != nil {
				return err
			}
			if !want[host] {
				return fmt.Errorf("answered by %q, not a current pod", host)
			}
			seen[host]++
		}
		if len(seen) != len(want) {
			return errors.New(fmt.Sprint("reached only ", seen))
		}
		return nil
	})
}

// TestInstallGuide checks INSTALL.md's marked blocks without a cluster (no root needed).
func TestInstallGuide(t *testing.T) {
	for _, name := range []string{"walkthrough", "daemons"} {
		g := framework.LoadInstallGuide(t, name)
		for _, cmd := range g.Commands() {
			if prog, _ := framework.FlagNames(cmd); name == "walkthrough" && prog != "kubectl" && prog != "curl" {
				t.Errorf("INSTALL.md's walkthrough blocks hold %q: only kubectl and curl commands are run", cmd)
			}
		}
	}
}
