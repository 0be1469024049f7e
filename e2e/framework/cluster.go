// Package framework is kube5's end-to-end harness: it starts the built binaries
// (kube-apiserver on its embedded etcd, kube-controller-manager, kube-scheduler, kubelet,
// kube-proxy) as separate processes on this machine, runs bin/kubectl against them, and
// tears everything down when the test ends, failed or not: the processes (SIGTERM, then
// SIGKILL), the pods' containers of the test's node (docker rm -f by label) and
// kube-proxy's rules and routes (kube-proxy --cleanup). It builds nothing: the binaries
// come from $KUBE5_BIN, else the directory of $KUBE5_APISERVER, else <repo>/bin, and a
// test skips with a message when they are missing.
//
// kube-proxy programs the host's nat table and routes the service CIDR to a local bridge,
// so only one cluster may run on a host at a time: tests using Start must not call
// t.Parallel, Start waits for the host lock (hostlock.go) that other test binaries' clusters
// hold, and it skips when a kube-proxy of another kind (e.g. `make cluster`) is running.
package framework

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Binaries are the programs Start needs in BinDir.
var Binaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl"}

// Labels the kubelet puts on its containers (kubelet/internal/runtime).
const (
	LabelPodUID = "io.kubernetes.pod.uid"
	LabelNode   = "io.kube5.node"
)

// Cluster is a running one-node kube5 cluster.
type Cluster struct {
	// BinDir holds the binaries; RepoRoot is the source tree, "" when unknown.
	BinDir, RepoRoot string
	// Dir is the test's directory: logs/, the kubeconfigs, etcd data, the kubelet's root.
	// It is removed when the test passed, kept when it failed.
	Dir string
	// URL is the apiserver's http://127.0.0.1:PORT. The port was free at start and stays
	// the apiserver's across restarts (StartAgain).
	URL string
	// EtcdURL is the client URL of the external etcd (Options.ExternalEtcd), else "".
	EtcdURL string
	// NodeName is the kubelet's --hostname-override, unique per test.
	NodeName string
	// Kubeconfig names the apiserver for the daemons (written by the harness);
	// UserKubeconfig is the KUBECONFIG of Kubectl, which starts empty: the walkthrough
	// fills it with `kubectl config set-cluster/set-context/use-context`.
	Kubeconfig, UserKubeconfig string

	t     testing.TB
	procs []*Process
}

// Options tune Start.
type Options struct {
	// Extra flags per binary name, appended to the harness's own.
	ExtraFlags map[string][]string
	// ExternalEtcd runs bin/etcd as a daemon of its own (Process("etcd"), EtcdURL) and
	// the apiserver with --etcd-servers, instead of the apiserver's embedded etcd.
	ExternalEtcd bool
}

// BinDir returns the directory of the built binaries and the repository root ("" if not
// found): $KUBE5_BIN, else the directory of $KUBE5_APISERVER, else <repo>/bin.
func BinDir() (bin, repo string) {
	repo = repoRoot()
	switch {
	case os.Getenv("KUBE5_BIN") != "":
		bin = os.Getenv("KUBE5_BIN")
	case os.Getenv("KUBE5_APISERVER") != "":
		bin = filepath.Dir(os.Getenv("KUBE5_APISERVER"))
	case repo != "":
		bin = filepath.Join(repo, "bin")
	}
	return bin, repo
}

func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// RequireBinaries skips the test unless every binary is in the bin directory.
func RequireBinaries(t testing.TB) (bin, repo string) {
	t.Helper()
	bin, repo = BinDir()
	if bin == "" {
		t.Skip("e2e: no binaries: set KUBE5_BIN (or KUBE5_APISERVER) or run `make build` in the repository")
	}
	for _, b := range Binaries {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Skipf("e2e: %s is missing (%v); run `make build` first, or set KUBE5_BIN", b, err)
		}
	}
	return bin, repo
}

// RequireHost skips the test unless this host can run a node: root (iptables, routes),
// no other kube-proxy running, and Docker with kube5's images (hack/start-docker.sh and
// hack/images.sh install and build what is missing).
func RequireHost(t testing.TB, repo string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root (kube-proxy programs iptables and routes, the kubelet runs Docker containers)")
	}
	if pid := RunningProcess("kube-proxy"); pid != 0 {
		t.Skipf("e2e: a kube-proxy is already running (pid %d; `make cluster`?): only one cluster may "+
			"program this host's iptables at a time; stop it and run the e2e tests again", pid)
	}
	if repo != "" {
		for _, script := range []string{"hack/start-docker.sh", "hack/images.sh"} {
			cmd := exec.Command(filepath.Join(repo, script))
			cmd.Dir = repo
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("e2e: %s: %v\n%s", script, err, out)
			}
		}
	}
	if out, err := exec.Command("docker", "image", "inspect", "kube5/pause:3.10", "kube5/httpenv:1.0").CombinedOutput(); err != nil {
		t.Skipf("e2e: Docker or kube5's images are not available (%v: %s); run `make images`", err, strings.TrimSpace(string(out)))
	}
}

