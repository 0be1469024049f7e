package framework

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// MultiNode is a running multi-node kube5 cluster (design.md §7). The control plane
// (kube-apiserver on its embedded etcd, kube-controller-manager, kube-scheduler) runs in
// the host's network namespace, the apiserver serving on the host's address of a bridge
// the harness made; every node is a network namespace on that bridge with its own
// dockerd, kubelet and kube-proxy, so each node has its own routes, iptables and
// containers, as separate machines would. The nodes reach nothing but each other and the
// host's address on the bridge: they have no default route.
//
// Teardown, failed or not, stops the node daemons, removes every container of every
// node's dockerd, stops the dockerds and sweeps what they leave in the shared mount
// table and cgroup tree, deletes the namespaces (their links, routes and rules go with
// them) and the host's link, and stops the control plane. When the test failed it prints
// the cluster's state and the tails of the logs, and keeps the logs.
type MultiNode struct {
	// BinDir holds the binaries; RepoRoot is the source tree, "" when unknown.
	BinDir, RepoRoot string
	// Dir is the test's directory: logs/, the kubeconfig, etcd's data, one directory per
	// node. Only logs/ is kept when the test failed.
	Dir string
	// URL is the apiserver's http://<HostIP>:PORT.
	URL string
	// HostIP is the host's address on the nodes' bridge; Subnet is the bridge's /24.
	HostIP netip.Addr
	Subnet netip.Prefix
	// Kubeconfig names URL: the harness's daemons use it, and so does Kubectl.
	Kubeconfig string
	// Nodes in the order they were added.
	Nodes []*Node

	t      testing.TB
	opts   MultiNodeOptions
	lan    *lan
	procs  []*Process // the control plane
	images string     // the docker save archive every node loads
}

// Node is one node of a MultiNode: a network namespace with a dockerd, and the kubelet
// and kube-proxy once started.
type Node struct {
	// Name is the node's name (kubelet and kube-proxy --hostname-override), unique per
	// test.
	Name string
	// IP is its address on the bridge (its InternalIP).
	IP netip.Addr
	// NS is its network namespace.
	NS *NetNS
	// Dir is its directory: the dockerd's roots, the kubelet's root, and the working
	// directory of its daemons.
	Dir string
	// DockerHost is its dockerd's endpoint (unix://...).
	DockerHost string

	docker *nodeDocker
	procs  []*Process // kubelet, kube-proxy
}

// MultiNodeOptions tune StartMultiNode.
type MultiNodeOptions struct {
	// Extra flags per binary name, appended to the harness's own (pflag: the last value
	// of a flag given twice wins). "kubelet" and "kube-proxy" apply to every node.
	ExtraFlags map[string][]string
	// Images are loaded into every node's dockerd from the host's Docker; default
	// kube5/pause:3.10 and kube5/httpenv:1.0.
	Images []string
}

// DefaultNodeImages are what every node gets unless MultiNodeOptions.Images says.
var DefaultNodeImages = []string{"kube5/pause:3.10", "kube5/httpenv:1.0"}

// StartMultiNode runs the control plane and n nodes (kubelet and kube-proxy running,
// not waited for: see WaitNodesReady) and registers the teardown.
func StartMultiNode(t testing.TB, n int, opts MultiNodeOptions) *MultiNode {
	t.Helper()
	m := StartControlPlane(t, opts)
	for _, node := range m.AddNodes(n) {
		m.JoinNode(node)
	}
	return m
}

