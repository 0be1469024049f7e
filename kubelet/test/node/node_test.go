package node

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/remotecommand"
)

const podCIDR = "10.244.250.0/24"

// TestNode runs one kubelet (node "kubelet-node-test", podCIDR 10.244.250.0/24) and
// checks the pod lifecycle on it, the cases in parallel.
func TestNode(t *testing.T) {
	requireDocker(t)
	api := apiservertest.Start(t)
	cs := api.Client
	ctx := context.Background()
	svc, err := cs.Services("default").Create(ctx, &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "kubelet-test-svc", Namespace: "default"},
		Spec:     &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80, Protocol: "TCP", TargetPort: metav1.FromInt(8080)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	const node = "kubelet-node-test"
	cleanupNetwork(t, podCIDR)
	cleanupNode(t, node)
	k := startKubelet(t, api, node, t.TempDir(), "")
	n := func() *corev1.Node {
		var got *corev1.Node
		waitFor(t, "the node registered with a status", 30*time.Second, func() (bool, error) {
			n, err := cs.Nodes().Get(ctx, node)
			got = n
			return err == nil && len(n.GetStatus().GetConditions()) > 0, err
		})
		return got
	}()
	checkNodeStatus(t, n)
	// As the controller-manager would; the kubelet updates the status meanwhile, so retry
	// on conflicts.
	waitFor(t, "the podCIDR set", 30*time.Second, func() (bool, error) {
		n, err := cs.Nodes().Get(ctx, node)
		if err != nil {
			return false, err
		}
		n.Spec.PodCidr = podCIDR
		_, err = cs.Nodes().Update(ctx, n)
		return err == nil, err
	})
	waitFor(t, "the pod network", 30*time.Second, func() (bool, error) {
		return k.srv.Kubelets()[0].PodNetwork() != "", nil
	})
	waitFor(t, "a lease", 30*time.Second, func() (bool, error) {
		_, err := cs.Leases("kube-node-lease").Get(ctx, node)
		return err == nil, err
	})

	t.Run("TwoContainersShareLocalhostAndEmptyDir", func(t *testing.T) {
		t.Parallel()
		web := box("web", "serve", "-port", "8080")
		side := box("side", "sleep", "forever")
		for _, c := range []*corev1.Container{web, side} {
			c.VolumeMounts = []*corev1.VolumeMount{{Name: "shared", MountPath: "/data"}}
		}
		p := newPod("two", node, web, side)
		p.Spec.Volumes = []*corev1.Volume{{Name: "shared", EmptyDir: &corev1.EmptyDirVolumeSource{}}}
		createPod(t, cs, p)
		got := waitPod(t, cs, "default", "two", "Running and Ready", 60*time.Second, func(p *corev1.Pod) bool { return running(p) && podReady(p) })
		ip, err := netip.ParseAddr(got.GetStatus().GetPodIp())
		if err != nil || !netip.MustParsePrefix(podCIDR).Contains(ip) || got.GetStatus().GetHostIp() != "127.0.0.1" {
			t.Fatalf("podIP %q hostIP %q: want an address of %s", got.GetStatus().GetPodIp(), got.GetStatus().GetHostIp(), podCIDR)
		}
		var out string
		waitFor(t, "the web container answering on localhost", 20*time.Second, func() (bool, error) {
			o, code := k.execIn(t, "default", "two", "side", nil, "/bin/testbox", "wget", "http://127.0.0.1:8080/")
			out = o
			return code == 0, nil
		})
		if strings.TrimSpace(out) != "two" {
			t.Fatalf("the web container's hostname is %q, want the pod name", out)
		}
		if _, code := k.execIn(t, "default", "two", "web", nil, "/bin/testbox", "write", "/data/f", "hello"); code != 0 {
			t.Fatal("write failed")
		}
		if o, code := k.execIn(t, "default", "two", "side", nil, "/bin/testbox", "cat", "/data/f"); code != 0 || o != "hello" {
			t.Fatalf("side reads %q (exit %d) from the emptyDir", o, code)
		}
		if o, code := k.execIn(t, "default", "two", "side", strings.NewReader("piped\n"), "/bin/testbox", "stdin"); code != 0 || o != "piped\n" {
			t.Fatalf("stdin through exec: %q (exit %d)", o, code)
		}
		var tty strings.Builder
		resize := make(chan remotecommand.Resize, 1)
		resize <- remotecommand.Resize{Width: 100, Height: 30}
		close(resize)
		code, err := remotecommand.Exec(context.Background(), k.baseURL+"/exec/default/two/side?command=/bin/testbox&command=echo&command=hi&stdout=1&tty=1", remotecommand.StreamOptions{Stdout: &tty, Resize: resize})
		if err != nil || code != 0 || tty.String() != "hi\r\n" {
			t.Fatalf("exec with a tty: %q, exit %d, %v", tty.String(), code, err)
		}
		if _, code := k.execIn(t, "default", "two", "side", nil, "/bin/testbox", "exit", "3"); code != 3 {
			t.Fatalf("exit code %d, want 3", code)
		}
		waitFor(t, "the last log line", 10*time.Second, func() (bool, error) {
			l := k.logs(t, "default", "two", "web", "tailLines=1")
			if strings.Count(l, "\n") > 1 {
				t.Fatalf("tailLines=1 gave %q", l)
			}
			return strings.Contains(l, "listening on :8080"), nil
		})
	})

	t.Run("EnvAndServiceVariables", func(t *testing.T) {
		t.Parallel()
		c := box("env", "env")
		c.Env = []*corev1.EnvVar{
			{Name: "PLAIN", Value: "v1"},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "POD_NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "POD_UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		}
		p := newPod("envpod", node, c)
		p.Spec.RestartPolicy = "Never"
		createPod(t, cs, p)
		got := waitPod(t, cs, "default", "envpod", "Succeeded", 60*time.Second, func(p *corev1.Pod) bool { return p.GetStatus().GetPhase() == "Succeeded" })
		var l string
		waitFor(t, "the env logged", 10*time.Second, func() (bool, error) {
			l = k.logs(t, "default", "envpod", "env", "")
			return strings.Contains(l, "POD_UID="), nil
		})
		for _, want := range []string{"PLAIN=v1", "POD_NAME=envpod", "POD_NS=default", "POD_UID=" + got.GetMetadata().GetUid(),
			"POD_IP=" + got.GetStatus().GetPodIp(), "NODE=" + node, "KUBELET_TEST_SVC_SERVICE_HOST=" + svc.GetSpec().GetClusterIp(),
			"KUBELET_TEST_SVC_SERVICE_PORT=80", "HOSTNAME=envpod"} {
			if !strings.Contains(l, want+"\n") {
				t.Errorf("env lacks %s:\n%s", want, l)
			}
		}
		cs0 := got.GetStatus().GetContainerStatuses()[0]
		if term := cs0.GetState().GetTerminated(); term.GetExitCode() != 0 || term.GetReason() != "Completed" || term.GetFinishedAt() == nil ||
			!strings.HasPrefix(cs0.GetContainerId(), "docker://") || !strings.HasPrefix(cs0.GetImageId(), "docker://sha256:") {
			t.Fatalf("container status %v", cs0)
		}
	})

	t.Run("CrashLoopBacksOff", func(t *testing.T) {
		t.Parallel()
		c := &corev1.Container{Name: "crash", Image: "kube5/crasher:1.0", Args: []string{"-after", "0s", "-code", "3"}}
		createPod(t, cs, newPod("crashloop", node, c))
		// Collect every attempt's start and finish from the statuses: the current
		// container is attempt restartCount, lastState the one before (or, while waiting,
		// the current one).
		type times struct{ start, finish time.Time }
		attempts := map[int32]*times{}
		note := func(n int32, term *corev1.ContainerStateTerminated, started *metav1.Time) {
			if n < 0 {
				return
			}
			a := attempts[n]
			if a == nil {
				a = &times{}
				attempts[n] = a
			}
			if started != nil {
				a.start = started.AsTime()
			}
			if term != nil {
				a.start, a.finish = term.GetStartedAt().AsTime(), term.GetFinishedAt().AsTime()
			}
		}
		sawBackOff := false
		waitPod(t, cs, "default", "crashloop", "attempt 3 started", 90*time.Second, func(p *corev1.Pod) bool {
			st := p.GetStatus().GetContainerStatuses()
			if len(st) == 0 {
				return false
			}
			n := st[0].GetRestartCount()
			switch s := st[0].GetState(); {
			case s.GetWaiting() != nil:
				sawBackOff = sawBackOff || s.GetWaiting().GetReason() == "CrashLoopBackOff"
				note(n, st[0].GetLastState().GetTerminated(), nil)
			case s.GetRunning() != nil:
				note(n, nil, s.GetRunning().GetStartedAt())
				note(n-1, st[0].GetLastState().GetTerminated(), nil)
			default:
				note(n, s.GetTerminated(), nil)
				note(n-1, st[0].GetLastState().GetTerminated(), nil)
			}
			return attempts[3] != nil && !attempts[3].start.IsZero() && attempts[2] != nil && !attempts[2].finish.IsZero() &&
				attempts[1] != nil && !attempts[1].finish.IsZero() && !attempts[2].start.IsZero()
		})
		if !sawBackOff {
			t.Fatal("never saw CrashLoopBackOff")
		}
		// Restart 2 waited 10s after exit 1, restart 3 20s after exit 2 (timestamps have
		// a second's precision).
		gap2, gap3 := attempts[2].start.Sub(attempts[1].finish), attempts[3].start.Sub(attempts[2].finish)
		if gap2 < 9*time.Second || gap2 > 15*time.Second || gap3 < 19*time.Second || gap3 > 25*time.Second {
			t.Fatalf("restart gaps %s and %s, want 10s and 20s", gap2, gap3)
		}
		waitFor(t, "the previous container's logs", 10*time.Second, func() (bool, error) {
			return strings.Contains(k.logs(t, "default", "crashloop", "crash", "previous=true"), "crasher: exiting"), nil
		})
		// Only the current and the previous instance are kept.
		if n := len(nodeContainers(t, node, "crashloop")["crash"]); n > 2 {
			t.Fatalf("%d instances of the crashing container kept, want at most 2", n)
		}
	})

	t.Run("LivenessFailureRestarts", func(t *testing.T) {
		t.Parallel()
		c := box("web", "serve", "-port", "8081")
		c.LivenessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/healthz", Port: metav1.FromInt(8081)}, PeriodSeconds: 1, FailureThreshold: 2, InitialDelaySeconds: 1}
		createPod(t, cs, newPod("liveness", node, c))
		waitPod(t, cs, "default", "liveness", "Running", 60*time.Second, running)
		waitFor(t, "the probe passing a few times", 10*time.Second, func() (bool, error) {
			return strings.Count(k.logs(t, "default", "liveness", "web", ""), "serve: listening") >= 1, nil
		})
		if _, code := k.execIn(t, "default", "liveness", "web", nil, "/bin/testbox", "touch", "/tmp/unhealthy"); code != 0 {
			t.Fatal("touch failed")
		}
		got := waitPod(t, cs, "default", "liveness", "a restart", 30*time.Second, func(p *corev1.Pod) bool {
			st := p.GetStatus().GetContainerStatuses()
			return len(st) == 1 && st[0].GetRestartCount() == 1 && st[0].GetState().GetRunning() != nil
		})
		if got.GetStatus().GetContainerStatuses()[0].GetLastState().GetTerminated() == nil {
			t.Fatalf("no lastState of the killed container: %v", got.GetStatus())
		}
	})

	t.Run("ReadinessFailureFlipsReady", func(t *testing.T) {
		t.Parallel()
		c := box("web", "serve", "-port", "8082")
		c.ReadinessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/healthz", Port: metav1.FromInt(8082)}, PeriodSeconds: 1, FailureThreshold: 1}
		createPod(t, cs, newPod("readiness", node, c))
		waitPod(t, cs, "default", "readiness", "Ready", 60*time.Second, podReady)
		k.execIn(t, "default", "readiness", "web", nil, "/bin/testbox", "touch", "/tmp/unhealthy")
		waitPod(t, cs, "default", "readiness", "not Ready", 20*time.Second, func(p *corev1.Pod) bool { return running(p) && !podReady(p) })
		k.execIn(t, "default", "readiness", "web", nil, "/bin/testbox", "rm", "/tmp/unhealthy")
		got := waitPod(t, cs, "default", "readiness", "Ready again", 20*time.Second, podReady)
		if rc := got.GetStatus().GetContainerStatuses()[0].GetRestartCount(); rc != 0 {
			t.Fatalf("readiness failures restarted the container (%d)", rc)
		}
	})

	t.Run("StartupTCPAndExecReadinessProbes", func(t *testing.T) {
		t.Parallel()
		c := &corev1.Container{Name: "slow", Image: "kube5/slowstart:1.0", Args: []string{"-port", "8083", "-delay", "3s"}}
		c.StartupProbe = &corev1.Probe{TcpSocket: &corev1.TCPSocketAction{Port: metav1.FromInt(8083)}, PeriodSeconds: 1, FailureThreshold: 20}
		c.ReadinessProbe = &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"/bin/testbox", "exists", "/tmp/ready"}}, PeriodSeconds: 1, FailureThreshold: 1}
		createPod(t, cs, newPod("slowstart", node, c))
		got := waitPod(t, cs, "default", "slowstart", "Running", 60*time.Second, running)
		began := got.GetStatus().GetContainerStatuses()[0].GetState().GetRunning().GetStartedAt().AsTime()
		got = waitPod(t, cs, "default", "slowstart", "started", 30*time.Second, func(p *corev1.Pod) bool {
			st := p.GetStatus().GetContainerStatuses()
			return len(st) == 1 && st[0].GetStarted()
		})
		if since := time.Since(began); since < 2*time.Second || podReady(got) {
			t.Fatalf("started %s after the container, ready %v: the startup probe should wait for the 3s delay and readiness for /tmp/ready", since, podReady(got))
		}
		k.execIn(t, "default", "slowstart", "slow", nil, "/bin/testbox", "touch", "/tmp/ready")
		waitPod(t, cs, "default", "slowstart", "Ready", 20*time.Second, podReady)
	})

	t.Run("DeleteRespectsGracePeriod", func(t *testing.T) {
		t.Parallel()
		p := newPod("stubborn", node, &corev1.Container{Name: "noterm", Image: "kube5/noterm:1.0"})
		g := int64(3)
		p.Spec.TerminationGracePeriodSeconds = &g
		createPod(t, cs, p)
		waitPod(t, cs, "default", "stubborn", "Running", 60*time.Second, running)
		began := time.Now()
		if err := cs.Pods("default").Delete(ctx, "stubborn", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the pod gone", 30*time.Second, func() (bool, error) {
			_, err := cs.Pods("default").Get(ctx, "stubborn")
			return err != nil && strings.Contains(strings.ToLower(err.Error()), "not found"), err
		})
		if took := time.Since(began); took < 3*time.Second || took > 7*time.Second {
			t.Fatalf("deletion took %s, want the 3s grace period (and not much more)", took)
		}
		waitFor(t, "the containers removed", 20*time.Second, func() (bool, error) {
			return len(nodeContainers(t, node, "stubborn")) == 0, nil
		})
	})

	t.Run("HostPortReachesTheDemoApp", func(t *testing.T) {
		t.Parallel()
		port := apiservertest.FreePort(t)
		c := &corev1.Container{Name: "web", Image: "kube5/httpenv:1.0",
			Ports: []*corev1.ContainerPort{{ContainerPort: 8888, HostPort: int32(port), HostIp: "127.0.0.1", Protocol: "TCP"}}}
		createPod(t, cs, newPod("hostport", node, c))
		waitPod(t, cs, "default", "hostport", "Running", 60*time.Second, running)
		var body string
		waitFor(t, "httpenv on the hostPort", 20*time.Second, func() (bool, error) {
			resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
			if err != nil {
				return false, err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
			return resp.StatusCode == 200, nil
		})
		if body != `{"HOSTNAME":"hostport"}` {
			t.Fatalf("httpenv answered %q", body)
		}
		// Docker writes container logs asynchronously: poll.
		waitFor(t, "httpenv's log line of the request", 10*time.Second, func() (bool, error) {
			return strings.Contains(k.logs(t, "default", "hostport", "web", ""), "GET /"), nil
		})
	})

	t.Run("ImageNeverPulledWhenMissing", func(t *testing.T) {
		t.Parallel()
		// Only the Never policy is tested on Docker: any other would make dockerd contact
		// a registry off this host.
		c := &corev1.Container{Name: "c", Image: "kube5/not-built:1.0", ImagePullPolicy: "Never"}
		createPod(t, cs, newPod("neverpull", node, c))
		got := waitPod(t, cs, "default", "neverpull", "ErrImageNeverPull", 60*time.Second, func(p *corev1.Pod) bool {
			st := p.GetStatus().GetContainerStatuses()
			return len(st) == 1 && st[0].GetState().GetWaiting().GetReason() == "ErrImageNeverPull"
		})
		if got.GetStatus().GetPhase() != "Pending" {
			t.Fatalf("phase %s", got.GetStatus().GetPhase())
		}
	})

	t.Run("PodsAndStatsEndpoints", func(t *testing.T) {
		t.Parallel()
		createPod(t, cs, newPod("statpod", node, box("s", "log", "-every", "200ms", "tick")))
		waitPod(t, cs, "default", "statpod", "Running", 60*time.Second, running)
		// follow streams lines written after the request; timestamps prefix them.
		resp, err := http.Get(k.baseURL + "/containerLogs/default/statpod/s?follow=true&timestamps=true&tailLines=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var first, last int
		for sc.Scan() && (first == 0 || last < first+3) {
			ts, msg, _ := strings.Cut(sc.Text(), " ")
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Fatalf("followed line %q has no timestamp", sc.Text())
			}
			n, err := strconv.Atoi(strings.TrimPrefix(msg, "tick "))
			if err != nil {
				t.Fatalf("followed line %q", sc.Text())
			}
			if first == 0 {
				first = n
			}
			last = n
		}
		if last < first+3 {
			t.Fatalf("follow ended at tick %d (first %d): %v", last, first, sc.Err())
		}
		resp.Body.Close()
		body := httpGet(t, k.baseURL+"/pods")
		if !strings.Contains(body, `"kind":"PodList"`) || !strings.Contains(body, `"statpod"`) {
			t.Fatalf("/pods: %.300s", body)
		}
		waitFor(t, "stats of statpod", 20*time.Second, func() (bool, error) {
			b := httpGet(t, k.baseURL+"/stats/summary")
			return strings.Contains(b, `"name": "statpod"`) && strings.Contains(b, `"workingSetBytes"`) && strings.Contains(b, `"availableBytes"`) && strings.Contains(b, `"imageFs"`), nil
		})
		if b := httpGet(t, k.baseURL+"/healthz"); strings.TrimSpace(b) != "ok" {
			t.Fatalf("/healthz: %q", b)
		}
	})
}

