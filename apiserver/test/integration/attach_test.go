package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/remotecommand"
)

// fakeAttachKubelet plays the kubelet's /attach: container "app" echoes stdin after a
// greeting line, "plain" refuses stdin as the kubelet does for a container without
// stdin: true.
type fakeAttachKubelet struct {
	mu    sync.Mutex
	paths []string
}

func (f *fakeAttachKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	req := remotecommand.ParseRequest(r.URL.Query())
	if strings.HasSuffix(r.URL.Path, "/plain") && req.Stdin {
		http.Error(w, "container plain in pod attachpod does not have stdin enabled: set stdin: true in its spec to attach with -i", http.StatusBadRequest)
		return
	}
	sess, err := remotecommand.Accept(w, req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(sess.Stdout, "main process here")
	if sess.Stdin != nil {
		_, err = io.Copy(sess.Stdout, sess.Stdin)
	}
	sess.Finish(0, err)
}

// pods/attach is proxied to the kubelet's /attach/{ns}/{pod}/{container} as an upgraded
// connection, as exec is, without a command.
func TestPodAttachProxiedToKubelet(t *testing.T) {
	ts := start(t)
	ctx := context.Background()
	fk := &fakeAttachKubelet{}
	kubeletNode(t, ts, "attach-node", fk)
	pod := newPod("default", "attachpod", nil)
	pod.Spec.Containers[0].Stdin = true
	pod.Spec.Containers = append(pod.Spec.Containers, &corev1.Container{Name: "plain", Image: "kube5/testbox:1.0"})
	pod.Spec.NodeName = "attach-node"
	if _, err := ts.Client.Pods("default").Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	attachURL := func(container string, r remotecommand.Request) string {
		return ts.URL + "/api/v1/namespaces/default/pods/attachpod/attach?" + r.Query(nil).Encode() + "&container=" + container
	}

	var out strings.Builder
	code, err := remotecommand.Exec(ctx, attachURL("app", remotecommand.Request{Stdin: true, Stdout: true, Stderr: true}),
		remotecommand.StreamOptions{Stdin: strings.NewReader("typed into the pod\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "main process here\ntyped into the pod\n" {
		t.Fatalf("attach: %q, exit %d, %v", out.String(), code, err)
	}
	fk.mu.Lock()
	if len(fk.paths) != 1 || fk.paths[0] != "POST /attach/default/attachpod/app?stderr=true&stdin=true&stdout=true&tty=false" {
		t.Fatalf("kubelet saw %v", fk.paths)
	}
	fk.mu.Unlock()

	for _, tc := range []struct {
		container string
		r         remotecommand.Request
		want      string
	}{
		{"plain", remotecommand.Request{Stdin: true, Stdout: true}, "container plain in pod attachpod does not have stdin enabled: set stdin: true in its spec"},
		{"nope", remotecommand.Request{Stdout: true}, "container nope is not valid for pod attachpod"},
		{"app", remotecommand.Request{}, "you must specify at least one of stdin, stdout, stderr"},
	} {
		_, err := remotecommand.Exec(ctx, attachURL(tc.container, tc.r), remotecommand.StreamOptions{})
		ue, ok := err.(*remotecommand.UpgradeError)
		if !ok || ue.StatusCode != 400 || !strings.Contains(string(ue.Body), tc.want) || !strings.Contains(string(ue.Body), `"kind":"Status"`) {
			t.Fatalf("container %q: %v", tc.container, err)
		}
	}
	// GET is accepted as upstream does; without the upgrade headers it is a 400 that says so.
	resp, err := http.Get(attachURL("app", remotecommand.Request{Stdout: true}))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Upgrade request required: pods/attach") {
		t.Fatalf("GET without upgrade: %d %s", resp.StatusCode, body)
	}
}