// StartControlPlane runs the bridge and the control plane, no node yet: AddNodes adds
// namespaces with their dockerd, JoinNode (or StartNodeDaemon) starts their daemons.
func StartControlPlane(t testing.TB, opts MultiNodeOptions) *MultiNode {
	t.Helper()
	bin, repo := RequireBinaries(t)
	requireMultiNodeHost(t, repo)
	sweepStale(t)
	if len(opts.Images) == 0 {
		opts.Images = DefaultNodeImages
	}
	dir, err := os.MkdirTemp("", "kube5-mn-")
	if err != nil {
		t.Fatal(err)
	}
	m := &MultiNode{BinDir: bin, RepoRoot: repo, Dir: dir, t: t, opts: opts, Kubeconfig: filepath.Join(dir, "admin.kubeconfig")}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeOwner(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.teardown)
	if m.lan, err = claimLAN(); err != nil {
		t.Fatalf("e2e: the nodes' network: %v", err)
	}
	m.HostIP, m.Subnet = m.lan.hostIP(), m.lan.prefix
	t.Logf("multi-node cluster: bridge %s (host %s on %s), directory %s", m.Subnet, m.HostIP, m.lan.hostLink, dir)

	// Every node loads the images from one archive of the host's Docker.
	m.images = filepath.Join(dir, "images.tar")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", append([]string{"save", "-o", m.images}, opts.Images...)...).CombinedOutput(); err != nil {
		t.Fatalf("e2e: docker save %s: %v: %s (run `make images`)", strings.Join(opts.Images, " "), err, out)
	}

	cmPort, schedPort := FreePort(t), FreePort(t)
	api := m.start("kube-apiserver", append([]string{
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--embedded-etcd-listen-client-url=http://127.0.0.1:0",
		"--embedded-etcd-listen-peer-url=http://127.0.0.1:0",
		// The nodes reach the API on the bridge: the host's address there, a free port.
		"--address=" + m.HostIP.String(),
		"--insecure-port=0",
		fmt.Sprintf("--scheduler-health-url=http://127.0.0.1:%d/healthz", schedPort),
		fmt.Sprintf("--controller-manager-health-url=http://127.0.0.1:%d/healthz", cmPort),
	}, opts.ExtraFlags["kube-apiserver"]...)...)
	Eventually(t, 60*time.Second, "kube-apiserver to serve", func() error {
		if m.URL == "" {
			sm := servingRE.FindStringSubmatch(api.Log())
			if sm == nil {
				if api.Exited(0) {
					return fmt.Errorf("kube-apiserver exited: %v\n%s", api.ExitErr(), api.Tail(20))
				}
				return errors.New(`no "Serving the API" line in its log yet`)
			}
			m.URL = "http://" + sm[1]
		}
		return httpOK(m.URL + "/readyz")
	})
	if err := os.WriteFile(m.Kubeconfig, []byte(kubeconfigFor(m.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start("kube-controller-manager", append([]string{
		"--master=" + m.URL, "--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", cmPort),
	}, opts.ExtraFlags["kube-controller-manager"]...)...)
	m.start("kube-scheduler", append([]string{
		"--master=" + m.URL, "--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", schedPort),
	}, opts.ExtraFlags["kube-scheduler"]...)...)
	return m
}

// requireMultiNodeHost skips the test unless this host can run nodes in namespaces:
// root, ip and nsenter, dockerd, and kube5's images in the host's Docker. Unlike
// RequireHost it does not mind a kube-proxy on the host: the nodes' kube-proxies
// program their own namespaces only.
func requireMultiNodeHost(t testing.TB, repo string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("e2e: multi-node needs root (network namespaces, a dockerd per node, iptables)")
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
	for _, bin := range []string{"ip", "nsenter", "dockerd", "docker", "iptables", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("e2e: multi-node needs %s (apt-get install -y iproute2 util-linux docker.io iptables curl)", bin)
		}
	}
	if out, err := exec.Command("docker", "image", "inspect", "kube5/pause:3.10", "kube5/httpenv:1.0").CombinedOutput(); err != nil {
		t.Skipf("e2e: Docker or kube5's images are not available (%v: %s); run `make images`", err, strings.TrimSpace(string(out)))
	}
}

func kubeconfigFor(url string) string {
	return fmt.Sprintf(`apiVersion: v1
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
`, url)
}

func (m *MultiNode) start(name string, args ...string) *Process {
	m.t.Helper()
	p, err := StartProcess(filepath.Join(m.BinDir, name), filepath.Join(m.Dir, "logs", name+".log"), nil, args...)
	if err != nil {
		m.t.Fatalf("starting %s: %v", name, err)
	}
	m.procs = append(m.procs, p)
	return p
}

