// Package prober runs containers' liveness, readiness and startup probes (exec, httpGet,
// tcpSocket) with upstream's timing fields, one goroutine per probe of a running
// container, and keeps their results for the pod workers.
package prober

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/events"
	"kube5/proto/scheme"

	"kube5/kubelet/internal/runtime"
)

// Kind is a probe's kind.
type Kind string

// The probe kinds.
const (
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
	Startup   Kind = "Startup"
)

// Recorder records events.
type Recorder interface {
	Eventf(obj scheme.Object, eventType, reason, format string, args ...any)
}

// Manager runs the probes. OnChange is called (with the pod's UID) whenever a result
// changes, so the pod worker syncs.
type Manager struct {
	rt       runtime.Runtime
	rec      Recorder
	onChange func(podUID string)
	// FakeNetwork answers httpGet and tcpSocket probes with success without dialling
	// (hollow nodes: their pod IPs do not exist).
	FakeNetwork bool

	mu      sync.Mutex
	workers map[string]*containerProbes // container ID -> its probes
}

type containerProbes struct {
	cancel context.CancelFunc
	// results, guarded by Manager.mu
	ready, started, livenessFailed, startupFailed bool
	hasReadiness, hasStartup                      bool
}

// New returns a probe manager.
func New(rt runtime.Runtime, rec Recorder, onChange func(podUID string)) *Manager {
	return &Manager{rt: rt, rec: rec, onChange: onChange, workers: map[string]*containerProbes{}}
}

// Add starts the probes of a container that started at startedAt, unless they run already.
func (m *Manager) Add(pod *corev1.Pod, c *corev1.Container, id, podIP string, startedAt time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.workers[id]; ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cp := &containerProbes{cancel: cancel, hasReadiness: c.GetReadinessProbe() != nil, hasStartup: c.GetStartupProbe() != nil}
	cp.started = !cp.hasStartup
	cp.ready = !cp.hasReadiness
	m.workers[id] = cp
	t := target{pod: pod, c: c, id: id, podIP: podIP}
	if p := c.GetStartupProbe(); p != nil {
		go m.run(ctx, t, Startup, p, startedAt)
	}
	if p := c.GetLivenessProbe(); p != nil {
		go m.run(ctx, t, Liveness, p, startedAt)
	}
	if p := c.GetReadinessProbe(); p != nil {
		go m.run(ctx, t, Readiness, p, startedAt)
	}
}

// Remove stops a container's probes (it exited or was replaced).
func (m *Manager) Remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cp, ok := m.workers[id]; ok {
		cp.cancel()
		delete(m.workers, id)
	}
}

// Ready says whether the container passed its readiness probe (true without one).
func (m *Manager) Ready(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp, ok := m.workers[id]
	return !ok || cp.ready
}

// Started says whether the container passed its startup probe (true without one).
func (m *Manager) Started(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp, ok := m.workers[id]
	return !ok || cp.started
}

// ShouldRestart says whether the container failed its liveness or startup probe and must
// be killed (the kind says which, for the event).
func (m *Manager) ShouldRestart(id string) (Kind, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp, ok := m.workers[id]
	switch {
	case !ok:
		return "", false
	case cp.livenessFailed:
		return Liveness, true
	case cp.startupFailed:
		return Startup, true
	}
	return "", false
}

type target struct {
	pod   *corev1.Pod
	c     *corev1.Container
	id    string
	podIP string
}

