package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kube5/e2e/framework"
)

// safeFlags keeps a daemon that starts despite the flag under test off the ports and
// directories of a running cluster or another test.
func safeFlags(t *testing.T, name string) []string {
	dir := t.TempDir()
	free := func() int { return framework.FreePort(t) }
	switch name {
	case "kube-apiserver":
		return []string{"--data-dir=" + filepath.Join(dir, "etcd"), "--insecure-port=0",
			"--embedded-etcd-listen-client-url=http://127.0.0.1:0", "--embedded-etcd-listen-peer-url=http://127.0.0.1:0"}
	case "kube-controller-manager", "kube-scheduler":
		return []string{"--bind-address=127.0.0.1", fmt.Sprintf("--port=%d", free())}
	case "kubelet":
		return []string{"--hostname-override=" + fmt.Sprintf("e2e-flags-%d", os.Getpid()), "--root-dir=" + filepath.Join(dir, "kubelet"),
			"--port=0", "--read-only-port=0", "--healthz-port=0"}
	case "kube-proxy":
		return []string{fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", free()),
			fmt.Sprintf("--healthz-bind-address=127.0.0.1:%d", free()), "--hostname-override=" + fmt.Sprintf("e2e-flags-%d", os.Getpid())}
	}
	return nil
}

// TestWrongFlags: every daemon started with a flag it does not know, or a flag value it
// cannot use, exits non-zero within seconds with a message naming the flag.
func TestWrongFlags(t *testing.T) {
	bin, _ := framework.RequireBinaries(t)
	missing := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	cases := []struct {
		daemon, flag string
		want         string // regexp the output must match
	}{
		{"kube-apiserver", "--no-such-flag", `unknown flag: --no-such-flag`},
		{"kube-controller-manager", "--no-such-flag", `unknown flag: --no-such-flag`},
		{"kube-scheduler", "--no-such-flag", `unknown flag: --no-such-flag`},
		{"kubelet", "--no-such-flag", `unknown flag: --no-such-flag`},
		{"kube-proxy", "--no-such-flag", `unknown flag: --no-such-flag`},
		{"kube-apiserver", "--service-cluster-ip-range=nope", `--service-cluster-ip-range`},
		{"kube-controller-manager", "--cluster-cidr=nope", `--cluster-cidr`},
		{"kube-scheduler", "--port=-5", `--port`},
		{"kubelet", "--container-runtime=bogus", `--container-runtime`},
		{"kubelet", "--eviction-hard=memory.free<1Gi", `--eviction-hard: unsupported eviction signal "memory.free": use one of memory.available`},
		{"kubelet", "--eviction-hard=memory.available>1Gi", `--eviction-hard: "memory.available>1Gi" is not SIGNAL<QUANTITY`},
		{"kubelet", "--eviction-soft=memory.available<2Gi", `--eviction-soft: memory.available<2Gi has no grace period: add memory.available=DURATION to --eviction-soft-grace-period`},
		{"kube-proxy", "--proxy-mode=bogus", `--proxy-mode`},
		{"kube-controller-manager", "--kubeconfig=" + missing, `--kubeconfig ` + missing + `: no such file`},
		{"kube-scheduler", "--kubeconfig=" + missing, `--kubeconfig ` + missing + `: no such file`},
		{"kube-proxy", "--kubeconfig=" + missing, `--kubeconfig ` + missing + `: no such file`},
		// Not standalone, not 127.0.0.1:8080: a --kubeconfig that is not there is a typo.
		{"kubelet", "--kubeconfig=" + missing, `--kubeconfig ` + missing + `: no such file`},
	}
	for _, tc := range cases {
		t.Run(tc.daemon+" "+filepath.Base(tc.flag), func(t *testing.T) {
			args := append(safeFlags(t, tc.daemon), tc.flag)
			p, err := framework.StartProcess(filepath.Join(bin, tc.daemon), filepath.Join(t.TempDir(), "log"), nil, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop(10 * time.Second)
			if !p.Exited(15 * time.Second) {
				t.Fatalf("%s %s still runs after 15s; log:\n%s", tc.daemon, tc.flag, p.Tail(20))
			}
			if p.ExitCode() == 0 {
				t.Errorf("%s %s exited 0", tc.daemon, tc.flag)
			}
			if !regexp.MustCompile(regexp.QuoteMeta(tc.want)).MatchString(p.Output()) {
				t.Errorf("%s %s: the output does not name %s:\n%s", tc.daemon, tc.flag, tc.want, p.Tail(20))
			}
		})
	}
}

// TestUnreachableAPIServer: every daemon pointed at an apiserver (kube-apiserver: an etcd)
// that does not answer says so within 15s, naming the address, the cause and the flag to
// check, keeps retrying without flooding its log, and recovers by itself once the
// apiserver comes up on that address: the kubelet's node registers, the scheduler and
// the controller-manager take their leases, kube-proxy programs its rules; and the
// apiserver serves once etcd comes up on its --etcd-servers address. The daemons
// run at the same time (one kube-proxy among them), never beside another top-level test.
func TestUnreachableAPIServer(t *testing.T) {
	bin, _ := framework.RequireBinaries(t)
	// Closed loopback ports, never another address: an apiserver comes up on the first
	// later, and bin/etcd on the second.
	port, etcdPort := framework.FreePort(t), framework.FreePort(t)
	server := fmt.Sprintf("http://127.0.0.1:%d", port)
	etcd := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters:
- name: later
  cluster:
    server: `+server+`
contexts:
- name: later
  context:
    cluster: later
current-context: later
`), 0o600); err != nil {
		t.Fatal(err)
	}
	unreachable := func(flag string) string {
		return regexp.QuoteMeta("Cannot reach the apiserver at " + server + " (connection refused); is kube-apiserver running? Check " + flag + ". Retrying.")
	}
	cases := []struct {
		daemon string
		args   []string
		want   string // regexp the log must match while the apiserver is down
	}{
		// No podCIDRs: the kubelet would create a Docker network for one, beyond this test.
		{"kube-controller-manager", []string{"--master=" + server, "--allocate-node-cidrs=false"}, unreachable("--master")},
		{"kube-scheduler", []string{"--master=" + server}, unreachable("--master")},
		{"kubelet", []string{"--kubeconfig=" + kc}, unreachable("--kubeconfig " + kc)},
		{"kube-proxy", []string{"--master=" + server}, unreachable("--master")},
		{"kube-apiserver", []string{"--etcd-servers=" + etcd}, regexp.QuoteMeta("Cannot reach etcd at " + etcd +
			" (connection refused); is etcd running? Check --etcd-servers, or omit it to run an embedded etcd. Retrying.")},
	}
	// Start them all, then give them 15s together: the suite waits 15s, not 15s a daemon.
	procs := map[string]*framework.Process{}
	for _, tc := range cases {
		switch tc.daemon {
		case "kube-proxy":
			// The host lock: no cluster's kube-proxy runs, or is cleaned up, meanwhile.
			if os.Geteuid() != 0 || !framework.LockHost(t) || framework.RunningProcess("kube-proxy") != 0 {
				continue // the subtest says why
			}
			t.Cleanup(func() {
				if out, err := exec.Command(filepath.Join(bin, "kube-proxy"), "--cleanup").CombinedOutput(); err != nil {
					t.Errorf("kube-proxy --cleanup: %v\n%s", err, out)
				}
			})
		case "kubelet":
			if exec.Command("docker", "info").Run() != nil {
				continue
			}
		}
		p, err := framework.StartProcess(filepath.Join(bin, tc.daemon), filepath.Join(t.TempDir(), "log"), nil,
			append(safeFlags(t, tc.daemon), tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Stop(10 * time.Second) }) // before kube-proxy --cleanup
		procs[tc.daemon] = p
	}
	skip := func(t *testing.T, daemon string) *framework.Process {
		p := procs[daemon]
		switch {
		case p != nil:
			return p
		case daemon == "kube-proxy":
			t.Skip("kube-proxy needs root and no other kube-proxy running on this host")
		default:
			t.Skip("the kubelet needs Docker")
		}
		return nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, tc := range cases {
		t.Run(tc.daemon, func(t *testing.T) {
			p := skip(t, tc.daemon)
			re := regexp.MustCompile(tc.want)
			for !re.MatchString(p.Output()) && time.Now().Before(deadline) && !p.Exited(200*time.Millisecond) {
			}
			if p.Exited(0) {
				t.Fatalf("%s exited (code %d) instead of retrying; log:\n%s", tc.daemon, p.ExitCode(), p.Tail(20))
			}
			if !re.MatchString(p.Output()) {
				t.Fatalf("%s %v: no line matching %s within 15s; log:\n%s", tc.daemon, tc.args, tc.want, p.Tail(20))
			}
		})
	}
	if t.Failed() {
		return
	}

	// The apiserver comes up where they were told to look.
	dir := t.TempDir()
	api, err := framework.StartProcess(filepath.Join(bin, "kube-apiserver"), filepath.Join(dir, "log"), nil,
		"--data-dir="+filepath.Join(dir, "etcd"), "--insecure-bind-address=127.0.0.1", fmt.Sprintf("--insecure-port=%d", port),
		"--embedded-etcd-listen-client-url=http://127.0.0.1:0", "--embedded-etcd-listen-peer-url=http://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Stop(10 * time.Second) })
	kubectl := func(args ...string) error {
		out, err := exec.Command(filepath.Join(bin, "kubectl"), append([]string{"--server=" + server}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("kubectl %v: %v: %s", args, err, out)
		}
		return nil
	}
	recovered := map[string]func() error{
		"kube-controller-manager": func() error { return kubectl("get", "lease", "-n", "kube-system", "kube-controller-manager") },
		"kube-scheduler":          func() error { return kubectl("get", "lease", "-n", "kube-system", "kube-scheduler") },
		"kubelet":                 func() error { return kubectl("get", "node", fmt.Sprintf("e2e-flags-%d", os.Getpid())) },
		"kube-proxy": func() error {
			if !strings.Contains(procs["kube-proxy"].Output(), "programming rules") {
				return errors.New("no \"programming rules\" line yet")
			}
			return nil
		},
		"kube-apiserver": func() error {
			if !strings.Contains(procs["kube-apiserver"].Output(), "Serving the API") {
				return errors.New("not serving yet")
			}
			return nil
		},
	}
	for _, tc := range cases {
		check, ok := recovered[tc.daemon]
		if !ok {
			continue
		}
		if tc.daemon == "kube-apiserver" {
			if _, err := os.Stat(filepath.Join(bin, "etcd")); err != nil {
				t.Logf("not checking that kube-apiserver goes on once etcd is up: %v (run `make build`)", err)
				continue
			}
			peer := fmt.Sprintf("http://127.0.0.1:%d", framework.FreePort(t))
			e, err := framework.StartProcess(filepath.Join(bin, "etcd"), filepath.Join(dir, "etcd.log"), nil, "--name=flags",
				"--data-dir="+filepath.Join(dir, "etcd-external"), "--listen-client-urls="+etcd, "--advertise-client-urls="+etcd,
				"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Stop(10 * time.Second) })
		}
		t.Run(tc.daemon+" recovers", func(t *testing.T) {
			p := skip(t, tc.daemon)
			framework.Eventually(t, 90*time.Second, tc.daemon+" to work once the apiserver is up", func() error {
				if api.Exited(0) {
					t.Fatalf("kube-apiserver exited; log:\n%s", api.Tail(20))
				}
				if p.Exited(0) {
					t.Fatalf("%s exited; log:\n%s", tc.daemon, p.Tail(20))
				}
				return check()
			})
			reached, cannot := "Reached the apiserver at "+server, "Cannot reach the apiserver"
			if tc.daemon == "kube-apiserver" {
				reached, cannot = "Reached etcd at "+etcd, "Cannot reach etcd"
			}
			if !strings.Contains(p.Output(), reached) {
				t.Errorf("%s: no line %q; log:\n%s", tc.daemon, reached, p.Tail(20))
			}
			// Bounded: the first line, then at growing intervals (5s, 10s, ...): a handful
			// in the minute this test may take, never one per retry.
			if n := strings.Count(p.Output(), cannot); n > 8 {
				t.Errorf("%s logged %d unreachable lines: a flood; log:\n%s", tc.daemon, n, p.Tail(30))
			}
		})
	}
}