func checkNodeStatus(t *testing.T, n *corev1.Node) {
	t.Helper()
	st := n.GetStatus()
	if st.GetCapacity()["cpu"].Value() < 1 || st.GetCapacity()["memory"].Value() < 1<<20 || st.GetCapacity()["pods"].Value() != 110 {
		t.Errorf("capacity %v", st.GetCapacity())
	}
	if len(st.GetAllocatable()) != 3 {
		t.Errorf("allocatable %v", st.GetAllocatable())
	}
	types := map[string]string{}
	for _, c := range st.GetConditions() {
		types[c.GetType()] = c.GetStatus()
	}
	if types["Ready"] != "True" || types["MemoryPressure"] != "False" || types["DiskPressure"] != "False" || types["PIDPressure"] != "False" {
		t.Errorf("conditions %v", types)
	}
	info := st.GetNodeInfo()
	if !strings.HasPrefix(info.GetContainerRuntimeVersion(), "docker://") || info.GetKernelVersion() == "" || info.GetOsImage() == "" || info.GetKubeletVersion() == "" {
		t.Errorf("nodeInfo %v", info)
	}
	if len(st.GetAddresses()) != 2 || st.GetAddresses()[0].GetType() != "InternalIP" || st.GetAddresses()[0].GetAddress() != "127.0.0.1" {
		t.Errorf("addresses %v", st.GetAddresses())
	}
}

