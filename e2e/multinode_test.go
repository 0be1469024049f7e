package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kube5/e2e/framework"
)

// TestMultiNodeNetwork: on two nodes (network namespaces with their own dockerd, kubelet
// and kube-proxy, on one bridge), the pod network and the services work across nodes:
// from each node every pod answers on its IP, the ClusterIP answers from pods on both
// nodes, and the NodePort answers on every node's IP. Between pods the source is the
// client pod's IP, by pod IP and through a ClusterIP; what a pod sends out of the
// cluster CIDR leaves with its node's IP.
func TestMultiNodeNetwork(t *testing.T) {
	start := time.Now()
	m := framework.StartMultiNode(t, 2, framework.MultiNodeOptions{
		Images: append(append([]string(nil), framework.DefaultNodeImages...), "kube5/testbox:1.0"),
	})
	m.WaitNodesReady(90*time.Second, m.Nodes...)
	t.Logf("2 nodes Ready in %s", time.Since(start).Round(time.Millisecond))

	m.MustKubectl("create", "deployment", "web", "--image=kube5/httpenv:1.0", "--port=8888", "--replicas=4")
	m.MustKubectl("expose", "deployment", "web", "--type=NodePort", "--port=80", "--target-port=8888")
	pods := waitSpread(t, m, "app=web", 4, nil)
	svc := getService(t, m, "web")
	t.Logf("pods: %v; service: ClusterIP %s, NodePort %d", pods, svc.ClusterIP, svc.NodePort)

	for _, from := range m.Nodes {
		cl := from.NS.HTTPClient(3 * time.Second)
		// Every pod by its IP, on this node and the other.
		for _, p := range pods {
			framework.Eventually(t, 30*time.Second, fmt.Sprintf("pod %s (%s on %s) from %s", p.Name, p.IP, p.Node, from.Name), func() error {
				host, err := httpenv(cl, "http://"+p.IP+":8888/")
				if err == nil && host != p.Name {
					return fmt.Errorf("answered by %q", host)
				}
				return err
			})
		}
		// The ClusterIP, from pods of both nodes.
		reachFrom(t, from, svc.ClusterIP+":80", pods, 30)
		// The NodePort on every node's IP.
		for _, on := range m.Nodes {
			addr := fmt.Sprintf("%s:%d", on.IP, svc.NodePort)
			framework.Eventually(t, 30*time.Second, fmt.Sprintf("NodePort %s from %s", addr, from.Name), func() error {
				host, err := httpenv(cl, "http://"+addr+"/")
				if err == nil && !podNames(pods)[host] {
					return fmt.Errorf("answered by %q, not a pod of web", host)
				}
				return err
			})
		}
	}
	sourceAddresses(t, m)
	t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
}

