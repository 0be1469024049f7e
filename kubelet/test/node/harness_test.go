// Package node holds the kubelet's node tests: the real kubelet (in-process, through
// app.Setup) on the real Docker daemon against a real kube-apiserver. dockerd is started
// with hack/start-docker.sh when it is not running; the tests skip only when that fails.
// Every kubelet runs under its own node name, and its containers (labelled with it) and
// networks are removed when the test ends, passed or failed.
package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dockerclient "github.com/docker/docker/client"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/kubeconfig"
	"kube5/proto/remotecommand"

	"kube5/kubelet/app"
	"kube5/kubelet/app/options"
	"kube5/kubelet/internal/runtime"
)

var (
	setupOnce sync.Once
	skipMsg   string
	setupErr  error
	docker    *dockerclient.Client
)

// images the tests use.
var testImages = []string{"kube5/pause:3.10", "kube5/testbox:1.0", "kube5/crasher:1.0", "kube5/noterm:1.0", "kube5/httpenv:1.0"}

func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (go.work)")
		}
		dir = parent
	}
}

// requireDocker starts dockerd when needed and builds the test images when missing.
func requireDocker(t *testing.T) {
	t.Helper()
	setupOnce.Do(func() {
		root := repoRoot(t)
		if exec.Command("docker", "info").Run() != nil {
			out, err := exec.Command(filepath.Join(root, "hack/start-docker.sh")).CombinedOutput()
			if err != nil {
				skipMsg = fmt.Sprintf("dockerd cannot be started (hack/start-docker.sh: %v): %s", err, out)
				return
			}
		}
		c, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
		if err != nil {
			setupErr = err
			return
		}
		docker = c
		for _, img := range testImages {
			if _, err := c.ImageInspect(context.Background(), img); err != nil {
				out, err := exec.Command(filepath.Join(root, "hack/images.sh")).CombinedOutput()
				if err != nil {
					setupErr = fmt.Errorf("building the images (hack/images.sh): %v: %s", err, out)
				}
				break
			}
		}
	})
	if skipMsg != "" {
		t.Skip(skipMsg)
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// kubelet is one in-process kubelet.
type kubelet struct {
	name    string
	opts    *options.Options
	srv     *app.Server
	cancel  context.CancelFunc
	done    chan struct{}
	baseURL string
}

// startKubelet runs a kubelet named name: with api (nil: standalone) and, optionally,
// a manifest directory. Cleanup stops it, then removes its containers and networks.
func startKubelet(t *testing.T, api *apiservertest.Server, name, rootDir, manifests string) *kubelet {
	t.Helper()
	return startKubeletWith(t, api, name, rootDir, manifests, nil)
}

// startKubeletWith is startKubelet with the options adjusted by tweak (nil: none).
func startKubeletWith(t *testing.T, api *apiservertest.Server, name, rootDir, manifests string, tweak func(*options.Options)) *kubelet {
	t.Helper()
	o := options.New()
	o.HostnameOverride = name
	o.RootDir = rootDir
	o.NodeIP = "127.0.0.1"
	o.Address = "127.0.0.1"
	o.Port = apiservertest.FreePort(t)
	o.ReadOnlyPort, o.HealthzPort = 0, 0
	o.NodeStatusUpdateFrequency = 2 * time.Second
	o.FileCheckFrequency = time.Second
	o.PodManifestPath = manifests
	o.PodCIDRTimeout = 0 // no controller-manager here: no podCIDR comes; pods use Docker's bridge
	if api != nil {
		kc := &kubeconfig.Config{}
		kc.SetCluster("test", api.URL)
		kc.SetContext("test", "test", "", "")
		kc.CurrentContextName = "test"
		path := filepath.Join(t.TempDir(), "kubeconfig")
		if err := kc.Save(path); err != nil {
			t.Fatal(err)
		}
		o.Kubeconfig = path
	}
	if tweak != nil {
		tweak(o)
	}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := app.Setup(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	k := &kubelet{name: name, opts: o, srv: s, cancel: cancel, done: make(chan struct{}), baseURL: "http://127.0.0.1:" + strconv.Itoa(o.Port)}
	go func() {
		defer close(k.done)
		_ = s.Run(ctx)
	}()
	t.Cleanup(k.stop)
	return k
}

func (k *kubelet) stop() {
	k.cancel()
	<-k.done
}

// cleanupNode removes every container and network of node name when the test ends
// (register it before starting the kubelet: cleanups run last-in first-out).
func cleanupNode(t *testing.T, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelNode+"="+name))})
		if err != nil {
			t.Errorf("cleanup: listing containers: %v", err)
		}
		for _, c := range list {
			// NotFound: the kubelet's own removal, cut short when it stopped, finished first.
			// "Already in progress": it is still running (a pod deleted just before the
			// end); wait for it to finish rather than call it a failure.
			err := docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
			if err != nil && strings.Contains(err.Error(), "already in progress") {
				for err = nil; ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
					if _, ierr := docker.ContainerInspect(ctx, c.ID); dockerclient.IsErrNotFound(ierr) {
						break
					}
				}
				err = ctx.Err()
			}
			if err != nil && !dockerclient.IsErrNotFound(err) {
				t.Errorf("cleanup: removing %s: %v", c.Names, err)
			}
		}
	})
}

