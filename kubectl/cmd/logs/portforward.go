package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/portforward"
)

// errLostPod is upstream's message when the pod goes away under a port-forward.
var errLostPod = errors.New("lost connection to pod")

// watchPodLost watches pod name (of uid) until it is deleted, replaced by another of the
// same name, or stops running, and reports true; false when ctx ends first. A broken
// watch (the apiserver restarting) is resumed, not taken for a lost pod.
func watchPodLost(ctx context.Context, cs *client.Clientset, ns, name, uid string) bool {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		w, err := cs.Pods(ns).Watch(ctx, client.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			select {
			case <-ctx.Done():
				return false
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		for ev := range w.ResultChan() {
			switch ev.Type {
			case client.Deleted:
				w.Stop()
				return true
			case client.Added, client.Modified:
				p := ev.Object
				if p.GetMetadata().GetUid() != uid || p.GetStatus().GetPhase() != "Running" {
					w.Stop()
					return true
				}
			}
		}
		// The synthetic ADDED of a re-watch says whether the pod is still there; a pod
		// deleted meanwhile shows as missing from it.
		if _, err := cs.Pods(ns).Get(ctx, name); err != nil && apierrors.IsNotFound(err) {
			return true
		}
	}
	return false
}

// forwardedPort is upstream's ForwardedPort, printed as {Local Remote} in its errors.
type forwardedPort struct {
	Local, Remote uint16
}

// NewPortForwardCommand returns `kubectl port-forward`. Each local connection it accepts
// is carried by a pods/portforward request of its own through the apiserver to the
// pod's kubelet (kube5/proto/portforward), which connects to the port on the pod's
// localhost.
func NewPortForwardCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	var addresses []string
	var podRunningTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]",
		Short: "Forward one or more local ports to a pod",
		Example: `  # Listen on ports 5000 and 6000 locally, forwarding data to/from ports 5000 and 6000 in the pod
  kubectl port-forward pod/mypod 5000 6000

  # Listen on port 8888 locally, forwarding to the targetPort of the service's port named "https" in a pod selected by the service
  kubectl port-forward service/myservice 8443:https

  # Listen on a random port locally, forwarding to 5000 in the pod
  kubectl port-forward pod/mypod :5000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return fmt.Errorf("TYPE/NAME and list of ports are required for port-forward")
			}
			if podRunningTimeout <= 0 {
				return fmt.Errorf("--pod-running-timeout must be higher than zero")
			}
			ips, err := parseAddresses(addresses)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cs, err := f.Client()
			if err != nil {
				return err
			}
			ns, _, err := f.DefaultNamespace()
			if err != nil {
				return err
			}
			pod, ports, err := forwardTarget(ctx, cs, ns, args[0], args[1:], podRunningTimeout)
			if err != nil {
				return err
			}
			forwards, err := parsePorts(ports)
			if err != nil {
				return err
			}
			if ph := u.String(pod, "status", "phase"); ph != "Running" {
				return fmt.Errorf("unable to forward port because pod is not running. Current status=%v", ph)
			}
			base, err := f.ServerURL()
			if err != nil {
				return err
			}
			locked := s.Locked() // the connections' goroutines print concurrently
			fw := &forwarder{
				out: locked.Out, errOut: locked.ErrOut,
				url: fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/portforward", base, url.PathEscape(ns), url.PathEscape(u.Name(pod))),
			}
			// Upstream's port-forward ends when its connection to the pod drops; here
			// every local connection has its own stream, so a watch on the pod says when
			// the pod is gone, replaced or no longer running.
			fctx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			go func() {
				if watchPodLost(fctx, cs, ns, u.Name(pod), u.String(pod, "metadata", "uid")) {
					cancel(errLostPod)
				}
			}()
			if err := fw.run(fctx, ips, forwards); err != nil {
				return err
			}
			if errors.Is(context.Cause(fctx), errLostPod) && ctx.Err() == nil {
				return errLostPod
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&addresses, "address", []string{"localhost"}, "Addresses to listen on (comma separated). Only accepts IP addresses or localhost as a value. localhost means 127.0.0.1.")
	cmd.Flags().DurationVar(&podRunningTimeout, "pod-running-timeout", time.Minute, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	return cmd
}

// parseAddresses accepts IP addresses and localhost, as upstream.
func parseAddresses(addresses []string) ([]string, error) {
	var ips []string
	seen := map[string]bool{}
	for _, a := range addresses {
		ip := a
		if a == "localhost" {
			ip = "127.0.0.1"
		} else if parsed := net.ParseIP(a); parsed != nil {
			ip = parsed.String()
		} else {
			return nil, fmt.Errorf("%s is not a valid IP", a)
		}
		if !seen[ip] {
			seen[ip] = true
			ips = append(ips, ip)
		}
	}
	return ips, nil
}

// parsePorts reads [LOCAL:]REMOTE arguments with upstream's rules and messages: a
// missing local port is the remote one, an empty one (":5000") a free one.
func parsePorts(ports []string) ([]forwardedPort, error) {
	var forwards []forwardedPort
	for _, p := range ports {
		parts := strings.Split(p, ":")
		var local, remote string
		switch len(parts) {
		case 1:
			local, remote = parts[0], parts[0]
		case 2:
			local, remote = parts[0], parts[1]
			if local == "" {
				local = "0"
			}
		default:
			return nil, fmt.Errorf("invalid port format '%s'", p)
		}
		l, err := strconv.ParseUint(local, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("error parsing local port '%s': %s", local, err)
		}
		r, err := strconv.ParseUint(remote, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("error parsing remote port '%s': %s", remote, err)
		}
		if r == 0 {
			return nil, fmt.Errorf("remote port cannot be zero")
		}
		forwards = append(forwards, forwardedPort{Local: uint16(l), Remote: uint16(r)})
	}
	return forwards, nil
}

// forwardTarget finds the pod to forward to and the ports in numbers: a pod by name, or
// a pod of a Deployment, ReplicaSet, Service... (waiting up to timeout for one to run).
// A service's ports are translated to its targetPorts, a pod's named ports to numbers,
// as upstream.
func forwardTarget(ctx context.Context, cs *client.Clientset, ns, what string, ports []string, timeout time.Duration) (map[string]any, []string, error) {
	typ, name, ok := strings.Cut(what, "/")
	if !ok {
		typ, name = "pods", what
	}
	res, err := resource.Lookup(typ)
	if err != nil {
		return nil, nil, err
	}
	obj, err := resource.Get(ctx, cs, res, ns, name)
	if err != nil {
		return nil, nil, err
	}
	if res.Kind == "Pod" {
		ports, err := podNamedPorts(ports, obj)
		return obj, ports, err
	}
	if res.Kind == "Service" && len(u.StringMap(obj, "spec", "selector")) == 0 {
		return nil, nil, fmt.Errorf("invalid service '%s': Service is defined without a selector", name)
	}
	var pod map[string]any
	deadline := time.Now().Add(timeout)
	for {
		pod, err = podOf(ctx, cs, io.Discard, ns, res.Kind, obj, what)
		if err == nil && u.String(pod, "status", "phase") == "Running" || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if res.Kind == "Service" {
		ports, err = serviceTargetPorts(ports, obj, pod)
	} else {
		ports, err = podNamedPorts(ports, pod)
	}
	return pod, ports, err
}

// splitPort splits [LOCAL:]REMOTE; without a colon both are the one port.
func splitPort(p string) (local, remote string) {
	if l, r, ok := strings.Cut(p, ":"); ok {
		return l, r
	}
	return p, p
}

// containerPortByName is a named container port of the pod.
func containerPortByName(pod map[string]any, name string) (int64, error) {
	for _, c := range u.Maps(pod, "spec", "containers") {
		for _, p := range u.Maps(c, "ports") {
			if u.String(p, "name") == name {
				return u.Int(p, "containerPort"), nil
			}
		}
	}
	return 0, fmt.Errorf("Pod '%s' does not have a named port '%s'", u.Name(pod), name)
}

// podNamedPorts turns remote ports given by name ("8080:http") into numbers.
func podNamedPorts(ports []string, pod map[string]any) ([]string, error) {
	var out []string
	for _, p := range ports {
		local, remote := splitPort(p)
		if _, err := strconv.Atoi(remote); err == nil {
			out = append(out, p)
			continue
		}
		n, err := containerPortByName(pod, remote)
		if err != nil {
			return nil, err
		}
		if local == remote {
			out = append(out, strconv.FormatInt(n, 10))
		} else {
			out = append(out, local+":"+strconv.FormatInt(n, 10))
		}
	}
	return out, nil
}

// serviceTargetPorts maps service ports (by number or name) to the pod's target ports;
// without a local port, the service port is the local one, as upstream.
func serviceTargetPorts(ports []string, svc, pod map[string]any) ([]string, error) {
	svcName := u.Name(svc)
	var out []string
	for _, p := range ports {
		local, remote := splitPort(p)
		num, err := strconv.Atoi(remote)
		if err != nil {
			found := false
			for _, sp := range u.Maps(svc, "spec", "ports") {
				if u.String(sp, "name") == remote {
					num, found = int(u.Int(sp, "port")), true
				}
			}
			if !found {
				return nil, fmt.Errorf("Service '%s' does not have a named port '%s'", svcName, remote)
			}
			if local == remote {
				local = strconv.Itoa(num)
			}
		}
		target, err := serviceTargetPort(svc, pod, int64(num))
		if err != nil {
			return nil, err
		}
		if t := strconv.FormatInt(target, 10); local != t {
			out = append(out, local+":"+t)
		} else {
			out = append(out, t)
		}
	}
	return out, nil
}

func serviceTargetPort(svc, pod map[string]any, port int64) (int64, error) {
	for _, sp := range u.Maps(svc, "spec", "ports") {
		if u.Int(sp, "port") != port {
			continue
		}
		if u.String(svc, "spec", "clusterIP") == "None" {
			return port, nil
		}
		switch tp := sp["targetPort"].(type) {
		case nil:
			return port, nil
		case string:
			if n, err := strconv.ParseInt(tp, 10, 64); err == nil {
				return n, nil
			}
			return containerPortByName(pod, tp)
		default:
			if n := u.ToInt(tp); n != 0 {
				return n, nil
			}
			return port, nil
		}
	}
	return 0, fmt.Errorf("Service %s does not have a service port %d", u.Name(svc), port)
}

// forwarder listens on the local ports and carries each connection it accepts to the pod.
type forwarder struct {
	out, errOut io.Writer
	url         string // pods/{name}/portforward, without the query

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func (fw *forwarder) run(ctx context.Context, ips []string, forwards []forwardedPort) error {
	var listeners []net.Listener
	var failed []forwardedPort
	for _, p := range forwards {
		ls, err := listen(ips, p.Local)
		if err != nil {
			fmt.Fprintf(fw.errOut, "Unable to listen on port %d: %v\n", p.Local, err)
			failed = append(failed, p)
			continue
		}
		for _, l := range ls {
			local := uint16(l.Addr().(*net.TCPAddr).Port)
			fmt.Fprintf(fw.out, "Forwarding from %s -> %d\n", l.Addr(), p.Remote)
			listeners = append(listeners, l)
			go fw.accept(ctx, l, forwardedPort{Local: local, Remote: p.Remote})
		}
	}
	if len(listeners) == 0 {
		return fmt.Errorf("unable to listen on any of the requested ports: %v", failed)
	}
	<-ctx.Done()
	// Ctrl-C: stop listening and end the connections in flight, as upstream.
	for _, l := range listeners {
		l.Close()
	}
	fw.mu.Lock()
	for c := range fw.conns {
		c.Close()
	}
	fw.mu.Unlock()
	return nil
}

// listen opens port on every address; port 0 takes a free port on the first and the
// same one on the others.
func listen(ips []string, port uint16) ([]net.Listener, error) {
	var ls []net.Listener
	var errs []string
	for _, ip := range ips {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))))
		if err != nil {
			errs = append(errs, "unable to create listener: Error "+err.Error())
			continue
		}
		if port == 0 {
			port = uint16(l.Addr().(*net.TCPAddr).Port)
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("Listeners failed to create with the following errors: [%s]", strings.Join(errs, " "))
	}
	return ls, nil
}

func (fw *forwarder) accept(ctx context.Context, l net.Listener, p forwardedPort) {
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				fmt.Fprintf(fw.errOut, "error accepting connection on port %d: %v\n", p.Local, err)
			}
			return
		}
		fmt.Fprintf(fw.out, "Handling connection for %d\n", p.Local)
		fw.mu.Lock()
		if ctx.Err() != nil {
			fw.mu.Unlock()
			conn.Close()
			return
		}
		if fw.conns == nil {
			fw.conns = map[net.Conn]bool{}
		}
		fw.conns[conn] = true
		fw.mu.Unlock()
		go fw.handle(ctx, conn, p)
	}
}

// handle carries one local connection over a pods/portforward stream of its own.
func (fw *forwarder) handle(ctx context.Context, conn net.Conn, p forwardedPort) {
	defer func() {
		conn.Close()
		fw.mu.Lock()
		delete(fw.conns, conn)
		fw.mu.Unlock()
	}()
	stream, err := portforward.Dial(ctx, fmt.Sprintf("%s?ports=%d", fw.url, p.Remote), nil)
	if err != nil {
		var ue *portforward.UpgradeError
		if errors.As(err, &ue) {
			err = statusError(ue.StatusCode, ue.ContentType, bytesReader(ue.Body))
		}
		if ctx.Err() == nil {
			fmt.Fprintf(fw.errOut, "an error occurred forwarding %d -> %d: %v\n", p.Local, p.Remote, err)
		}
		return
	}
	defer stream.Close()
	if err := portforward.Splice(conn, stream); err != nil && ctx.Err() == nil && !localHangUp(err) {
		fmt.Fprintf(fw.errOut, "an error occurred forwarding %d -> %d: %v\n", p.Local, p.Remote, err)
	}
}

// localHangUp says the local client went away mid-stream (reset, closed): its own
// business, not worth an error line.
func localHangUp(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}
