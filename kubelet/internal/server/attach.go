package server

import (
	"fmt"
	"net/http"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/remotecommand"

	"kube5/kubelet/internal/runtime"
)

// attach serves POST /attach/{namespace}/{pod}/{container}?stdin=1&stdout=1&stderr=1&tty=1:
// the running container's main process stdio over the exec protocol
// (kube5/proto/remotecommand, without a command). As upstream's kubelet, the tty follows
// the container's spec, since a process's terminal cannot change once it runs; stdin is
// refused for a container created without stdin: true, which has none to write to.
func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	ns, pod, container, ok := splitPath(r.URL.Path, "/attach/")
	if !ok {
		http.Error(w, "path must be /attach/{namespace}/{pod}/{container}", http.StatusBadRequest)
		return
	}
	if !remotecommand.IsUpgrade(r) {
		http.Error(w, "attach needs 'Connection: Upgrade' and 'Upgrade: "+remotecommand.Protocol+"' (see kube5/proto/remotecommand)", http.StatusBadRequest)
		return
	}
	req := remotecommand.ParseRequest(r.URL.Query())
	req.Command = nil
	if !req.Stdin && !req.Stdout && !req.Stderr {
		http.Error(w, "you must specify at least one of stdin, stdout, stderr", http.StatusBadRequest)
		return
	}
	c, err := s.findContainer(r.Context(), ns, pod, container, false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if c.State != runtime.StateRunning {
		http.Error(w, fmt.Sprintf("container %s is not running", container), http.StatusBadRequest)
		return
	}
	if spec := s.containerSpec(ns, pod, container); spec != nil {
		if req.Stdin && !spec.GetStdin() {
			http.Error(w, fmt.Sprintf("container %s in pod %s does not have stdin enabled: set stdin: true in its spec to attach with -i", container, pod), http.StatusBadRequest)
			return
		}
		req.TTY = spec.GetTty()
		if req.TTY {
			req.Stderr = false
		}
	}
	sess, err := remotecommand.Accept(w, req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	opts := runtime.AttachOptions{TTY: req.TTY, Stdin: sess.Stdin, Stdout: sess.Stdout, Stderr: sess.Stderr}
	// The client going away detaches (the container goes on).
	ctx, cancel, resize := sessionStreams(sess)
	defer cancel()
	opts.Resize = resize
	// An attach has no exit code of its own: the session ends when the process's output
	// does (it exited) or the client leaves.
	sess.Finish(0, s.RT.Attach(ctx, c.ID, opts))
}

// containerSpec is the spec of a pod's container, nil when the kubelet does not know the
// pod (then the request's own stdin and tty stand).
func (s *Server) containerSpec(ns, pod, container string) *corev1.Container {
	if s.Pods == nil {
		return nil
	}
	for _, p := range s.Pods.Pods() {
		if p.GetMetadata().GetNamespace() != ns || p.GetMetadata().GetName() != pod {
			continue
		}
		for _, c := range append(p.GetSpec().GetInitContainers(), p.GetSpec().GetContainers()...) {
			if c.GetName() == container {
				return c
			}
		}
	}
	return nil
}