// TestKubeletRestartAdoptsContainers stops the kubelet while a pod runs and starts it
// again: every container still runs once, the same ones.
func TestKubeletRestartAdoptsContainers(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	api := apiservertest.Start(t)
	const node = "kubelet-restart-test"
	cleanupNode(t, node)
	root := t.TempDir()
	k := startKubelet(t, api, node, root, "")
	waitFor(t, "the node registered", 30*time.Second, func() (bool, error) {
		_, err := api.Client.Nodes().Get(context.Background(), node)
		return err == nil, err
	})
	createPod(t, api.Client, newPod("adopt", node, box("a", "sleep", "forever"), box("b", "sleep", "forever")))
	waitPod(t, api.Client, "default", "adopt", "Running", 60*time.Second, running)
	before := nodeContainers(t, node, "adopt")
	k.stop()
	k2 := startKubelet(t, api, node, root, "")
	waitFor(t, "the restarted kubelet reporting the pod Running", 30*time.Second, func() (bool, error) {
		b := httpGet(t, k2.baseURL+"/pods")
		return strings.Contains(b, `"adopt"`) && strings.Contains(b, `"phase":"Running"`), nil
	})
	// Give the new kubelet a few relists to (wrongly) start or kill anything.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		after := nodeContainers(t, node, "adopt")
		for _, name := range []string{"POD", "a", "b"} {
			if len(after[name]) != 1 || after[name][0].ID != before[name][0].ID || after[name][0].State != "running" {
				t.Fatalf("container %s after the restart: %+v (before: %s)", name, after[name], before[name][0].ID)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const staticManifest = `apiVersion: v1
kind: Pod
metadata:
  name: static-web
spec:
  containers:
  - name: web
    image: kube5/testbox:1.0
    args: ["sleep", "forever"]
`

// TestStaticPods runs a static pod without an apiserver, then with one (a mirror pod
// appears), and removes it with its manifest.
func TestStaticPods(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	t.Run("Standalone", func(t *testing.T) {
		const node = "kubelet-static-test"
		cleanupNode(t, node)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(staticManifest), 0o644); err != nil {
			t.Fatal(err)
		}
		startKubelet(t, nil, node, t.TempDir(), dir)
		waitFor(t, "the static pod running", 60*time.Second, func() (bool, error) {
			c := nodeContainers(t, node, "static-web-"+node)
			return len(c["web"]) == 1 && c["web"][0].State == "running", nil
		})
		// A changed manifest is a new pod: the old containers go, new ones come.
		old := nodeContainers(t, node, "static-web-"+node)["web"][0].ID
		changed := strings.Replace(staticManifest, `["sleep", "forever"]`, `["log", "-every", "1s", "changed"]`, 1)
		if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the changed static pod running alone", 60*time.Second, func() (bool, error) {
			c := nodeContainers(t, node, "static-web-"+node)
			return len(c["web"]) == 1 && c["web"][0].ID != old && c["web"][0].State == "running", nil
		})
		if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the static pod removed", 30*time.Second, func() (bool, error) {
			return len(nodeContainers(t, node, "static-web-"+node)) == 0, nil
		})
	})
	t.Run("WithMirrorPod", func(t *testing.T) {
		const node = "kubelet-mirror-test"
		cleanupNode(t, node)
		api := apiservertest.Start(t)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(staticManifest), 0o644); err != nil {
			t.Fatal(err)
		}
		startKubelet(t, api, node, t.TempDir(), dir)
		mirror := waitPod(t, api.Client, "default", "static-web-"+node, "the mirror pod Running", 60*time.Second, running)
		if mirror.GetMetadata().GetAnnotations()["kubernetes.io/config.mirror"] == "" {
			t.Fatalf("annotations %v", mirror.GetMetadata().GetAnnotations())
		}
		if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the mirror pod deleted", 30*time.Second, func() (bool, error) {
			_, err := api.Client.Pods("default").Get(context.Background(), "static-web-"+node)
			return err != nil, nil
		})
	})
}
