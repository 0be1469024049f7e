package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"kube5/e2e/framework"
)

// Helpers of the failure tests: deployments written as manifests and applied with
// kubectl, their pods read back with `kubectl get -o json`, and HTTP GETs of ClusterIPs.

// webApp is a deployment of httpenv behind a ClusterIP service on port 80, both named
// name, its pods labelled app=name. spec is spliced into the deployment's spec (lines
// indented by two spaces), container into its container (by eight).
func webApp(name, image string, replicas int, spec, container string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[3]d
  selector:
    matchLabels:
      app: %[1]s
%[4]s  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
      - name: web
        image: %[2]s
        ports:
        - containerPort: 8888
%[5]s---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector:
    app: %[1]s
  ports:
  - port: 80
    targetPort: 8888
`, name, image, replicas, spec, container)
}

// apply writes manifest to a file and runs `kubectl apply -f` on it.
func apply(t *testing.T, c *framework.Cluster, manifest string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(f, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	admin(t, c, "apply", "-f", f)
}

// admin runs kubectl with the harness's kubeconfig, failing the test on an error.
func admin(t *testing.T, c *framework.Cluster, args ...string) string {
	t.Helper()
	out, err := c.AdminKubectl(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// ctrStatus is what the pod's status says of a container.
type ctrStatus struct {
	ContainerID  string `json:"containerID"`
	RestartCount int    `json:"restartCount"`
	Image        string `json:"image"`
	ImageID      string `json:"imageID"`
}

// appPod is a pod as `kubectl get pods -o json` shows it.
type appPod struct {
	Name, Phase, IP, Image string
	Deleting, Ready        bool
	// Containers are the container statuses, by container name.
	Containers map[string]ctrStatus
}

// appPods lists the pods labelled app=app, terminating ones included, by name.
func appPods(c *framework.Cluster, app string) ([]appPod, error) {
	out, err := c.AdminKubectl("get", "pods", "-l", "app="+app, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("kubectl get pods: %v: %s", err, out)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name              string `json:"name"`
				DeletionTimestamp string `json:"deletionTimestamp"`
			} `json:"metadata"`
			Spec struct {
				Containers []struct {
					Image string `json:"image"`
				} `json:"containers"`
			} `json:"spec"`
			Status struct {
				Phase      string `json:"phase"`
				PodIP      string `json:"podIP"`
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
				ContainerStatuses []struct {
					Name string `json:"name"`
					ctrStatus
				} `json:"containerStatuses"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("kubectl get pods -o json: %v", err)
	}
	var pods []appPod
	for _, it := range list.Items {
		p := appPod{Name: it.Metadata.Name, Phase: it.Status.Phase, IP: it.Status.PodIP,
			Deleting: it.Metadata.DeletionTimestamp != "", Containers: map[string]ctrStatus{}}
		if len(it.Spec.Containers) > 0 {
			p.Image = it.Spec.Containers[0].Image
		}
		for _, cond := range it.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				p.Ready = true
			}
		}
		for _, cs := range it.Status.ContainerStatuses {
			p.Containers[cs.Name] = cs.ctrStatus
		}
		pods = append(pods, p)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// waitAppPods waits until app has exactly n pods, none terminating, all Running and Ready
// with image, and returns them.
func waitAppPods(t *testing.T, c *framework.Cluster, app string, n int, image string, timeout time.Duration) []appPod {
	t.Helper()
	var pods []appPod
	framework.Eventually(t, timeout, fmt.Sprintf("%d Running and Ready pods of %s on %s", n, app, image), func() error {
		var err error
		if pods, err = appPods(c, app); err != nil {
			return err
		}
		if len(pods) != n {
			return fmt.Errorf("%d pods: %+v", len(pods), pods)
		}
		for _, p := range pods {
			if p.Deleting || p.Phase != "Running" || !p.Ready || p.Image != image || p.Containers["web"].ContainerID == "" {
				return fmt.Errorf("not yet: %+v", pods)
			}
		}
		return nil
	})
	return pods
}

// serviceIP is the ClusterIP of the service name.
func serviceIP(t *testing.T, c *framework.Cluster, name string) string {
	t.Helper()
	ip := strings.TrimSpace(admin(t, c, "get", "svc", name, "-o", "jsonpath={.spec.clusterIP}"))
	if !strings.HasPrefix(ip, "10.0.0.") {
		t.Fatalf("service %s has ClusterIP %q, want one in 10.0.0.0/24", name, ip)
	}
	return ip
}

// httpClient opens a new connection per request, as a fresh client would: every GET goes
// through kube-proxy's rules as they are at that moment.
var httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// hostOf GETs http://ip/ of a ClusterIP and returns the HOSTNAME httpenv answered with.
// It sends nothing unless the service CIDR is routed to kube-proxy's bridge.
func hostOf(ip string) (string, error) {
	if err := serviceCIDRRouted(); err != nil {
		return "", err
	}
	resp, err := httpClient.Get("http://" + ip + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET http://%s/: reading the body: %w", ip, err)
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

// waitServes waits until 20 GETs of the ClusterIP in a row are answered, each by one of
// pods, and between them by all of them.
func waitServes(t *testing.T, ip string, pods []appPod) {
	t.Helper()
	want := map[string]bool{}
	for _, p := range pods {
		want[p.Name] = true
	}
	framework.Eventually(t, 60*time.Second, fmt.Sprintf("http://%s/ to be answered by all of %d pods", ip, len(pods)), func() error {
		seen := map[string]bool{}
		for range 20 {
			host, err := hostOf(ip)
			if err != nil {
				return err
			}
			if !want[host] {
				return fmt.Errorf("answered by %q, not one of %v", host, want)
			}
			seen[host] = true
		}
		if len(seen) != len(want) {
			return fmt.Errorf("20 GETs reached only %v of %v", seen, want)
		}
		return nil
	})
}

// imageID is Docker's ID of a local image, as the kubelet reports it in imageID.
func imageID(t *testing.T, image string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", image).CombinedOutput()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v: %s (run `make images`)", image, err, out)
	}
	return "docker://" + strings.TrimSpace(string(out))
}

// rolloutStatus runs `kubectl rollout status` until it reports success or timeout passes
// (one kubectl run is bounded by the harness's 60s).
func rolloutStatus(t *testing.T, c *framework.Cluster, deploy string, timeout time.Duration) {
	t.Helper()
	framework.Eventually(t, timeout, "kubectl rollout status "+deploy, func() error {
		out, err := c.AdminKubectl("rollout", "status", deploy, "--timeout=45s")
		if err != nil || !strings.Contains(out, "successfully rolled out") {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}

// serviceCIDRRouted checks that 10.0.0.0/24 is routed to kube-proxy's local bridge
// kube5-svc, so a GET of a ClusterIP that is not (or no longer) proxied dies on this host
// instead of going to the default gateway (design.md §6). It reads /proc/net/route, cheap
// enough to check before every request: another test's `kube-proxy --cleanup` or a
// stopped kube-proxy may remove the route at any time.
func serviceCIDRRouted() error {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return fmt.Errorf("not sending: cannot read the routes: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// Iface Destination Gateway Flags RefCnt Use Metric Mask ...: little-endian hex.
		f := strings.Fields(line)
		if len(f) >= 8 && f[0] == "kube5-svc" && f[1] == "0000000A" && f[7] == "00FFFFFF" {
			return nil
		}
	}
	return errors.New("not sending: the service CIDR 10.0.0.0/24 is not routed to kube5-svc (is kube-proxy running?)")
}