// sourceAddresses checks what source address a server sees, from httpenv's log line per
// request ("<remote address> GET <path>"): a client pod on node 0 GETs a server pod on
// node 1 by its pod IP and through a ClusterIP, and the server sees the client pod's IP
// (no masquerade between pods, as upstream's kubenet and flannel host-gw); it GETs a
// host-network server on node 1's IP, outside the cluster CIDR, and that server sees
// node 0's IP (kube-proxy's pod network masquerade).
func sourceAddresses(t *testing.T, m *framework.MultiNode) {
	t.Helper()
	client, server := m.Nodes[0], m.Nodes[1]
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: src-server
  labels: {test: src, app: src-server}
spec:
  nodeName: %[2]s
  containers:
  - name: httpenv
    image: kube5/httpenv:1.0
---
apiVersion: v1
kind: Pod
metadata:
  name: src-outside
  labels: {test: src}
spec:
  nodeName: %[2]s
  hostNetwork: true
  containers:
  - name: httpenv
    image: kube5/httpenv:1.0
---
apiVersion: v1
kind: Pod
metadata:
  name: src-client
  labels: {test: src}
spec:
  nodeName: %[1]s
  containers:
  - name: box
    image: kube5/testbox:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: src-server
spec:
  selector: {app: src-server}
  ports:
  - port: 80
    targetPort: 8888
`, client.Name, server.Name)
	file := filepath.Join(t.TempDir(), "src.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	m.MustKubectl("create", "-f", file)
	ips := map[string]string{}
	framework.Eventually(t, 90*time.Second, "pods src-server, src-outside and src-client Running with IPs", func() error {
		pods, err := listMNPods(m, "test=src")
		if err != nil {
			return err
		}
		for _, p := range pods {
			// src-outside uses its node's network: its pod IP is the node's, as upstream.
			want := p.IP != ""
			if p.Name == "src-outside" {
				want = p.IP == server.IP.String()
			}
			if p.Phase != "Running" || !p.Ready || !want {
				return fmt.Errorf("not yet: %+v", pods)
			}
			ips[p.Name] = p.IP
		}
		if len(ips) != 3 {
			return fmt.Errorf("%d pods: %+v", len(pods), pods)
		}
		return nil
	})
	svc := getService(t, m, "src-server")
	clientIP := ips["src-client"]
	// GET url from the client pod, then wait for the server pod's log line of path, and
	// want it to name source as the remote address.
	check := func(what, url, path, serverPod, source string) {
		t.Helper()
		framework.Eventually(t, 60*time.Second, what, func() error {
			out, err := m.Kubectl("exec", "src-client", "--", "/bin/testbox", "wget", url)
			if err != nil {
				return fmt.Errorf("kubectl exec src-client -- testbox wget %s: %v: %s", url, err, out)
			}
			logs, err := m.Kubectl("logs", serverPod)
			if err != nil {
				return fmt.Errorf("kubectl logs %s: %v: %s", serverPod, err, logs)
			}
			var lines []string
			for _, l := range strings.Split(logs, "\n") {
				if strings.HasSuffix(l, " GET "+path) {
					lines = append(lines, l)
				}
			}
			if len(lines) == 0 {
				return fmt.Errorf("no log line of GET %s in %s's log:\n%s", path, serverPod, logs)
			}
			for _, l := range lines {
				if !strings.Contains(l, " "+source+":") {
					return fmt.Errorf("%s saw the request from another source than %s: %q", serverPod, source, l)
				}
			}
			return nil
		})
	}
	check(fmt.Sprintf("pod %s on %s to see client pod %s's IP by pod IP", ips["src-server"], server.Name, clientIP),
		"http://"+ips["src-server"]+":8888/by-pod-ip", "/by-pod-ip", "src-server", clientIP)
	check(fmt.Sprintf("pod %s on %s to see client pod %s's IP through ClusterIP %s", ips["src-server"], server.Name, clientIP, svc.ClusterIP),
		"http://"+svc.ClusterIP+"/by-cluster-ip", "/by-cluster-ip", "src-server", clientIP)
	check(fmt.Sprintf("host-network server on %s to see node %s's IP %s for pod %s", server.IP, client.Name, client.IP, clientIP),
		"http://"+server.IP.String()+":8888/out-of-cluster", "/out-of-cluster", "src-outside", client.IP.String())
}

// mnPod is a pod of a multi-node test.
type mnPod struct {
	Name, Node, IP, Phase string
	Ready, Terminating    bool
}

func (p mnPod) String() string { return p.Name + "@" + p.Node }

// listMNPods lists the pods matching selector.
func listMNPods(m *framework.MultiNode, selector string) ([]mnPod, error) {
	out, err := m.Kubectl("get", "pods", "-l", selector, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name              string `json:"name"`
				DeletionTimestamp string `json:"deletionTimestamp"`
			} `json:"metadata"`
			Spec struct {
				NodeName string `json:"nodeName"`
			} `json:"spec"`
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
	var pods []mnPod
	for _, it := range list.Items {
		p := mnPod{Name: it.Metadata.Name, Node: it.Spec.NodeName, IP: it.Status.PodIP, Phase: it.Status.Phase,
			Terminating: it.Metadata.DeletionTimestamp != ""}
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				p.Ready = true
			}
		}
		pods = append(pods, p)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// waitSpread waits until exactly n pods matching selector (terminating ones aside) are
// Running and Ready with an IP, on every node not in avoid and on none in avoid, and
// returns them.
func waitSpread(t *testing.T, m *framework.MultiNode, selector string, n int, avoid map[string]bool) []mnPod {
	t.Helper()
	var pods []mnPod
	framework.Eventually(t, 120*time.Second, fmt.Sprintf("%d Running pods of %s spread over the nodes", n, selector), func() error {
		all, err := listMNPods(m, selector)
		if err != nil {
			return err
		}
		pods = pods[:0]
		on := map[string]int{}
		for _, p := range all {
			if p.Terminating {
				continue
			}
			if p.Phase != "Running" || !p.Ready || p.IP == "" {
				return fmt.Errorf("not yet: %+v", all)
			}
			pods = append(pods, p)
			on[p.Node]++
		}
		if len(pods) != n {
			return fmt.Errorf("%d pods, want %d: %v", len(pods), n, all)
		}
		for _, node := range m.Nodes {
			if avoid[node.Name] && on[node.Name] > 0 {
				return fmt.Errorf("pods on %s, which should have none: %v", node.Name, pods)
			}
			if !avoid[node.Name] && on[node.Name] == 0 {
				return fmt.Errorf("no pod on %s (the scheduler spreads a ReplicaSet's pods): %v", node.Name, pods)
			}
		}
		return nil
	})
	return append([]mnPod(nil), pods...)
}

type service struct {
	ClusterIP string
	NodePort  int
}

func getService(t *testing.T, m *framework.MultiNode, name string) service {
	t.Helper()
	out := m.MustKubectl("get", "svc", name, "-o", "json")
	var s struct {
		Spec struct {
			ClusterIP string `json:"clusterIP"`
			Ports     []struct {
				NodePort int `json:"nodePort"`
			} `json:"ports"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Spec.ClusterIP == "" || len(s.Spec.Ports) == 0 {
		t.Fatalf("service %s: %v\n%s", name, err, out)
	}
	return service{ClusterIP: s.Spec.ClusterIP, NodePort: s.Spec.Ports[0].NodePort}
}

