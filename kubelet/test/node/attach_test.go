package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
)

// TestAttach talks to a container's main process the way a user does: the kubectl
// binary, through the real apiserver and kubelet, to Docker's attach. The process is
// `testbox stdin` (copies stdin to stdout): what kubectl sends comes back only if the
// container was created with an open stdin and the attach reached it, and the session
// ends only if stdinOnce closed the process's stdin when kubectl's input ended.
func TestAttach(t *testing.T) {
	requireDocker(t)
	kubectl := filepath.Join(t.TempDir(), "kubectl")
	if out, err := exec.Command("go", "build", "-o", kubectl, "kube5/kubectl").CombinedOutput(); err != nil {
		t.Fatalf("go build kube5/kubectl: %v\n%s", err, out)
	}
	api := apiservertest.Start(t)
	cs := api.Client
	ctx := context.Background()
	const node = "kubelet-attach-test"
	cleanupNode(t, node)
	startKubelet(t, api, node, t.TempDir(), "")
	waitFor(t, "the node registered", 30*time.Second, func() (bool, error) {
		_, err := cs.Nodes().Get(ctx, node)
		return err == nil, err
	})
	run := func(stdin string, args ...string) (string, string, error) {
		cmd := exec.Command(kubectl, append([]string{"--server=" + api.URL}, args...)...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return stdout.String(), stderr.String(), err
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("kubectl %v did not end (stdout %q, stderr %q)", args, stdout.String(), stderr.String())
			return "", "", nil
		}
	}

	// kubectl attach -i to a pod whose container has stdin and stdinOnce.
	c := box("reader", "stdin")
	c.Stdin, c.StdinOnce = true, true
	p := newPod("reader", node, c)
	p.Spec.RestartPolicy = "Never"
	createPod(t, cs, p)
	waitPod(t, cs, "default", "reader", "Running", 60*time.Second, running)
	out, errOut, err := run("hello through docker attach\n", "attach", "-i", "reader")
	if err != nil || out != "hello through docker attach\n" {
		t.Fatalf("kubectl attach -i: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
	waitPod(t, cs, "default", "reader", "Succeeded (stdin closed, the process ended)", 30*time.Second, func(p *corev1.Pod) bool {
		return p.GetStatus().GetPhase() == "Succeeded"
	})

	// kubectl run -i --rm: this test plays the scheduler, binding the new pod to the node.
	bound := make(chan struct{})
	go func() {
		defer close(bound)
		b := &corev1.Binding{Metadata: &metav1.ObjectMeta{Name: "echo"}, Target: &corev1.ObjectReference{Kind: "Node", Name: node}}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if cs.Pods("default").CreateSubresource(ctx, "echo", "binding", b, nil) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	out, errOut, err = run("a round trip\n", "run", "echo", "--image=kube5/testbox:1.0", "-i", "--rm", "--restart=Never", "--", "stdin")
	<-bound
	if err != nil || out != "a round trip\npod \"echo\" deleted\n" || !strings.Contains(errOut, "If you don't see a command prompt, try pressing enter.") {
		t.Fatalf("kubectl run -i --rm: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
	waitFor(t, "pod echo removed", 30*time.Second, func() (bool, error) {
		_, err := cs.Pods("default").Get(ctx, "echo")
		return apierrors.IsNotFound(err), err
	})
}
