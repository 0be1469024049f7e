package podworkers

// Lifecycle hooks, run as upstream's kubelet runs them. postStart runs right after the
// container started; until it returns the worker does nothing else for the pod, and when
// it fails the container is killed (FailedPostStartHook) and restarted as its pod's policy
// says. preStop runs before every kill of a running container (pod deletion, failed
// liveness probe, changed spec) and counts against the grace period: SIGTERM comes when
// the hook returned or the grace period ran out, and then at least 2s before SIGKILL. A
// failed preStop hook is an event (FailedPreStopHook) and a log line; the kill goes on.
//
// preStop is what makes a rolling update lose no request: the endpoints controller drops
// a terminating pod at once, but kube-proxy applies that a sync later, so a container that
// stopped serving on SIGTERM right away would still get new connections for a moment. A
// `sleep` preStop hook keeps it serving until every node has stopped sending it any.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/events"

	"kube5/kubelet/internal/prober"
	"kube5/kubelet/internal/runtime"
)

// minGraceAfterPreStop is what SIGTERM gets at least once a preStop hook ran, even past
// the grace period (upstream's minimumGracePeriodInSeconds).
const minGraceAfterPreStop = 2 * time.Second

// minGrace is what SIGTERM gets at least otherwise, even from a force deletion: upstream's
// pod workers never give less than 1s.
const minGrace = time.Second