func podNames(pods []mnPod) map[string]bool {
	m := map[string]bool{}
	for _, p := range pods {
		m[p.Name] = true
	}
	return m
}

// httpenv GETs url with cl and returns the HOSTNAME httpenv answered with.
func httpenv(cl *http.Client, url string) (string, error) {
	resp, err := cl.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil || m["HOSTNAME"] == "" {
		return "", fmt.Errorf("GET %s: want {\"HOSTNAME\": ...}, got %q", url, body)
	}
	return m["HOSTNAME"], nil
}

// reachFrom waits until n GETs of addr in a row, from the node's namespace, all succeed,
// are answered only by pods, and reach pods on every node the pods run on.
func reachFrom(t *testing.T, from *framework.Node, addr string, pods []mnPod, n int) {
	t.Helper()
	nodeOf := map[string]string{}
	wantNodes := map[string]bool{}
	for _, p := range pods {
		nodeOf[p.Name] = p.Node
		wantNodes[p.Node] = true
	}
	cl := from.NS.HTTPClient(3 * time.Second)
	framework.Eventually(t, 60*time.Second, fmt.Sprintf("%d GETs of %s from %s to reach pods on %d nodes", n, addr, from.Name, len(wantNodes)), func() error {
		seen := map[string]int{}
		for range n {
			host, err := httpenv(cl, "http://"+addr+"/")
			if err != nil {
				return err
			}
			node, ok := nodeOf[host]
			if !ok {
				return fmt.Errorf("answered by %q, not one of %v", host, pods)
			}
			seen[node]++
		}
		if len(seen) != len(wantNodes) {
			return errors.New(fmt.Sprint("answers per node: ", seen))
		}
		return nil
	})
}

