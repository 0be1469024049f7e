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
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/remotecommand"
)

// attach plays the kubelet's /attach: the main process echoes stdin (after "tty\r\n"
// with a tty), or without stdin prints one line; a container without stdin: true
// ("plain") refuses stdin as the kubelet does.
func (k *fakeKubelet) attach(w http.ResponseWriter, r *http.Request, pod, ctr string) {
	req := remotecommand.ParseRequest(r.URL.Query())
	if ctr == "plain" && req.Stdin {
		http.Error(w, fmt.Sprintf("container plain in pod %s does not have stdin enabled: set stdin: true in its spec to attach with -i", pod), http.StatusBadRequest)
		return
	}
	sess, err := remotecommand.Accept(w, req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if req.TTY {
		io.WriteString(sess.Stdout, "tty\r\n")
	}
	if sess.Stdin != nil {
		_, err = io.Copy(sess.Stdout, sess.Stdin)
	} else {
		fmt.Fprintf(sess.Stdout, "output of %s/%s\n", pod, ctr)
	}
	sess.Finish(0, err)
	if k.attached != nil {
		k.attached(pod)
	}
}

// attachCluster is a real apiserver with node-1 (kubelet fk), a pod "cat" (container
// "app", stdin: true), "mute" (container "plain", no stdin) and "over" (Succeeded), plus
// a stand-in scheduler and kubelet: a new pod is bound to node-1 and reported running and
// ready; when an attach to it ends, it ends too (exit 3 for pods named fail*): its main
// process read its stdin to the end.
func attachCluster(t *testing.T) (*env, *apiservertest.Server) {
	t.Helper()
	s := apiservertest.Start(t)
	fk := &fakeKubelet{}
	ks := httptest.NewServer(fk)
	t.Cleanup(ks.Close)
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(ks.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	node, err := s.Client.Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-1"}})
	must(t, err)
	node.Status = &corev1.NodeStatus{
		Addresses:       []*corev1.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}},
		DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: int32(port)}},
	}
	_, err = s.Client.Nodes().UpdateStatus(ctx, node)
	must(t, err)
	pods := s.Client.Pods("default")
	setStatus := func(name string, st *corev1.PodStatus) {
		p, err := pods.Get(ctx, name)
		if err != nil {
			return
		}
		p.Status = st
		_, _ = pods.UpdateStatus(ctx, p)
	}
	running := func(p *corev1.Pod) *corev1.PodStatus {
		st := &corev1.PodStatus{Phase: "Running", Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True"}}}
		for _, c := range p.GetSpec().GetContainers() {
			st.ContainerStatuses = append(st.ContainerStatuses, &corev1.ContainerStatus{Name: c.GetName(), State: &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
		}
		return st
	}
	fk.attached = func(pod string) {
		if pod == "cat" || pod == "mute" {
			return // they stay up, as a process does when the attach ends
		}
		code := int32(0)
		phase, reason := "Succeeded", "Completed"
		if strings.HasPrefix(pod, "fail") {
			code, phase, reason = 3, "Failed", "Error"
		}
		setStatus(pod, &corev1.PodStatus{Phase: phase, ContainerStatuses: []*corev1.ContainerStatus{{Name: pod,
			State: &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}}}})
	}
	mkPod := func(name, ctr string, stdin bool, phase string) {
		p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: &corev1.PodSpec{NodeName: "node-1",
			Containers: []*corev1.Container{{Name: ctr, Image: "kube5/testbox:1.0", Stdin: stdin}}}}
		p, err := pods.Create(ctx, p)
		must(t, err)
		st := running(p)
		st.Phase = phase
		setStatus(name, st)
	}
	mkPod("cat", "app", true, "Running")
	mkPod("mute", "plain", false, "Running")
	mkPod("over", "app", false, "Succeeded")
	go func() {
		for ctx.Err() == nil {
			list, err := pods.List(ctx, client.ListOptions{})
			if err == nil {
				for _, p := range list.Items {
					if p.GetSpec().GetNodeName() != "" {
						continue
					}
					b := &corev1.Binding{Metadata: &metav1.ObjectMeta{Name: p.GetMetadata().GetName()}, Target: &corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
					if pods.CreateSubresource(ctx, p.GetMetadata().GetName(), "binding", b, nil) == nil {
						setStatus(p.GetMetadata().GetName(), running(p))
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return newEnv(t, s.URL), s
}

func TestAttach(t *testing.T) {
	t.Parallel()
	e, _ := attachCluster(t)
	const prompt = "If you don't see a command prompt, try pressing enter.\n"
	r := e.runIn("hello through attach\n", "attach", "-i", "cat")
	if r.code != 0 || r.out != "hello through attach\n" || r.err != prompt {
		t.Fatalf("attach -i: %+v", r)
	}
	r = e.run("attach", "mute")
	if r.code != 0 || r.out != "output of mute/plain\n" {
		t.Fatalf("attach: %+v", r)
	}
	wantEqual(t, "quiet", e.runIn("x\n", "attach", "-q", "-i", "cat").err, "")
	// -t for a container without a tty: upstream's warning, then the plain stream.
	r = e.runIn("x\n", "attach", "-it", "cat")
	wantContains(t, "no tty", r.err, "error: Unable to use a TTY - container app did not allocate one\n")
	wantEqual(t, "no tty output", r.out, "x\n")
	// The prompt line comes first, as upstream prints it before connecting.
	wantEqual(t, "stdin refused", e.fails("attach", "-i", "mute"),
		prompt+"Error from server (BadRequest): container plain in pod mute does not have stdin enabled: set stdin: true in its spec to attach with -i\n")
	wantEqual(t, "completed", e.fails("attach", "over"), "error: cannot attach a container in a completed pod; current phase is Succeeded\n")
	wantEqual(t, "no pod", e.fails("attach"), "error: at least 1 argument is required for attach\n")
	wantEqual(t, "bad container", e.fails("attach", "cat", "-c", "nope"), "error: container nope is not valid for pod cat\n")
}

func TestRunInteractive(t *testing.T) {
	t.Parallel()
	e, s := attachCluster(t)
	ctx := context.Background()
	const prompt = "If you don't see a command prompt, try pressing enter.\n"

	// -i: the pod gets stdin and stdinOnce, kubectl waits for it to run, attaches, and
	// with --restart=Never waits for it to end. No "created" line, as upstream.
	r := e.runIn("typed\n", "run", "keep", "--image=kube5/testbox:1.0", "-i", "--restart=Never", "--", "stdin")
	if r.code != 0 || r.out != "typed\n" || r.err != prompt {
		t.Fatalf("run -i: %+v", r)
	}
	p, err := s.Client.Pods("default").Get(ctx, "keep")
	must(t, err)
	c := p.GetSpec().GetContainers()[0]
	if !c.GetStdin() || !c.GetStdinOnce() || c.GetTty() || p.GetSpec().GetRestartPolicy() != "Never" || strings.Join(c.GetArgs(), " ") != "stdin" {
		t.Fatalf("pod spec: %v", p.GetSpec())
	}

	// --rm deletes the pod once the session is over, saying so.
	r = e.runIn("gone soon\n", "run", "tmp", "--image=kube5/testbox:1.0", "-i", "--rm", "--restart=Never")
	if r.code != 0 || r.out != "gone soon\npod \"tmp\" deleted\n" {
		t.Fatalf("run -i --rm: %+v", r)
	}
	if p, err := s.Client.Pods("default").Get(ctx, "tmp"); err == nil && p.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("tmp not deleted: %v", p.GetMetadata())
	}

	// A failed container's exit code is kubectl's, as upstream (--rm still deletes).
	r = e.runIn("", "run", "fail1", "--image=kube5/testbox:1.0", "-i", "--rm", "--restart=Never")
	if r.code != 3 || !strings.Contains(r.err, "pod default/fail1 terminated (Error)\n") || r.out != "pod \"fail1\" deleted\n" {
		t.Fatalf("run -i failing: %+v", r)
	}

	// -t asks for a tty in the pod (the local input is no terminal here: upstream's warning).
	r = e.runIn("", "run", "term", "--image=kube5/testbox:1.0", "-it", "--restart=Never")
	wantContains(t, "-it", r.err, "Unable to use a TTY - input is not a terminal or the right kind of file\n")
	p, err = s.Client.Pods("default").Get(ctx, "term")
	must(t, err)
	if c := p.GetSpec().GetContainers()[0]; !c.GetTty() || !c.GetStdin() {
		t.Fatalf("run -it spec: %v", c)
	}

	const help = "\nSee 'kubectl run -h' for help and examples\n"
	wantEqual(t, "-t without -i", e.fails("run", "x", "--image=i", "-t"), "error: -i/--stdin is required for containers with -t/--tty=true"+help)
	wantEqual(t, "--rm without -i", e.fails("run", "x", "--image=i", "--rm"), "error: --rm should only be used for attached containers"+help)
	wantEqual(t, "-i --dry-run", e.fails("run", "x", "--image=i", "-i", "--dry-run=client"), "error: --dry-run can't be used with attached containers options (--attach, --stdin, or --tty)"+help)
	// Without -i nothing changes.
	wantEqual(t, "plain run", e.ok("run", "plain", "--image=kube5/testbox:1.0"), "pod/plain created\n")
}