// killContainer stops a running container: its preStop hook first (when its spec has
// one and there is time left), then SIGTERM with what is left of the grace period, then
// SIGKILL. spec and pod may be nil (an orphan): no hook then. The grace period ends at
// the pod's kill deadline when that is sooner, and follows it when it moves closer while
// the container stops (a second delete with a shorter grace period, a force deletion):
// the hook is cut and the container stopped (again) by the new deadline, as upstream
// cancels a termination in progress and starts it again with the shorter grace period.
// Unlike upstream's restarted kill, a hook that was cut is not run again: the new grace
// period goes to SIGTERM, so SIGKILL comes at the new deadline.
func (w *worker) killContainer(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, cur *runtime.Container, podIP string, grace time.Duration) error {
	by := time.Now().Add(grace)
	start, _ := w.killDeadline(by)
	floor := minGrace
	if h := spec.GetLifecycle().GetPreStop(); h != nil && pod != nil && time.Until(start) > 0 {
		w.runPreStop(ctx, pod, spec, cur, podIP, h, by)
		floor = minGraceAfterPreStop
	}
	for {
		deadline, moved := w.killDeadline(by)
		if deadline.Before(start) {
			floor = minGrace // shortened: the user asked for the container to go sooner
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func(moved <-chan struct{}) {
			for {
				select {
				case <-moved:
					var next time.Time
					if next, moved = w.killDeadline(by); next.Before(deadline) {
						cancel()
						return
					}
				case <-done:
					return
				}
			}
		}(moved)
		err := w.m.rt.StopContainer(sctx, cur.ID, max(time.Until(deadline), floor))
		close(done)
		shortened := sctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil && shortened {
			klog.V(2).InfoS("Grace period shortened while the container stopped; stopping it by the new deadline", "pod", podName(pod, w.orphan), "container", cur.ContainerName)
			continue
		}
		return err
	}
}

// runPreStop runs the preStop hook until by, or until the pod's kill deadline when that
// is sooner. A deadline moved closer while the hook runs cuts it at once: the user asked
// for the container to go sooner, and the new grace period is SIGTERM's.
func (w *worker) runPreStop(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, cur *runtime.Container, podIP string, h *corev1.LifecycleHandler, by time.Time) {
	start, _ := w.killDeadline(by)
	hctx, cancel := context.WithDeadline(ctx, start)
	defer cancel()
	go func() {
		for {
			deadline, moved := w.killDeadline(by)
			if deadline.Before(start) {
				cancel()
				return
			}
			select {
			case <-moved:
			case <-hctx.Done():
				return
			}
		}
	}()
	grace := time.Until(start).Round(time.Second)
	klog.V(2).InfoS("Running preStop hook", "pod", klog.KObj(pod.GetMetadata()), "container", spec.GetName(), "gracePeriod", grace)
	err := w.m.runHook(hctx, spec, cur.ID, podIP, h)
	switch {
	case err == nil:
		klog.V(3).InfoS("PreStop hook completed", "pod", klog.KObj(pod.GetMetadata()), "container", spec.GetName())
	case ctx.Err() != nil:
		// The kubelet is stopping: no verdict on the hook.
	case hctx.Err() != nil:
		if deadline, _ := w.killDeadline(by); deadline.Before(start) {
			klog.V(2).InfoS("PreStop hook cut: the pod's grace period was shortened or the pod force-deleted", "pod", klog.KObj(pod.GetMetadata()), "container", spec.GetName())
		} else {
			klog.V(2).InfoS("PreStop hook not completed in grace period", "pod", klog.KObj(pod.GetMetadata()), "container", spec.GetName(), "gracePeriod", grace)
		}
	default:
		klog.ErrorS(err, "PreStop hook failed", "pod", klog.KObj(pod.GetMetadata()), "container", spec.GetName())
		// As upstream, the event does not carry the hook's output: it may hold secrets.
		w.m.rec.Eventf(pod, events.Warning, "FailedPreStopHook", "PreStopHook failed")
	}
}

// runPostStart runs the postStart hook of a container that just started; on failure it
// kills the container and says why. The hook ends early when the pod is deleted.
func (w *worker) runPostStart(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, id, podIP string) error {
	h := spec.GetLifecycle().GetPostStart()
	if h == nil {
		return nil
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.mu.Lock()
	w.hookCancel = cancel
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.hookCancel = nil
		w.mu.Unlock()
	}()
	err := w.m.runHook(hctx, spec, id, podIP, h)
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("PostStartHook failed: %v", err)
	if hctx.Err() != nil && ctx.Err() == nil {
		msg = "PostStartHook cancelled: the pod is being deleted"
	}
	klog.ErrorS(err, "PostStart hook failed", "pod", klog.KObj(pod.GetMetadata()), "container", spec.GetName())
	w.m.rec.Eventf(pod, events.Warning, "FailedPostStartHook", "%s", msg)
	w.m.probes.Remove(id)
	grace := time.Duration(gracePeriod(pod)) * time.Second
	if kerr := w.killContainer(ctx, pod, spec, &runtime.Container{ID: id, ContainerName: spec.GetName()}, podIP, grace); kerr != nil {
		return fmt.Errorf("killing container %s after its postStart hook failed: %w", spec.GetName(), kerr)
	}
	return errPostStartHook
}

// errPostStartHook says the container was killed because its postStart hook failed; the
// next sync restarts it with back-off.
var errPostStartHook = errors.New("postStart hook failed")

// runHook runs one lifecycle handler for the container id of spec.
func (m *Manager) runHook(ctx context.Context, spec *corev1.Container, id, podIP string, h *corev1.LifecycleHandler) error {
	switch {
	case h.GetExec() != nil:
		cmd := h.GetExec().GetCommand()
		var out cappedBuffer
		code, err := m.rt.Exec(ctx, id, runtime.ExecOptions{Cmd: cmd, Stdout: &out, Stderr: &out})
		if err != nil {
			return fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), err)
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d: %s", strings.Join(cmd, " "), code, strings.TrimSpace(string(out.b)))
		}
		return nil
	case h.GetHttpGet() != nil:
		if m.probes.FakeNetwork {
			return nil // hollow nodes: their pod IPs do not exist
		}
		return hookHTTPGet(ctx, spec, podIP, h.GetHttpGet())
	case h.GetSleep() != nil:
		t := time.NewTimer(time.Duration(h.GetSleep().GetSeconds()) * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return errors.New("container terminated before sleep hook finished")
		}
	case h.GetTcpSocket() != nil:
		return errors.New("tcpSocket is not supported as a lifecycle hook (as upstream): use exec, httpGet or sleep")
	}
	return errors.New("the lifecycle hook has no handler: set exec, httpGet or sleep")
}

// hookHTTPGet GETs the hook's URL (the pod IP unless host is set). As upstream, only a
// failed request fails the hook, whatever the status code.
func hookHTTPGet(ctx context.Context, spec *corev1.Container, podIP string, g *corev1.HTTPGetAction) error {
	port, err := prober.ResolvePort(g.GetPort(), spec)
	if err != nil {
		return err
	}
	host := g.GetHost()
	if host == "" {
		host = podIP
	}
	if host == "" {
		return errors.New("the pod has no IP for the httpGet hook")
	}
	scheme := strings.ToLower(g.GetScheme())
	if scheme == "" {
		scheme = "http"
	}
	path := g.GetPath()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	full := (&url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}).String() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-lifecycle/1.0")
	for _, h := range g.GetHttpHeaders() {
		req.Header.Set(h.GetName(), h.GetValue())
	}
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as upstream's hooks
		DisableKeepAlives: true,
	}}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	return nil
}

// cappedBuffer keeps the first 4KiB written to it: enough of a hook's output to say why
// it failed.
type cappedBuffer struct{ b []byte }

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}