// TestKubeletKilled: when a node's kubelet dies (SIGKILL; its containers keep running),
// the node goes Ready=Unknown after --node-monitor-grace-period, the node lifecycle
// controller taints it node.kubernetes.io/unreachable:NoExecute and evicts its pods once
// their default toleration (--default-unreachable-toleration-seconds) runs out, the
// ReplicaSet replaces them on the other node, and the ClusterIP answers from the
// surviving node all along.
func TestKubeletKilled(t *testing.T) {
	start := time.Now()
	m := framework.StartMultiNode(t, 2, framework.MultiNodeOptions{ExtraFlags: map[string][]string{
		"kube-apiserver":          {"--default-not-ready-toleration-seconds=10", "--default-unreachable-toleration-seconds=10"},
		"kube-controller-manager": {"--node-monitor-grace-period=20s", "--node-monitor-period=2s"},
	}})
	m.WaitNodesReady(90*time.Second, m.Nodes...)
	m.MustKubectl("create", "deployment", "web", "--image=kube5/httpenv:1.0", "--port=8888", "--replicas=4")
	m.MustKubectl("expose", "deployment", "web", "--port=80", "--target-port=8888")
	pods := waitSpread(t, m, "app=web", 4, nil)
	svc := getService(t, m, "web")
	victim, survivor := m.Nodes[0], m.Nodes[1]
	url := "http://" + svc.ClusterIP + ":80/"
	reachFrom(t, survivor, svc.ClusterIP+":80", pods, 30)
	t.Logf("cluster and pods %v ready in %s", pods, time.Since(start).Round(time.Millisecond))

	load := startLoad(survivor.NS.HTTPClient(2*time.Second), url)
	kubelet := victim.Process("kubelet")
	if err := syscall.Kill(kubelet.Pid(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 the kubelet of %s: %v", victim.Name, err)
	}
	killed := time.Now()
	if !kubelet.Exited(10 * time.Second) {
		t.Fatalf("the kubelet of %s (pid %d) still runs 10s after SIGKILL", victim.Name, kubelet.Pid())
	}

	// 20s of grace, a monitor pass every 2s: Unknown well within 50s.
	framework.Eventually(t, 50*time.Second-time.Since(killed), "node "+victim.Name+" Ready=Unknown", func() error {
		out, err := m.Kubectl("get", "node", victim.Name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if s := strings.TrimSpace(out); err != nil || s != "Unknown" {
			return fmt.Errorf("Ready=%q (%v)", s, err)
		}
		return nil
	})
	t.Logf("%s Ready=Unknown %s after its kubelet was killed", victim.Name, time.Since(killed).Round(time.Millisecond))
	framework.Eventually(t, 20*time.Second, "the unreachable taints on "+victim.Name, func() error {
		out, err := m.Kubectl("get", "node", victim.Name, "-o", `jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}`)
		for _, want := range []string{"node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"} {
			if err != nil || !strings.Contains(out, want) {
				return fmt.Errorf("taints %q (%v), want %s", out, err, want)
			}
		}
		return nil
	})

	// Evicted after 10s of toleration, replaced on the survivor.
	replaced := waitSpread(t, m, "app=web", 4, map[string]bool{victim.Name: true})
	t.Logf("4 pods Running on %s %s after the kill: %v", survivor.Name, time.Since(killed).Round(time.Millisecond), replaced)
	all, err := listMNPods(m, "app=web")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if p.Node == victim.Name && !p.Terminating {
			t.Errorf("pod %s on %s was not evicted (no deletionTimestamp)", p.Name, victim.Name)
		}
	}
	during := load.next()

	// Once the endpoints are the new pods, the ClusterIP answers from them only, and
	// every request of the load succeeds.
	reachFrom(t, survivor, svc.ClusterIP+":80", replaced, 30)
	framework.Eventually(t, 60*time.Second, "100 more GETs of the load", func() error {
		if n := load.count(); n < 100 {
			return fmt.Errorf("%d so far", n)
		}
		return nil
	})
	after := load.stop()
	t.Logf("GETs of %s from %s while %s failed: %d answered, %d failed %v, longest without an answer %s; "+
		"after the replacements ran: %d answered, %d failed %v",
		url, survivor.Name, victim.Name, during.ok, during.failed, during.errs, during.longestGap.Round(time.Millisecond),
		after.ok, after.failed, after.errs)
	// The victim's containers keep running and the endpoints move from its pods to
	// the replacements: the service never goes away. 10s leaves room for a slow machine
	// (a GET times out after 2s).
	if during.ok == 0 || during.longestGap > 10*time.Second {
		t.Errorf("the ClusterIP did not keep answering from %s while %s failed: %d answers, at worst none for %s",
			survivor.Name, victim.Name, during.ok, during.longestGap.Round(time.Millisecond))
	}
	if after.failed > 0 || after.ok == 0 {
		t.Errorf("after the replacements were Running, %d of %d GETs of %s failed: %v", after.failed, after.ok+after.failed, url, after.errs)
	}
	t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
}

// loadStats counts the GETs of a phase of a load.
type loadStats struct {
	ok, failed int
	errs       []string // the first few errors
	// longestGap is the longest time between two answers (or the phase's start and its
	// first answer): how long the service was unavailable at worst.
	longestGap time.Duration
	lastOK     time.Time
}

// loader GETs a URL in a loop, counting answers and failures per phase.
type loader struct {
	mu     sync.Mutex
	cur    *loadStats
	done   chan struct{}
	exited chan struct{}
}

// startLoad GETs url with cl every 20ms until stop.
func startLoad(cl *http.Client, url string) *loader {
	l := &loader{cur: &loadStats{lastOK: time.Now()}, done: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(l.exited)
		for {
			select {
			case <-l.done:
				return
			default:
			}
			_, err := httpenv(cl, url)
			now := time.Now()
			l.mu.Lock()
			if err != nil {
				l.cur.failed++
				if len(l.cur.errs) < 5 {
					l.cur.errs = append(l.cur.errs, now.Format("15:04:05.000")+" "+err.Error())
				}
			} else {
				l.cur.ok++
				l.cur.longestGap = max(l.cur.longestGap, now.Sub(l.cur.lastOK))
				l.cur.lastOK = now
			}
			l.mu.Unlock()
			time.Sleep(20 * time.Millisecond) // pacing, not waiting for anything
		}
	}()
	return l
}

// next ends the current phase and returns its counts.
func (l *loader) next() loadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := *l.cur
	now := time.Now()
	s.longestGap = max(s.longestGap, now.Sub(s.lastOK))
	l.cur = &loadStats{lastOK: now}
	return s
}

