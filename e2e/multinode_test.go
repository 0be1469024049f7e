package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"kube5/e2e/framework"
)

// TestMultiNodeNetwork: on two nodes (network namespaces with their own dockerd, kubelet
// and kube-proxy, on one bridge), the pod network and the services work across nodes:
// from each node every pod answers on its IP, the ClusterIP answers from pods on both
// nodes, and the NodePort answers on every node's IP.
func TestMultiNodeNetwork(t *testing.T) {
	start := time.Now()
	m := framework.StartMultiNode(t, 2, framework.MultiNodeOptions{})
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
	t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
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
