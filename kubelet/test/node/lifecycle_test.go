package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
)

// lifecyclePodCIDR is the pod network of TestLifecycleHooks' node (TestNode has
// 10.244.250.0/24): the httpGet hook goes to a pod IP on a bridge this test created.
const lifecyclePodCIDR = "10.244.251.0/24"

// TestLifecycleHooks runs pods with postStart and preStop hooks (exec, httpGet, sleep) on
// a real kubelet and Docker: postStart runs after the start, preStop before SIGTERM and
// within the grace period, and a failing hook is an event (a failed postStart restarts
// the container, a failed preStop does not stop the kill).
func TestLifecycleHooks(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	api := apiservertest.Start(t)
	cs := api.Client
	ctx := context.Background()
	const node = "kubelet-lifecycle-test"
	cleanupNetwork(t, lifecyclePodCIDR)
	cleanupNode(t, node)
	k := startKubelet(t, api, node, t.TempDir(), "")
	// As the controller-manager would; the kubelet updates the node meanwhile, so retry.
	waitFor(t, "the podCIDR set", 30*time.Second, func() (bool, error) {
		n, err := cs.Nodes().Get(ctx, node)
		if err != nil {
			return false, err
		}
		n.Spec.PodCidr = lifecyclePodCIDR
		_, err = cs.Nodes().Update(ctx, n)
		return err == nil, err
	})
	waitFor(t, "the pod network", 30*time.Second, func() (bool, error) {
		return k.srv.Kubelets()[0].PodNetwork() != "", nil
	})

	t.Run("PostStartExecRunsInTheStartedContainer", func(t *testing.T) {
		t.Parallel()
		c := box("main", "sleep", "forever")
		c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{"/bin/testbox", "write", "/tmp/post-start", "ran"}}}}
		createPod(t, cs, newPod("post-start", node, c))
		waitPod(t, cs, "default", "post-start", "Running", 60*time.Second, running)
		if out, code := k.execIn(t, "default", "post-start", "main", nil, "/bin/testbox", "cat", "/tmp/post-start"); code != 0 || out != "ran" {
			t.Fatalf("/tmp/post-start holds %q (exit %d): the postStart hook did not run", out, code)
		}
	})

	t.Run("FailedPostStartRestartsTheContainer", func(t *testing.T) {
		t.Parallel()
		c := box("main", "sleep", "forever")
		c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{"/bin/testbox", "false"}}}}
		createPod(t, cs, newPod("post-start-fails", node, c))
		waitPod(t, cs, "default", "post-start-fails", "restarted", 60*time.Second, func(p *corev1.Pod) bool {
			st := p.GetStatus().GetContainerStatuses()
			return len(st) == 1 && st[0].GetRestartCount() >= 1
		})
		waitEvent(t, cs, "post-start-fails", "FailedPostStartHook")
	})

	t.Run("PreStopExecRunsBeforeTheKill", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		c := box("main", "sleep", "forever")
		c.VolumeMounts = []*corev1.VolumeMount{{Name: "hooks", MountPath: "/hooks"}}
		// testbox sleep exits at once on SIGTERM: the exec can only run before it.
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{"/bin/testbox", "write", "/hooks/pre-stop", "ran"}}}}
		p := newPod("pre-stop-exec", node, c)
		p.Spec.Volumes = []*corev1.Volume{{Name: "hooks", HostPath: &corev1.HostPathVolumeSource{Path: dir}}}
		createPod(t, cs, p)
		waitPod(t, cs, "default", "pre-stop-exec", "Running", 60*time.Second, running)
		if _, err := os.Stat(filepath.Join(dir, "pre-stop")); err == nil {
			t.Fatal("the preStop hook ran before the pod was deleted")
		}
		deleteAndWaitGone(t, cs, node, "pre-stop-exec")
		if b, err := os.ReadFile(filepath.Join(dir, "pre-stop")); err != nil || string(b) != "ran" {
			t.Fatalf("the preStop hook left %q (%v) in the hostPath", b, err)
		}
	})

	t.Run("PreStopSleepHoldsSIGTERMWithinTheGracePeriod", func(t *testing.T) {
		t.Parallel()
		c := box("main", "sleep", "forever")
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3}}}
		p := newPod("pre-stop-sleep", node, c)
		g := int64(30)
		p.Spec.TerminationGracePeriodSeconds = &g
		createPod(t, cs, p)
		waitPod(t, cs, "default", "pre-stop-sleep", "Running", 60*time.Second, running)
		began := time.Now()
		deleteAndWaitGone(t, cs, node, "pre-stop-sleep")
		// testbox sleep exits on SIGTERM at once: the 3s are the hook's, and SIGTERM (not
		// the 30s grace period's SIGKILL) ended the container.
		if took := time.Since(began); took < 3*time.Second || took > 20*time.Second {
			t.Fatalf("the pod took %s to go, want the 3s of its preStop sleep and then SIGTERM", took)
		}
	})

	t.Run("PreStopHTTPGetReachesItsServer", func(t *testing.T) {
		t.Parallel()
		createPod(t, cs, newPod("hook-recorder", node, &corev1.Container{Name: "web", Image: "kube5/httpenv:1.0"}))
		rec := waitPod(t, cs, "default", "hook-recorder", "Running", 60*time.Second, running)
		c := box("main", "sleep", "forever")
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HttpGet: &corev1.HTTPGetAction{
			Host: rec.GetStatus().GetPodIp(), Port: metav1.FromInt(8888), Path: "/pre-stop-called", Scheme: "HTTP"}}}
		createPod(t, cs, newPod("pre-stop-http", node, c))
		waitPod(t, cs, "default", "pre-stop-http", "Running", 60*time.Second, running)
		deleteAndWaitGone(t, cs, node, "pre-stop-http")
		if l := k.logs(t, "default", "hook-recorder", "web", ""); !strings.Contains(l, "GET /pre-stop-called") {
			t.Fatalf("the recorder got no GET /pre-stop-called; its log:\n%s", l)
		}
	})

	t.Run("FailedPreStopIsAnEventAndTheKillGoesOn", func(t *testing.T) {
		t.Parallel()
		c := box("main", "sleep", "forever")
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{"/bin/testbox", "false"}}}}
		createPod(t, cs, newPod("pre-stop-fails", node, c))
		waitPod(t, cs, "default", "pre-stop-fails", "Running", 60*time.Second, running)
		deleteAndWaitGone(t, cs, node, "pre-stop-fails")
		waitEvent(t, cs, "pre-stop-fails", "FailedPreStopHook")
	})
}

// deleteAndWaitGone deletes the pod (its own grace period) and waits until the kubelet
// stopped it, the apiserver no longer has it and its containers are removed.
func deleteAndWaitGone(t *testing.T, cs *client.Clientset, node, name string) {
	t.Helper()
	ctx := context.Background()
	if err := cs.Pods("default").Delete(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pod "+name+" gone", 60*time.Second, func() (bool, error) {
		_, err := cs.Pods("default").Get(ctx, name)
		return err != nil && strings.Contains(strings.ToLower(err.Error()), "not found"), err
	})
	waitFor(t, "the containers of "+name+" removed", 30*time.Second, func() (bool, error) {
		return len(nodeContainers(t, node, name)) == 0, nil
	})
}

// waitEvent waits for an event of reason about the pod name.
func waitEvent(t *testing.T, cs *client.Clientset, name, reason string) {
	t.Helper()
	waitFor(t, "a "+reason+" event for pod "+name, 30*time.Second, func() (bool, error) {
		l, err := cs.Events("default").List(context.Background(), client.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range l.Items {
			if e.GetInvolvedObject().GetName() == name && e.GetReason() == reason {
				return true, nil
			}
		}
		return false, nil
	})
}
