package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/daemon"
	"kube5/proto/remotecommand"

	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/runtime/fake"
)

// attachSetup runs pod ns/p with containers "in" (stdin: true), "term" (stdin and tty)
// and "plain" (neither) on the fake runtime, whose attach echoes stdin.
func attachSetup(t *testing.T) *httptest.Server {
	t.Helper()
	rt := fake.New()
	ctx := context.Background()
	ref := runtime.PodRef{Name: "p", Namespace: "ns", UID: "u1"}
	sb, _ := rt.RunSandbox(ctx, runtime.SandboxConfig{Pod: ref, Image: "pause"})
	spec := &corev1.PodSpec{Containers: []*corev1.Container{
		{Name: "in", Stdin: true, StdinOnce: true},
		{Name: "term", Stdin: true, Tty: true},
		{Name: "plain"},
	}}
	for _, c := range spec.Containers {
		id, _ := rt.CreateContainer(ctx, sb, runtime.ContainerConfig{Pod: ref, Name: c.Name, Image: "img", Stdin: c.Stdin, StdinOnce: c.StdinOnce, TTY: c.Tty})
		_ = rt.StartContainer(ctx, id)
	}
	d := daemon.NewServer("kubelet", nil)
	s := &Server{NodeName: "n", RT: rt, Pods: podList{{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns", Uid: "u1"}, Spec: spec}}}
	s.Register(d)
	ts := httptest.NewServer(d.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func TestAttach(t *testing.T) {
	ts := attachSetup(t)
	ctx := context.Background()
	var out bytes.Buffer
	// stdin reaches the main process, its output comes back, and the session ends
	// with the process's output.
	code, err := remotecommand.Exec(ctx, ts.URL+"/attach/ns/p/in?stdin=true&stdout=true&stderr=true", remotecommand.StreamOptions{Stdin: strings.NewReader("hello\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "attached to in\nhello\n" {
		t.Fatalf("attach -i: %q %d %v", out.String(), code, err)
	}
	// The tty follows the container's spec, whatever the client asked.
	out.Reset()
	if _, err := remotecommand.Exec(ctx, ts.URL+"/attach/ns/p/term?stdin=true&tty=false", remotecommand.StreamOptions{Stdin: strings.NewReader("x"), Stdout: &out}); err != nil || out.String() != "attached to term (tty)\nx" {
		t.Fatalf("tty container: %q %v", out.String(), err)
	}
	// Output only, from a container without stdin.
	out.Reset()
	if _, err := remotecommand.Exec(ctx, ts.URL+"/attach/ns/p/plain?stdout=true", remotecommand.StreamOptions{Stdout: &out}); err != nil || out.String() != "attached to plain\n" {
		t.Fatalf("attach without stdin: %q %v", out.String(), err)
	}
	// stdin to a container created without stdin: true is refused before the upgrade,
	// saying why and what to change.
	_, err = remotecommand.Exec(ctx, ts.URL+"/attach/ns/p/plain?stdin=true", remotecommand.StreamOptions{Stdin: strings.NewReader("x")})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "container plain in pod p does not have stdin enabled: set stdin: true") {
		t.Fatalf("stdin refused: %v", err)
	}
	if _, err := remotecommand.Exec(ctx, ts.URL+"/attach/ns/p/nope?stdout=true", remotecommand.StreamOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown container: %v", err)
	}
	resp, err := http.Post(ts.URL+"/attach/ns/p/in?stdout=true", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("no upgrade: %d", resp.StatusCode)
	}
}

func TestAttachNotOnReadOnlyPort(t *testing.T) {
	d := daemon.NewServer("kubelet", nil)
	(&Server{NodeName: "n", RT: fake.New(), Pods: podList{}}).RegisterReadOnly(d)
	ts := httptest.NewServer(d.Handler())
	defer ts.Close()
	if _, err := remotecommand.Exec(context.Background(), ts.URL+"/attach/ns/p/in?stdout=true", remotecommand.StreamOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("read-only port: %v", err)
	}
}
