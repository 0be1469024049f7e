package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/remotecommand"
)

// fakeKubelet stands in for the kubelet of node "node-1", the external peer the
// apiserver proxies pods/log and pods/exec to. Logs are "<pod>/<container> line N" plus
// the query it was asked with; exec runs a few pretend commands (see exec).
type fakeKubelet struct {
	mu      sync.Mutex
	queries []string
	// attached is called with the pod's name when an attach session ends (attach_test.go).
	attached func(pod string)
}

func (k *fakeKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/portForward/") {
		k.portForward(w, r) // portforward_test.go
		return
	}
	path := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(path) != 4 {
		http.NotFound(w, r)
		return
	}
	ns, pod, ctr := path[1], path[2], path[3]
	_ = ns
	if ctr == "sleepy" {
		// What the real kubelet answers for a container that is not running yet.
		http.Error(w, "container sleepy is not running", http.StatusBadRequest)
		return
	}
	switch path[0] {
	case "containerLogs":
		k.mu.Lock()
		k.queries = append(k.queries, pod+"/"+ctr+"?"+r.URL.RawQuery)
		k.mu.Unlock()
		fl := w.(http.Flusher)
		for i := 1; i <= 2; i++ {
			fmt.Fprintf(w, "%s/%s line %d\n", pod, ctr, i)
			fl.Flush()
		}
	case "exec":
		k.exec(w, r)
	case "attach":
		k.attach(w, r, pod, ctr) // attach_test.go
	default:
		http.NotFound(w, r)
	}
}

// exec runs: echo ARGS, cat (stdin to stdout), fail N (stderr "oops", exit N), tty
// (without a tty says so; with one prints two terminal sizes, then waits for a Ctrl-C).
func (k *fakeKubelet) exec(w http.ResponseWriter, r *http.Request) {
	req := remotecommand.ParseRequest(r.URL.Query())
	sess, err := remotecommand.Accept(w, req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	switch req.Command[0] {
	case "echo":
		fmt.Fprintln(sess.Stdout, strings.Join(req.Command[1:], " "))
		sess.Finish(0, nil)
	case "cat":
		in := sess.Stdin
		if in == nil { // stdin=false: the command's stdin is empty, as in a container
			in = strings.NewReader("")
		}
		_, err := io.Copy(sess.Stdout, in)
		sess.Finish(0, err)
	case "fail":
		code, _ := strconv.Atoi(req.Command[1])
		io.WriteString(sess.Stderr, "oops\n")
		sess.Finish(code, nil)
	case "tty":
		if sess.Resize == nil {
			fmt.Fprintln(sess.Stdout, "no tty")
			sess.Finish(0, nil)
			return
		}
		// Two sizes (the first and one after a SIGWINCH), then stdin up to a Ctrl-C.
		for range 2 {
			sz := <-sess.Resize
			fmt.Fprintf(sess.Stdout, "size %dx%d\r\n", sz.Width, sz.Height)
		}
		b := make([]byte, 1)
		for {
			if _, err := sess.Stdin.Read(b); err != nil {
				sess.Finish(1, err)
				return
			}
			if b[0] == 3 {
				io.WriteString(sess.Stdout, "got ctrl-c\r\n")
				sess.Finish(0, nil)
				return
			}
		}
	default:
		sess.Finish(127, fmt.Errorf("%s: executable file not found in $PATH", req.Command[0]))
	}
}

// streamsCluster is a real apiserver with node-1 (whose kubelet is fk) and pods bound
// to it: web-1 and web-2 (app=web, one container "app"), two (containers a and b, and
// "sleepy" waiting to start), done (Succeeded).
func streamsCluster(t *testing.T) (*env, *fakeKubelet) {
	t.Helper()
	s := apiservertest.Start(t)
	fk := &fakeKubelet{}
	ks := httptest.NewServer(fk)
	t.Cleanup(ks.Close)
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(ks.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	ctx := context.Background()
	node, err := s.Client.Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-1"}})
	must(t, err)
	node.Status = &corev1.NodeStatus{
		Addresses:       []*corev1.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}},
		DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: int32(port)}},
	}
	_, err = s.Client.Nodes().UpdateStatus(ctx, node)
	must(t, err)
	mkPod := func(name string, labels map[string]string, phase string, ctrs ...string) {
		p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels}, Spec: &corev1.PodSpec{NodeName: "node-1"}}
		st := &corev1.PodStatus{Phase: phase}
		for _, c := range ctrs {
			p.Spec.Containers = append(p.Spec.Containers, &corev1.Container{Name: c, Image: "kube5/testbox:1.0"})
			state := &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
			if c == "sleepy" {
				state = &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
			}
			st.ContainerStatuses = append(st.ContainerStatuses, &corev1.ContainerStatus{Name: c, State: state})
		}
		p, err := s.Client.Pods("default").Create(ctx, p)
		must(t, err)
		p.Status = st
		_, err = s.Client.Pods("default").UpdateStatus(ctx, p)
		must(t, err)
	}
	mkPod("web-1", map[string]string{"app": "web"}, "Running", "app")
	mkPod("web-2", map[string]string{"app": "web"}, "Running", "app")
	mkPod("two", nil, "Running", "a", "b", "sleepy")
	mkPod("done", nil, "Succeeded", "app")
	return newEnv(t, s.URL), fk
}

