package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/remotecommand"
)

// fakeExecKubelet speaks the kubelet's side of kube5-exec.v1 for the containers "app"
// (running) and "sleepy" (refused as not running, as the real kubelet does):
//
//	cat     copies stdin to stdout
//	exit N  writes "bye" to stderr and exits N
//	tty     reports the first terminal size it receives, then exits
type fakeExecKubelet struct {
	mu    sync.Mutex
	paths []string
}

func (f *fakeExecKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if !remotecommand.IsUpgrade(r) {
		http.Error(w, "no upgrade", http.StatusBadRequest)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/exec/"), "/")
	if len(parts) != 3 || parts[2] == "sleepy" {
		http.Error(w, "container sleepy is not running", http.StatusBadRequest)
		return
	}
	req := remotecommand.ParseRequest(r.URL.Query())
	sess, err := remotecommand.Accept(w, req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	switch req.Command[0] {
	case "cat":
		_, err := io.Copy(sess.Stdout, sess.Stdin)
		sess.Finish(0, err)
	case "exit":
		code, _ := strconv.Atoi(req.Command[1])
		io.WriteString(sess.Stderr, "bye\n")
		sess.Finish(code, nil)
	case "tty":
		sz, ok := <-sess.Resize
		if !ok {
			sess.Finish(1, fmt.Errorf("no resize"))
			return
		}
		fmt.Fprintf(sess.Stdout, "%dx%d", sz.Width, sz.Height)
		sess.Finish(0, nil)
	default:
		sess.Finish(127, fmt.Errorf("unknown command %q", req.Command[0]))
	}
}

// pods/exec is proxied to the kubelet of the pod's node as an upgraded connection: the
// frames pass unchanged both ways, so stdin, stdout, stderr, resizes and the exit code
// all make the round trip.
func TestPodExecProxiedToKubelet(t *testing.T) {
	ts := start(t)
	ctx := context.Background()
	fk := &fakeExecKubelet{}
	kubeletNode(t, ts, "exec-node", fk)
	pod := newPod("default", "execpod", nil)
	pod.Spec.Containers = append(pod.Spec.Containers, &corev1.Container{Name: "sleepy", Image: "kube5/testbox:1.0"})
	pod.Spec.NodeName = "exec-node"
	pod, err := ts.Client.Pods("default").Create(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = &corev1.PodStatus{Phase: "Pending", ContainerStatuses: []*corev1.ContainerStatus{
		{Name: "app", State: &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		{Name: "sleepy", State: &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
	}}
	if _, err := ts.Client.Pods("default").UpdateStatus(ctx, pod); err != nil {
		t.Fatal(err)
	}
	base := ts.URL + "/api/v1/namespaces/default/pods/execpod/exec?"
	execURL := func(container string, r remotecommand.Request) string {
		q := r.Query(nil)
		if container != "" {
			q.Set("container", container)
		}
		return base + q.Encode()
	}

	// stdin is echoed back through the kubelet.
	var out strings.Builder
	code, err := remotecommand.Exec(ctx, execURL("app", remotecommand.Request{Command: []string{"cat"}, Stdin: true, Stdout: true}),
		remotecommand.StreamOptions{Stdin: strings.NewReader("hello through the apiserver\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "hello through the apiserver\n" {
		t.Fatalf("cat: %q, exit %d, %v", out.String(), code, err)
	}
	fk.mu.Lock()
	if len(fk.paths) != 1 || fk.paths[0] != "POST /exec/default/execpod/app" {
		t.Fatalf("kubelet saw %v", fk.paths)
	}
	fk.mu.Unlock()

	// The exit code and stderr are propagated.
	var stderr strings.Builder
	code, err = remotecommand.Exec(ctx, execURL("app", remotecommand.Request{Command: []string{"exit", "42"}, Stdout: true, Stderr: true}),
		remotecommand.StreamOptions{Stderr: &stderr})
	if err != nil || code != 42 || stderr.String() != "bye\n" {
		t.Fatalf("exit: code %d, stderr %q, %v", code, stderr.String(), err)
	}

	// Resizes reach the kubelet (tty).
	out.Reset()
	resize := make(chan remotecommand.Resize, 1)
	resize <- remotecommand.Resize{Width: 120, Height: 40}
	code, err = remotecommand.Exec(ctx, execURL("app", remotecommand.Request{Command: []string{"tty"}, Stdin: true, Stdout: true, TTY: true}),
		remotecommand.StreamOptions{Stdout: &out, Resize: resize})
	close(resize)
	if err != nil || code != 0 || out.String() != "120x40" {
		t.Fatalf("tty: %q, exit %d, %v", out.String(), code, err)
	}

	// Refusals before the upgrade are Status errors from the apiserver.
	for _, tc := range []struct {
		container string
		cmd       []string
		want      string
	}{
		{"nope", []string{"cat"}, "container nope is not valid for pod execpod"},
		{"app", nil, "you must specify at least one command for the container"},
		{"", []string{"cat"}, "a container name must be specified for pod execpod, choose one of: [app sleepy]"},
		{"sleepy", []string{"cat"}, `container \"sleepy\" in pod \"execpod\" is waiting to start: ContainerCreating`},
	} {
		_, err := remotecommand.Exec(ctx, execURL(tc.container, remotecommand.Request{Command: tc.cmd, Stdout: true}), remotecommand.StreamOptions{})
		ue, ok := err.(*remotecommand.UpgradeError)
		if !ok || ue.StatusCode != 400 || !strings.Contains(string(ue.Body), tc.want) || !strings.Contains(string(ue.Body), `"kind":"Status"`) {
			t.Fatalf("container %q command %v: %v", tc.container, tc.cmd, err)
		}
	}

	// GET is accepted as upstream does; without the upgrade headers it is a 400 that says so.
	resp, err := http.Get(execURL("app", remotecommand.Request{Command: []string{"cat"}}))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Upgrade request required") {
		t.Fatalf("GET without upgrade: %d %s", resp.StatusCode, body)
	}
}