// RunningProcess returns the pid of a process whose command name is name and that runs in
// this process's network namespace, or 0. One in another namespace (a node of the
// multi-node harness) programs that namespace's iptables, not ours.
func RunningProcess(name string) int {
	self, _ := os.Readlink("/proc/self/ns/net")
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		if ns, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "net")); err == nil && self != "" && ns != self {
			continue
		}
		return pid
	}
	return 0
}

// FreePort returns a loopback port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// servingRE finds the address in kube-apiserver's "Serving the API" log line.
var servingRE = regexp.MustCompile(`"Serving the API[^"]*" address="([^"]+)"`)

// Start runs a one-node cluster for the test and registers its teardown.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bin, repo := RequireBinaries(t)
	if os.Geteuid() == 0 && !LockHost(t) {
		t.Skip("e2e: another test's cluster kept this host busy; run the e2e tests again when it is done")
	}
	RequireHost(t, repo)
	// Not t.TempDir: the logs stay when the test failed.
	dir, err := os.MkdirTemp("", "kube5-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{
		BinDir: bin, RepoRoot: repo, Dir: dir, t: t,
		NodeName:       fmt.Sprintf("e2e-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6),
		Kubeconfig:     filepath.Join(dir, "admin.kubeconfig"),
		UserKubeconfig: filepath.Join(dir, "kube", "config"),
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.teardown)

	cmPort, schedPort := FreePort(t), FreePort(t)
	extra := func(name string) []string { return opts.ExtraFlags[name] }
	storage := []string{
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--embedded-etcd-listen-client-url=http://127.0.0.1:0",
		"--embedded-etcd-listen-peer-url=http://127.0.0.1:0",
	}
	if opts.ExternalEtcd {
		storage = []string{"--etcd-servers=" + c.startEtcd()}
	}
	api := c.start("kube-apiserver", append(append(storage,
		"--insecure-port=0",
		fmt.Sprintf("--scheduler-health-url=http://127.0.0.1:%d/healthz", schedPort),
		fmt.Sprintf("--controller-manager-health-url=http://127.0.0.1:%d/healthz", cmPort),
	), extra("kube-apiserver")...)...)
	Eventually(t, 60*time.Second, "kube-apiserver to serve", func() error {
		if c.URL == "" {
			m := servingRE.FindStringSubmatch(api.Log())
			if m == nil {
				if api.Exited(0) {
					t.Fatalf("kube-apiserver exited (%v):\n%s", api.ExitErr(), api.Tail(20))
				}
				return errors.New(`no "Serving the API" line in its log yet`)
			}
			c.URL = "http://" + m[1]
		}
		return httpOK(c.URL + "/readyz")
	})
	// The daemons and kubectl know the apiserver by this URL: a restart keeps the port.
	port, err := portOf(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	pinFlag(api, "insecure-port", port)
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
contexts:
- name: e2e
  context:
    cluster: e2e
current-context: e2e
`, c.URL)
	if err := os.WriteFile(c.Kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	c.start("kube-controller-manager", append([]string{
		"--master=" + c.URL, "--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", cmPort),
	}, extra("kube-controller-manager")...)...)
	c.start("kube-scheduler", append([]string{
		"--master=" + c.URL, "--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", schedPort),
	}, extra("kube-scheduler")...)...)
	c.start("kubelet", append([]string{
		"--kubeconfig=" + c.Kubeconfig,
		"--hostname-override=" + c.NodeName,
		"--root-dir=" + filepath.Join(dir, "kubelet"),
		"--healthz-bind-address=127.0.0.1",
		fmt.Sprintf("--port=%d", FreePort(t)),
		fmt.Sprintf("--read-only-port=%d", FreePort(t)),
		fmt.Sprintf("--healthz-port=%d", FreePort(t)),
	}, extra("kubelet")...)...)
	c.start("kube-proxy", append([]string{
		"--master=" + c.URL,
		"--hostname-override=" + c.NodeName,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", FreePort(t)),
		fmt.Sprintf("--healthz-bind-address=127.0.0.1:%d", FreePort(t)),
	}, extra("kube-proxy")...)...)
	return c
}

// startEtcd runs bin/etcd on free loopback ports with its data in Dir/etcd, waits until it
// is healthy, and returns its client URL.
func (c *Cluster) startEtcd() string {
	c.t.Helper()
	if _, err := os.Stat(filepath.Join(c.BinDir, "etcd")); err != nil {
		c.t.Skipf("e2e: etcd is missing (%v); run `make build` first, or set KUBE5_BIN", err)
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", FreePort(c.t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", FreePort(c.t))
	p := c.start("etcd", "--name=e2e", "--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer)
	c.EtcdURL = client
	Eventually(c.t, 60*time.Second, "etcd to serve at "+client, func() error {
		if p.Exited(0) {
			c.t.Fatalf("etcd exited (%v):\n%s", p.ExitErr(), p.Tail(20))
		}
		return httpOK(client + "/health")
	})
	return client
}

func (c *Cluster) start(name string, args ...string) *Process {
	c.t.Helper()
	p, err := StartProcess(filepath.Join(c.BinDir, name), filepath.Join(c.Dir, "logs", name+".log"), nil, args...)
	if err != nil {
		c.t.Fatalf("starting %s: %v", name, err)
	}
	c.procs = append(c.procs, p)
	return p
}

// HasFlag reports whether the harness started the daemon name with --flag.
func (c *Cluster) HasFlag(name, flag string) bool {
	p := c.Process(name)
	if p == nil {
		return false
	}
	for _, a := range p.Args {
		if a == "--"+flag || strings.HasPrefix(a, "--"+flag+"=") {
			return true
		}
	}
	return false
}

// Process returns the daemon called name.
func (c *Cluster) Process(name string) *Process {
	for _, p := range c.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// teardown stops the daemons (newest first), removes the node's containers and kube-proxy's
// rules, and prints the tails of the logs when the test failed.
func (c *Cluster) teardown() {
	if c.t.Failed() && c.URL != "" {
		for _, args := range [][]string{
			{"get", "nodes", "-o", "wide"},
			{"get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name} podCIDR={.spec.podCIDR} {.status.conditions}{"\n"}{end}`},
			{"get", "pods", "-A", "-o", "wide"},
			{"get", "deployments,replicasets,services,endpoints", "-A"},
		} {
			out, err := c.AdminKubectl(args...)
			c.t.Logf("---- kubectl %s (%v) ----\n%s", strings.Join(args, " "), err, out)
		}
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].Stop(15 * time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq",
		"--filter", "label="+LabelPodUID, "--filter", "label="+LabelNode+"="+c.NodeName).Output()
	if ids := strings.Fields(string(out)); err == nil && len(ids) > 0 {
		if out, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f"}, ids...)...).CombinedOutput(); err != nil {
			c.t.Errorf("removing the node's containers: %v\n%s", err, out)
		}
	} else if err != nil {
		c.t.Logf("listing the node's containers: %v", err)
	}
	if out, err := exec.CommandContext(ctx, filepath.Join(c.BinDir, "kube-proxy"), "--cleanup").CombinedOutput(); err != nil {
		c.t.Errorf("kube-proxy --cleanup: %v\n%s", err, out)
	}
	if c.t.Failed() {
		for _, p := range c.procs {
			c.t.Logf("---- last lines of %s (%s; exit: %v) ----\n%s", p.Name, p.LogPath, p.ExitErr(), p.Tail(60))
		}
		c.t.Logf("the logs are kept in %s", filepath.Join(c.Dir, "logs"))
		return
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		c.t.Logf("removing %s: %v", c.Dir, err)
	}
}

// Kubectl runs bin/kubectl with KUBECONFIG=UserKubeconfig and returns its combined output.
func (c *Cluster) Kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.UserKubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustKubectl is Kubectl failing the test on an error.
func (c *Cluster) MustKubectl(args ...string) string {
	c.t.Helper()
	out, err := c.Kubectl(args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// AdminKubectl runs kubectl with the harness's own kubeconfig (usable before the test
// has configured UserKubeconfig).
func (c *Cluster) AdminKubectl(args ...string) (string, error) {
	return c.Kubectl(append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
}

// Eventually calls f until it returns nil, failing the test with f's last error after
// timeout. It polls (every 250ms); it never waits a fixed time for something.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func httpOK(url string) error {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