// count is how many GETs the current phase made so far.
func (l *loader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur.ok + l.cur.failed
}

// stop ends the load and returns the counts of the last phase.
func (l *loader) stop() loadStats {
	close(l.done)
	<-l.exited
	return l.next()
}

// secondNodeAddress is the first machine's address in INSTALL.md's second-node commands.
const secondNodeAddress = "http://10.1.0.10:8080"

// TestSecondNode is INSTALL.md's "A second node", command for command (the blocks marked
// `<!-- e2e: second-node -->`): a cluster of one node runs the walkthrough's web
// Deployment and Service; a second node joins with the guide's kubeconfig, kubelet and
// kube-proxy commands run inside its namespace; then, from the first machine, the guide's
// kubectl commands show it Ready and spread the scaled Deployment over both nodes, and
// the guide's curl loop, run with bash on each node, is answered by pods of both.
func TestSecondNode(t *testing.T) {
	g := framework.LoadInstallGuide(t, "second-node")
	start := time.Now()
	m := framework.StartMultiNode(t, 1, framework.MultiNodeOptions{})
	first := m.Nodes[0]
	m.WaitNodesReady(90*time.Second, first)
	// Sections 2-4 of the guide (TestWalkthrough runs them command for command).
	m.MustKubectl("create", "deployment", "web", "--image=kube5/httpenv:1.0", "--port=8888", "--replicas=3")
	m.MustKubectl("expose", "deployment", "web", "--port=80", "--target-port=8888")
	waitSpread(t, m, "app=web", 3, nil)
	t.Logf("one node with 3 pods of web in %s", time.Since(start).Round(time.Millisecond))

	second := m.AddNode()
	kubeconfig := filepath.Join(second.Dir, "kubeconfig")
	for _, cmd := range g.Commands() {
		if prog, _ := framework.FlagNames(cmd); prog != "kube-apiserver" && prog != "kubelet" && prog != "kube-proxy" &&
			!strings.HasPrefix(cmd, "kubectl config ") {
			continue // the first machine's commands, below
		}
		words := m.GuideWords(g, cmd, secondNodeAddress, m.URL)
		switch prog := words[0]; {
		case prog == "kube-apiserver":
			// The first machine's apiserver: the harness started it, listening on the
			// bridge (the guide's 0.0.0.0 would be every interface of this host).
			_, flags := framework.FlagNames(cmd)
			api := m.Process("kube-apiserver")
			for _, f := range flags {
				if !hasFlag(api.Args, f) {
					t.Errorf("INSTALL.md runs %q but the harness starts kube-apiserver without --%s", cmd, f)
				}
			}
		case prog == "kubectl" && len(words) > 1 && words[1] == "config":
			// On the second machine, writing ./kubeconfig.
			if out, err := m.KubectlOn(second, "", words[1:]...); err != nil {
				t.Fatalf("%s on %s: %v\n%s", cmd, second.Name, err, out)
			}
		case prog == "kubelet":
			m.StartNodeDaemon(second, prog, append(words[1:], m.KubeletFlags(second)...)...)
		case prog == "kube-proxy":
			m.StartNodeDaemon(second, prog, append(words[1:], m.ProxyFlags(second)...)...)
		}
	}
	if b, err := os.ReadFile(kubeconfig); err != nil || !strings.Contains(string(b), m.URL) {
		t.Fatalf("the guide's kubectl config commands did not write %s naming %s: %v\n%s", kubeconfig, m.URL, err, b)
	}
	m.WaitNodesReady(90*time.Second, second)
	t.Logf("%s joined, Ready %s after the start", second.Name, time.Since(start).Round(time.Millisecond))

	// Back on the first machine.
	out := runGuide(t, m, g, "kubectl get nodes -o wide")
	for _, n := range m.Nodes {
		// The second kubelet was given no --node-ip: its only interface, eth0, is the
		// node's InternalIP, as the guide says.
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(n.Name) + `\s+Ready\s.*\s` + regexp.QuoteMeta(n.IP.String()) + `\s`).MatchString(out) {
			t.Errorf("kubectl get nodes -o wide does not show %s Ready with INTERNAL-IP %s:\n%s", n.Name, n.IP, out)
		}
	}
	if out := runGuide(t, m, g, "kubectl scale deploy web --replicas=6"); strings.TrimSpace(out) != "deployment.apps/web scaled" {
		t.Errorf("kubectl scale printed %q", out)
	}
	pods := waitSpread(t, m, "app=web", 6, nil)
	out = runGuide(t, m, g, "kubectl get pods -o wide")
	for _, p := range pods {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p.Name) + `\s.*\sRunning\s.*\s` + regexp.QuoteMeta(p.IP) + `\s+` + regexp.QuoteMeta(p.Node) + `\s`).MatchString(out) {
			t.Errorf("kubectl get pods -o wide does not show %s Running with IP %s on %s:\n%s", p.Name, p.IP, p.Node, out)
		}
	}

	// The guide's curl loop, on each machine (the first with the harness's kubeconfig,
	// the second with the one the guide wrote).
	loop := ""
	for _, cmd := range g.Commands() {
		if strings.HasPrefix(cmd, "for ") {
			loop = cmd
		}
	}
	if loop == "" {
		t.Fatalf("INSTALL.md's second-node blocks have no `for` loop of curls")
	}
	nodeOf := map[string]string{}
	for _, p := range pods {
		nodeOf[p.Name] = p.Node
	}
	for _, n := range m.Nodes {
		kc := m.Kubeconfig
		if n == second {
			kc = kubeconfig
		}
		framework.Eventually(t, 90*time.Second, "the guide's curl loop on "+n.Name+" to be answered by pods of both nodes", func() error {
			out, err := m.ShellOn(n, g, kc, loop)
			if err != nil {
				return err
			}
			perNode, total, err := uniqCounts(out, nodeOf)
			if err != nil {
				return err
			}
			if total != 30 || len(perNode) != len(m.Nodes) {
				return fmt.Errorf("%d answers, per node %v:\n%s", total, perNode, out)
			}
			t.Logf("the curl loop on %s: answers per node %v", n.Name, perNode)
			return nil
		})
	}
	if left := g.Uncovered("kube", "for "); len(left) > 0 {
		t.Errorf("commands of INSTALL.md's second-node blocks that TestSecondNode does not run:\n  %s", strings.Join(left, "\n  "))
	}
	t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
}