func cleanupNetwork(t *testing.T, cidr string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		nets, _ := docker.NetworkList(ctx, network.ListOptions{})
		for _, n := range nets {
			for _, c := range n.IPAM.Config {
				if c.Subnet == cidr && n.Labels["io.kube5.network"] != "" {
					if err := docker.NetworkRemove(ctx, n.ID); err != nil {
						t.Errorf("cleanup: removing network %s: %v", n.Name, err)
					}
				}
			}
		}
	})
}

// waitFor polls cond every 100ms until it holds, failing the test after d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", d, what, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPod polls the pod until cond holds and returns it.
func waitPod(t *testing.T, cs *client.Clientset, ns, name, what string, d time.Duration, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	waitFor(t, fmt.Sprintf("pod %s/%s: %s", ns, name, what), d, func() (bool, error) {
		p, err := cs.Pods(ns).Get(context.Background(), name)
		if err != nil {
			return false, err
		}
		pod = p
		return cond(p), fmt.Errorf("status: %v", p.GetStatus())
	})
	return pod
}

func running(p *corev1.Pod) bool { return p.GetStatus().GetPhase() == "Running" }

func podReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

func newPod(name, node string, containers ...*corev1.Container) *corev1.Pod {
	g := int64(2)
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:     &corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: &g, Containers: containers},
	}
}

func box(name string, args ...string) *corev1.Container {
	return &corev1.Container{Name: name, Image: "kube5/testbox:1.0", Args: args}
}

func createPod(t *testing.T, cs *client.Clientset, p *corev1.Pod) {
	t.Helper()
	if _, err := cs.Pods(p.GetMetadata().GetNamespace()).Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// execIn runs a command through the kubelet's exec endpoint.
func (k *kubelet) execIn(t *testing.T, ns, pod, ctr string, stdin io.Reader, cmd ...string) (string, int) {
	t.Helper()
	q := "stdout=1&stderr=1"
	if stdin != nil {
		q += "&stdin=1"
	}
	for _, c := range cmd {
		q += "&command=" + urlQueryEscape(c)
	}
	var out bytes.Buffer
	code, err := remotecommand.Exec(context.Background(), fmt.Sprintf("%s/exec/%s/%s/%s?%s", k.baseURL, ns, pod, ctr, q), remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %v: %v (output %q)", cmd, err, out.String())
	}
	return out.String(), code
}

// logs reads /containerLogs with the given query.
func (k *kubelet) logs(t *testing.T, ns, pod, ctr, query string) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/containerLogs/%s/%s/%s?%s", k.baseURL, ns, pod, ctr, query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("logs: %s: %s", resp.Status, b)
	}
	return string(b)
}

func urlQueryEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", " ", "%20", "=", "%3D", "?", "%3F", "#", "%23", "/", "%2F")
	return r.Replace(s)
}

// nodeContainers lists node's containers by their container-name label (running only
// when runningOnly).
func nodeContainers(t *testing.T, node, podName string) map[string][]container.Summary {
	t.Helper()
	list, err := docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", runtime.LabelNode+"="+node), filters.Arg("label", runtime.LabelPodName+"="+podName))})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]container.Summary{}
	for _, c := range list {
		out[c.Labels[runtime.LabelContainerName]] = append(out[c.Labels[runtime.LabelContainerName]], c)
	}
	return out
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