func TestLogs(t *testing.T) {
	t.Parallel()
	e, fk := streamsCluster(t)
	lastQuery := func() string {
		fk.mu.Lock()
		defer fk.mu.Unlock()
		return fk.queries[len(fk.queries)-1]
	}
	wantEqual(t, "logs", e.ok("logs", "web-1"), "web-1/app line 1\nweb-1/app line 2\n")
	wantEqual(t, "query", lastQuery(), "web-1/app?")

	e.ok("logs", "web-1", "-f", "--tail", "5", "--previous", "--timestamps", "--since", "90s")
	q := lastQuery()
	wantContains(t, "flags reach the kubelet", q, "follow=true", "tailLines=5", "previous=true", "timestamps=true", "sinceSeconds=90")

	r := e.run("logs", "two")
	wantEqual(t, "default container", r.out, "two/a line 1\ntwo/a line 2\n")
	wantEqual(t, "defaulted", r.err, "Defaulted container \"a\" out of: a, b, sleepy\n")
	wantEqual(t, "-c", e.ok("logs", "two", "-c", "b"), "two/b line 1\ntwo/b line 2\n")

	// A selector: every pod, the last 10 lines of each; --prefix names the source.
	wantEqual(t, "selector", e.ok("logs", "-l", "app=web", "--prefix"),
		"[pod/web-1/app] web-1/app line 1\n[pod/web-1/app] web-1/app line 2\n[pod/web-2/app] web-2/app line 1\n[pod/web-2/app] web-2/app line 2\n")
	wantContains(t, "selector tail", lastQuery(), "tailLines=10")
	// Following several streams at once, each line whole.
	out := e.ok("logs", "-l", "app=web", "-f", "--prefix")
	for _, l := range []string{"[pod/web-1/app] web-1/app line 1\n", "[pod/web-2/app] web-2/app line 2\n"} {
		wantContains(t, "follow selector", out, l)
	}
	wantContains(t, "max log requests", e.fails("logs", "-l", "app=web", "-f", "--max-log-requests=1"),
		"error: you are attempting to follow 2 log streams, but maximum allowed concurrency is 1, use --max-log-requests to increase the limit")

	// TYPE/NAME: a pod of the object.
	e.ok("create", "deployment", "web", "--image=kube5/httpenv:1.0")
	r = e.run("logs", "deploy/web")
	if r.code != 0 || !strings.HasPrefix(r.out, "web-") || !strings.Contains(r.err, "Found 2 pods, using pod/web-") {
		t.Errorf("logs deploy/web: %d %q %q", r.code, r.out, r.err)
	}

	wantEqual(t, "waiting", e.fails("logs", "two", "-c", "sleepy"),
		"Error from server (BadRequest): container \"sleepy\" in pod \"two\" is waiting to start: ContainerCreating\n")
	wantEqual(t, "bad container", e.fails("logs", "web-1", "-c", "nope"), "error: container nope is not valid for pod web-1\n")
	wantEqual(t, "missing pod", e.fails("logs", "nope"), "Error from server (NotFound): pods \"nope\" not found\n")
}

func TestExec(t *testing.T) {
	t.Parallel()
	e, _ := streamsCluster(t)
	wantEqual(t, "echo", e.ok("exec", "web-1", "--", "echo", "hi", "there"), "hi there\n")
	wantEqual(t, "stdin", e.run("exec", "-i", "web-1", "--", "cat").out, "")
	r := e.runIn("piped through\n", "exec", "-i", "web-1", "--", "cat")
	wantEqual(t, "stdin", r.out, "piped through\n")
	// Without -i, stdin is not sent.
	wantEqual(t, "no -i", e.runIn("ignored\n", "exec", "web-1", "--", "cat").out, "")

	r = e.run("exec", "web-1", "--", "fail", "3")
	if r.code != 3 || r.err != "oops\ncommand terminated with exit code 3\n" {
		t.Errorf("exit code: %d %q", r.code, r.err)
	}
	// -t with an input that is not a terminal: upstream's warning, then no tty.
	r = e.runIn("x", "exec", "-it", "web-1", "--", "tty")
	if r.code != 0 || r.out != "no tty\n" || r.err != "Unable to use a TTY - input is not a terminal or the right kind of file\n" {
		t.Errorf("-it without a terminal: %d %q %q", r.code, r.out, r.err)
	}
	r = e.run("exec", "two", "--", "echo", "x")
	wantEqual(t, "default container", r.err, "Defaulted container \"a\" out of: a, b, sleepy\n")
	r = e.run("exec", "web-1", "echo", "old")
	wantEqual(t, "deprecated form", r.out, "old\n")
	wantContains(t, "deprecated form", r.err, "kubectl exec [POD] [COMMAND] is DEPRECATED")

	wantEqual(t, "waiting", e.fails("exec", "two", "-c", "sleepy", "--", "ls"),
		"Error from server (BadRequest): container \"sleepy\" in pod \"two\" is waiting to start: ContainerCreating\n")
	wantEqual(t, "bad container", e.fails("exec", "web-1", "-c", "nope", "--", "ls"), "error: container nope is not valid for pod web-1\n")
	wantEqual(t, "no command", e.fails("exec", "web-1"), "error: you must specify at least one command for the container\n")
	wantEqual(t, "completed", e.fails("exec", "done", "--", "ls"), "error: cannot exec into a container in a completed pod; current phase is Succeeded\n")
	r = e.run("exec", "web-1", "--", "nosuch")
	if r.code != 127 || !strings.Contains(r.err, "nosuch: executable file not found in $PATH") {
		t.Errorf("unknown command: %d %q", r.code, r.err)
	}
}
