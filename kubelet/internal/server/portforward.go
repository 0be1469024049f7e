package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"kube5/proto/portforward"

	"kube5/kubelet/internal/runtime"
)

// portForwardDialTimeout bounds the connection to the pod's port; a refusal comes at
// once, this is for a pod whose network does not answer at all.
const portForwardDialTimeout = 10 * time.Second

// portForward serves one forwarded connection (kube5/proto/portforward): it connects to
// the port in the pod's network namespace first, so that a refusal is an HTTP error
// naming the pod, then upgrades and splices bytes both ways.
func (s *Server) portForward(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/portForward/"), "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		http.Error(w, "path must be /portForward/{namespace}/{pod}", http.StatusBadRequest)
		return
	}
	ns, pod := parts[0], parts[1]
	if !portforward.IsUpgrade(r) {
		http.Error(w, "port-forward needs 'Connection: Upgrade' and 'Upgrade: "+portforward.Protocol+"' (see kube5/proto/portforward)", http.StatusBadRequest)
		return
	}
	port, err := portforward.ParsePort(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sb, code, err := s.findSandbox(r.Context(), ns, pod)
	if err != nil {
		http.Error(w, err.Error(), code)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), portForwardDialTimeout)
	conn, err := s.RT.PortForward(ctx, sb.ID, port)
	cancel()
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) {
			err = errors.New("the pod's sandbox is gone")
		}
		// Upstream's words, which kubectl prints after "an error occurred forwarding L -> R".
		http.Error(w, fmt.Sprintf("error forwarding port %d to pod %s, uid %s: %v", port, pod, sb.PodUID, err), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	stream, err := portforward.Accept(w)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	klog.V(4).InfoS("Forwarding a connection", "pod", ns+"/"+pod, "port", port)
	if err := portforward.Splice(conn, stream); err != nil {
		klog.V(3).InfoS("Port-forward connection ended with an error", "pod", ns+"/"+pod, "port", port, "err", err)
		stream.Fail(fmt.Errorf("error forwarding port %d to pod %s, uid %s: %v", port, pod, sb.PodUID, err))
		return
	}
	stream.Close()
}

// findSandbox returns the pod's newest sandbox when it runs; otherwise an error and the
// HTTP status to answer it with.
func (s *Server) findSandbox(ctx context.Context, ns, pod string) (*runtime.Container, int, error) {
	list, err := s.RT.ListContainers(ctx, "")
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	var newest *runtime.Container
	for _, c := range list {
		if c.PodNamespace != ns || c.PodName != pod || !c.IsSandbox() {
			continue
		}
		if newest == nil || c.Attempt > newest.Attempt || (c.Attempt == newest.Attempt && c.CreatedAt.After(newest.CreatedAt)) {
			newest = c
		}
	}
	switch {
	case newest == nil:
		return nil, http.StatusNotFound, fmt.Errorf("pod %s/%s not found on node %s", ns, pod, s.NodeName)
	case newest.State != runtime.StateRunning:
		return nil, http.StatusBadRequest, fmt.Errorf("pod %s/%s is not running (its sandbox has %s)", ns, pod, newest.State)
	}
	return newest, 0, nil
}