// runGuide runs a kubectl command of the guide on the host (the first machine) with the
// harness's kubeconfig.
func runGuide(t *testing.T, m *framework.MultiNode, g *framework.Guide, cmd string) string {
	t.Helper()
	words := m.GuideWords(g, cmd)
	if words[0] != "kubectl" {
		t.Fatalf("%q: not a kubectl command", cmd)
	}
	return m.MustKubectl(words[1:]...)
}

// uniqCounts reads `sort | uniq -c` of httpenv answers ("  14 {"HOSTNAME": "web-..."}")
// and returns the answers per node of the pods in nodeOf, and their total.
func uniqCounts(out string, nodeOf map[string]string) (map[string]int, int, error) {
	perNode := map[string]int{}
	total := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		count, body, _ := strings.Cut(strings.TrimSpace(line), " ")
		n, err := strconv.Atoi(count)
		if err != nil {
			return nil, 0, fmt.Errorf("not `uniq -c` output: %q", line)
		}
		var answer map[string]string
		if err := json.Unmarshal([]byte(body), &answer); err != nil || answer["HOSTNAME"] == "" {
			return nil, 0, fmt.Errorf("%d requests answered %q, not httpenv's {\"HOSTNAME\": ...}", n, body)
		}
		node, ok := nodeOf[answer["HOSTNAME"]]
		if !ok {
			return nil, 0, fmt.Errorf("answered by %q, not a current pod of web", answer["HOSTNAME"])
		}
		perNode[node] += n
		total += n
	}
	return perNode, total, nil
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == "--"+flag || strings.HasPrefix(a, "--"+flag+"=") {
			return true
		}
	}
	return false
}

// TestSecondNodeGuide checks INSTALL.md's second-node blocks without a cluster: every
// command is one TestSecondNode knows how to run.
func TestSecondNodeGuide(t *testing.T) {
	g := framework.LoadInstallGuide(t, "second-node")
	for _, cmd := range g.Commands() {
		prog, _ := framework.FlagNames(cmd)
		switch {
		case prog == "kube-apiserver" || prog == "kubelet" || prog == "kube-proxy":
		case prog == "kubectl" && !strings.ContainsAny(cmd, "$`|;&"):
		case strings.HasPrefix(cmd, "for ") && strings.Contains(cmd, "curl"):
		default:
			t.Errorf("INSTALL.md's second-node blocks hold %q: only kubectl, the daemons and a `for` loop of curls are run", cmd)
		}
	}
}