func (m *Manager) run(ctx context.Context, t target, kind Kind, p *corev1.Probe, startedAt time.Time) {
	period := time.Duration(max(p.GetPeriodSeconds(), 1)) * time.Second
	timeout := time.Duration(max(p.GetTimeoutSeconds(), 1)) * time.Second
	successThreshold := int(max(p.GetSuccessThreshold(), 1))
	failureThreshold := int(max(p.GetFailureThreshold(), 1))
	if p.GetFailureThreshold() == 0 {
		failureThreshold = 3
	}
	if kind != Readiness {
		successThreshold = 1
	}
	delay := time.Until(startedAt.Add(time.Duration(p.GetInitialDelaySeconds()) * time.Second))
	timer := time.NewTimer(max(delay, 0))
	defer timer.Stop()
	var successes, failures int
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		timer.Reset(period)
		if kind != Startup && !m.Started(t.id) {
			continue // liveness and readiness wait for the startup probe
		}
		if kind == Startup && m.Started(t.id) {
			return // a passed startup probe is done
		}
		ok, out := m.probe(ctx, t, p, timeout)
		if ctx.Err() != nil {
			return
		}
		if ok {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
			klog.V(3).InfoS("Probe failed", "kind", kind, "pod", klog.KObj(t.pod.GetMetadata()), "container", t.c.GetName(), "output", out)
			m.rec.Eventf(t.pod, events.Warning, "Unhealthy", "%s probe failed: %s", kind, out)
		}
		m.record(t, kind, successes >= successThreshold, failures >= failureThreshold)
	}
}

// record applies thresholds' outcome and tells the worker when a result flips.
func (m *Manager) record(t target, kind Kind, succeeded, failed bool) {
	m.mu.Lock()
	cp, ok := m.workers[t.id]
	if !ok {
		m.mu.Unlock()
		return
	}
	changed := false
	switch kind {
	case Readiness:
		if succeeded && !cp.ready {
			cp.ready, changed = true, true
		} else if failed && cp.ready {
			cp.ready, changed = false, true
		}
	case Liveness:
		if failed && !cp.livenessFailed {
			cp.livenessFailed, changed = true, true
		}
	case Startup:
		if succeeded && !cp.started {
			cp.started, changed = true, true
		} else if failed && !cp.startupFailed {
			cp.startupFailed, changed = true, true
		}
	}
	m.mu.Unlock()
	if changed {
		m.onChange(t.pod.GetMetadata().GetUid())
	}
}

func (m *Manager) probe(ctx context.Context, t target, p *corev1.Probe, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.GetExec() != nil:
		var out strings.Builder
		code, err := m.rt.Exec(ctx, t.id, runtime.ExecOptions{Cmd: p.GetExec().GetCommand(), Stdout: &out, Stderr: &out})
		if err != nil {
			if ctx.Err() != nil {
				return false, fmt.Sprintf("command %q timed out", strings.Join(p.GetExec().GetCommand(), " "))
			}
			return false, err.Error()
		}
		if code != 0 {
			return false, fmt.Sprintf("command %q exited with %d: %s", strings.Join(p.GetExec().GetCommand(), " "), code, strings.TrimSpace(out.String()))
		}
		return true, ""
	case p.GetHttpGet() != nil:
		if m.FakeNetwork {
			return true, ""
		}
		return httpProbe(ctx, t, p.GetHttpGet())
	case p.GetTcpSocket() != nil:
		if m.FakeNetwork {
			return true, ""
		}
		port, err := ResolvePort(p.GetTcpSocket().GetPort(), t.c)
		if err != nil {
			return false, err.Error()
		}
		host := p.GetTcpSocket().GetHost()
		if host == "" {
			host = t.podIP
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, err.Error()
		}
		_ = conn.Close()
		return true, ""
	}
	return true, ""
}

func httpProbe(ctx context.Context, t target, g *corev1.HTTPGetAction) (bool, string) {
	port, err := ResolvePort(g.GetPort(), t.c)
	if err != nil {
		return false, err.Error()
	}
	host := g.GetHost()
	if host == "" {
		host = t.podIP
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
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "kube-probe/1.0")
	for _, h := range g.GetHttpHeaders() {
		req.Header.Set(h.GetName(), h.GetValue())
	}
	c := &http.Client{
		// Probes never follow redirects off the pod, and skip TLS verification, as upstream.
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}, //nolint:gosec
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

// ResolvePort turns a probe's or hook's port (a number or a container port's name) into a number.
func ResolvePort(p interface {
	AsString() string
	IntValue() int
}, c *corev1.Container) (int, error) {
	s := p.AsString()
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	for _, cp := range c.GetPorts() {
		if cp.GetName() == s {
			return int(cp.GetContainerPort()), nil
		}
	}
	return 0, fmt.Errorf("port %q is not a number nor a named port of container %s", s, c.GetName())
}