// Process returns the control-plane daemon called name.
func (m *MultiNode) Process(name string) *Process {
	for _, p := range m.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// AddNodes adds k nodes: their namespaces on the bridge, their dockerds (started
// together, then waited for) with the images loaded. Their daemons are not started.
func (m *MultiNode) AddNodes(k int) []*Node {
	m.t.Helper()
	var added []*Node
	for range k {
		i := len(m.Nodes)
		node := &Node{
			Name: fmt.Sprintf("mn%d-%d-n%d", m.lan.n, os.Getpid(), i),
			IP:   m.lan.nodeIP(i),
			Dir:  filepath.Join(m.Dir, fmt.Sprintf("n%d", i)),
		}
		ns, err := m.lan.addNode(i)
		node.NS = ns
		if ns != nil {
			m.Nodes = append(m.Nodes, node) // from here on, teardown removes it
		}
		if err != nil {
			m.t.Fatalf("e2e: node %d's namespace: %v", i, err)
		}
		d, err := startNodeDocker(ns, filepath.Join(node.Dir, "docker"), "/"+ns.Name,
			filepath.Join(m.Dir, "logs", node.Name+"-dockerd.log"))
		if err != nil {
			m.t.Fatal(err)
		}
		node.docker, node.DockerHost = d, d.Host
		added = append(added, node)
	}
	for _, node := range added {
		Eventually(m.t, 90*time.Second, "the dockerd of "+node.Name, node.docker.ready)
		if err := node.docker.load(m.images); err != nil {
			m.t.Fatalf("e2e: loading %s into %s: %v", strings.Join(m.opts.Images, " "), node.Name, err)
		}
	}
	return added
}

// AddNode adds one node (see AddNodes).
func (m *MultiNode) AddNode() *Node { return m.AddNodes(1)[0] }

// KubeletFlags are the flags a kubelet needs to be this node rather than the host: its
// name, its dockerd, its own root directory. JoinNode adds --kubeconfig and --node-ip.
func (m *MultiNode) KubeletFlags(n *Node) []string {
	return []string{
		"--hostname-override=" + n.Name,
		"--docker-endpoint=" + n.DockerHost,
		"--root-dir=" + filepath.Join(n.Dir, "kubelet"),
	}
}

// ProxyFlags are the flags a kube-proxy needs to be this node's: its name.
func (m *MultiNode) ProxyFlags(n *Node) []string {
	return []string{"--hostname-override=" + n.Name}
}

// JoinNode starts the node's kubelet and kube-proxy with the harness's kubeconfig, the
// node's flags and the options' extra flags.
func (m *MultiNode) JoinNode(n *Node) {
	m.t.Helper()
	m.StartNodeDaemon(n, "kubelet", append(append([]string{"--kubeconfig=" + m.Kubeconfig, "--node-ip=" + n.IP.String()},
		m.KubeletFlags(n)...), m.opts.ExtraFlags["kubelet"]...)...)
	m.StartNodeDaemon(n, "kube-proxy", append(append([]string{"--kubeconfig=" + m.Kubeconfig},
		m.ProxyFlags(n)...), m.opts.ExtraFlags["kube-proxy"]...)...)
}

// StartNodeDaemon starts BinDir/name with exactly args inside the node's namespace, in
// the node's directory (a relative path in args is the node's). Every daemon of a node
// uses its namespace's default ports: namespaces do not share ports.
func (m *MultiNode) StartNodeDaemon(n *Node, name string, args ...string) *Process {
	m.t.Helper()
	nsArgs := append([]string{"--net=" + n.NS.Path, "--wd=" + n.Dir, "--", filepath.Join(m.BinDir, name)}, args...)
	p, err := StartProcess("/usr/bin/nsenter", filepath.Join(m.Dir, "logs", n.Name+"-"+name+".log"), nil, nsArgs...)
	if err != nil {
		m.t.Fatalf("starting %s on %s: %v", name, n.Name, err)
	}
	// nsenter execs the daemon (no fork for a network namespace): the pid is the
	// daemon's, and the name is what Process looks for. Args stay nsenter's, whose last
	// ones are the daemon's (HasFlag looks at those), so that a restart runs it alike.
	p.Name = name
	n.procs = append(n.procs, p)
	return p
}

// Process returns the node's daemon called name (kubelet, kube-proxy, dockerd).
func (n *Node) Process(name string) *Process {
	if name == "dockerd" && n.docker != nil {
		return n.docker.proc
	}
	for i := len(n.procs) - 1; i >= 0; i-- {
		if n.procs[i].Name == name {
			return n.procs[i]
		}
	}
	return nil
}

// HasFlag reports whether the node's daemon name was started with --flag.
func (n *Node) HasFlag(name, flag string) bool {
	p := n.Process(name)
	if p == nil {
		return false
	}
	args := p.Args
	for i, a := range args {
		if a == "--" { // nsenter's own flags end here
			args = args[i+1:]
			break
		}
	}
	for _, a := range args {
		if a == "--"+flag || strings.HasPrefix(a, "--"+flag+"=") {
			return true
		}
	}
	return false
}

// Docker runs the docker CLI against the node's dockerd.
func (n *Node) Docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return n.docker.docker(ctx, args...)
}

