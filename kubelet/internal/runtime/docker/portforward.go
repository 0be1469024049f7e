package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/docker/docker/errdefs"

	"kube5/kubelet/internal/nsdial"
	"kube5/kubelet/internal/runtime"
)

// PortForward connects to 127.0.0.1:port in the sandbox's network namespace, found
// through the pause container's PID (/proc/PID/ns/net); a host-network sandbox shares
// the kubelet's namespace, so it is dialled directly.
func (r *Runtime) PortForward(ctx context.Context, sandboxID string, port int32) (net.Conn, error) {
	j, err := r.c.ContainerInspect(ctx, sandboxID)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, runtime.ErrNotFound
		}
		return nil, err
	}
	if j.Config == nil || j.Config.Labels[runtime.LabelNode] != r.node {
		return nil, runtime.ErrNotFound
	}
	if j.State == nil || !j.State.Running || j.State.Pid <= 0 {
		return nil, errors.New("the pod's sandbox is not running")
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	if j.HostConfig != nil && j.HostConfig.NetworkMode.IsHost() {
		var d net.Dialer
		return d.DialContext(ctx, "tcp4", addr)
	}
	return nsdial.Dial(ctx, fmt.Sprintf("/proc/%d/ns/net", j.State.Pid), addr)
}