// Kubectl runs bin/kubectl on the host with KUBECONFIG=Kubeconfig.
func (m *MultiNode) Kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(m.BinDir, "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+m.Kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustKubectl is Kubectl failing the test on an error.
func (m *MultiNode) MustKubectl(args ...string) string {
	m.t.Helper()
	out, err := m.Kubectl(args...)
	if err != nil {
		m.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// WaitNodesReady waits until every named node is Ready with a podCIDR (the kubelet
// starts pods only once it has one).
func (m *MultiNode) WaitNodesReady(timeout time.Duration, nodes ...*Node) {
	m.t.Helper()
	for _, n := range nodes {
		Eventually(m.t, timeout, "node "+n.Name+" Ready with a podCIDR", func() error {
			if p := n.Process("kubelet"); p != nil && p.Exited(0) {
				return fmt.Errorf("its kubelet exited: %v\n%s", p.ExitErr(), p.Tail(20))
			}
			out, err := m.Kubectl("get", "node", n.Name, "-o",
				`jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.podCIDR}`)
			f := strings.Fields(out)
			if err != nil || len(f) != 2 || f[0] != "True" {
				return fmt.Errorf("Ready and podCIDR: %q (%v)", strings.TrimSpace(out), err)
			}
			return nil
		})
	}
}

// teardown: see MultiNode.
func (m *MultiNode) teardown() {
	t := m.t
	failed := t.Failed()
	if failed && m.URL != "" {
		for _, args := range [][]string{
			{"get", "nodes", "-o", "wide"},
			{"get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name} podCIDR={.spec.podCIDR} taints={.spec.taints} {.status.conditions}{"\n"}{end}`},
			{"get", "pods", "-A", "-o", "wide"},
			{"get", "deployments,replicasets,services,endpoints", "-A"},
		} {
			out, err := m.Kubectl(args...)
			t.Logf("---- kubectl %s (%v) ----\n%s", strings.Join(args, " "), err, out)
		}
		for _, n := range m.Nodes {
			for _, args := range [][]string{{"ip", "-4", "-br", "addr"}, {"ip", "-4", "route"}, {"iptables-save", "-t", "nat"}} {
				out, err := n.NS.Run(args[0], args[1:]...)
				t.Logf("---- %s: %s (%v) ----\n%s", n.Name, strings.Join(args, " "), err, out)
			}
		}
	}
	var errs []error
	for _, n := range m.Nodes {
		for i := len(n.procs) - 1; i >= 0; i-- {
			n.procs[i].Stop(15 * time.Second)
		}
	}
	for _, n := range m.Nodes {
		if n.docker != nil {
			errs = append(errs, n.docker.stop()...)
		}
	}
	for i := len(m.procs) - 1; i >= 0; i-- {
		m.procs[i].Stop(15 * time.Second)
	}
	for _, n := range m.Nodes {
		if err := n.NS.delete(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.lan != nil {
		if err := m.lan.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	// Whatever is still mounted under the test's directory (a kubelet's volumes) goes
	// before the directory does.
	if err := unmountUnder(m.Dir); err != nil {
		errs = append(errs, err)
	}
	for _, err := range errs {
		t.Errorf("multi-node teardown: %v", err)
	}
	if failed || len(errs) > 0 {
		for _, p := range m.allProcs() {
			t.Logf("---- last lines of %s (%s; exit: %v) ----\n%s", p.Name, p.LogPath, p.ExitErr(), p.Tail(60))
		}
		// Only the logs are kept: the nodes' Docker data is large.
		entries, _ := os.ReadDir(m.Dir)
		for _, e := range entries {
			if e.Name() != "logs" {
				_ = os.RemoveAll(filepath.Join(m.Dir, e.Name()))
			}
		}
		t.Logf("the logs are kept in %s", filepath.Join(m.Dir, "logs"))
		return
	}
	if err := os.RemoveAll(m.Dir); err != nil {
		t.Logf("removing %s: %v", m.Dir, err)
	}
}

func (m *MultiNode) allProcs() []*Process {
	out := append([]*Process(nil), m.procs...)
	for _, n := range m.Nodes {
		if n.docker != nil {
			out = append(out, n.docker.proc)
		}
		out = append(out, n.procs...)
	}
	return out
}
