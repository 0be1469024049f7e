package podworkers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/events"

	"kube5/kubelet/internal/images"
	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/status"
)

// worker drives one pod. The fields under mu are set by the manager; the rest belong to
// the worker's goroutine.
type worker struct {
	m   *Manager
	uid string

	mu      sync.Mutex
	pod     *corev1.Pod // latest spec; nil for an orphan
	removed bool        // gone from the pod sources: kill and end
	running bool        // guarded by Manager.mu
	wakeCh  chan struct{}
	// hookCancel ends a running postStart hook, so a deleted pod does not wait for it.
	hookCancel context.CancelFunc
	// killBy is when the pod's containers must be stopped by (zero: not terminating). As
	// upstream's pod workers, it only ever comes closer: a second delete with a shorter
	// grace period, or a force deletion, moves it, and killMoved (closed, then replaced,
	// when it is set or moves) makes a kill in progress cut its preStop hook and stop the containers
	// by the new deadline.
	killBy    time.Time
	killMoved chan struct{}
	// failure: the kubelet fails the pod (evicted, rejected at admission, past its
	// activeDeadlineSeconds): its containers stop and it reports phase Failed; the pod
	// object stays until someone deletes it, as upstream.
	failure *status.Failure

	orphan  *runtime.Container // an orphan's container, for its name and grace period
	backoff map[string]*backoffEntry
	waiting map[string]status.Waiting
	inspect map[string]*runtime.Container // inspect cache by container ID (while its state holds)
	wakeAt  time.Time
	deleted bool // the sink removed the deleted pod's object
	// deleteRetry is when a failed final delete may be tried again, deleteDelay its
	// back-off (see deleteObject).
	deleteRetry time.Time
	deleteDelay time.Duration
	podIP       string
}

type backoffEntry struct {
	delay time.Duration
	last  time.Time // when the delay last grew
}

func (m *Manager) newWorker(uid string, pod *corev1.Pod) *worker {
	return &worker{m: m, uid: uid, pod: pod, wakeCh: make(chan struct{}, 1), killMoved: make(chan struct{}),
		backoff: map[string]*backoffEntry{}, waiting: map[string]status.Waiting{}, inspect: map[string]*runtime.Container{}}
}

func (w *worker) poke() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

func (w *worker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		// The grace period counts from when the kubelet learns of the deletion (or of
		// its shortening), as upstream: node and apiserver clocks may disagree.
		w.killByLocked(time.Now().Add(time.Duration(gracePeriod(pod)) * time.Second))
		if w.hookCancel != nil {
			w.hookCancel()
		}
	}
	w.mu.Unlock()
	w.poke()
}

func (w *worker) remove() {
	w.mu.Lock()
	w.removed = true
	if w.pod != nil && !status.IsStatic(w.pod) {
		// An API pod gone from the apiserver was force-deleted (grace period 0; a
		// graceful deletion ends with the kubelet's own delete, once all stopped):
		// nothing waits for the containers any more, so they stop now, cutting a
		// preStop hook in progress. Upstream's apiserver writes the grace period 0
		// on the pod before removing it; kube5's removes it at once.
		w.killByLocked(time.Now())
	}
	if w.hookCancel != nil {
		w.hookCancel()
	}
	w.mu.Unlock()
	w.poke()
}

// killByLocked moves the pod's kill deadline to at, when that is sooner (or the pod was
// not terminating yet). w.mu is held.
func (w *worker) killByLocked(at time.Time) {
	if !w.killBy.IsZero() && !at.Before(w.killBy) {
		return
	}
	w.killBy = at
	close(w.killMoved)
	w.killMoved = make(chan struct{})
}

// killDeadline is the sooner of by and the pod's kill deadline, with a channel closed
// when the latter is set or moves closer.
func (w *worker) killDeadline(by time.Time) (time.Time, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.killBy.IsZero() && w.killBy.Before(by) {
		by = w.killBy
	}
	return by, w.killMoved
}

// fail makes the pod fail for f, its containers stopping within grace. The first
// failure wins: an evicted pod past its deadline stays evicted.
func (w *worker) fail(f *status.Failure, grace time.Duration) {
	w.mu.Lock()
	if w.failure == nil {
		w.failure = f
	}
	w.killByLocked(time.Now().Add(grace))
	w.mu.Unlock()
	w.poke()
}

func (w *worker) currentFailure() *status.Failure {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failure
}

// deadlineFailure fails a pod past its activeDeadlineSeconds (counted from the status's
// startTime, as upstream) and otherwise wakes the worker when the deadline comes.
func (w *worker) deadlineFailure(pod *corev1.Pod) {
	ads := pod.GetSpec().ActiveDeadlineSeconds
	start := pod.GetStatus().GetStartTime()
	if ads == nil || start.IsZero() {
		return
	}
	deadline := start.AsTime().Add(time.Duration(*ads) * time.Second)
	if time.Now().Before(deadline) {
		w.wakeAt = minTime(w.wakeAt, deadline)
		return
	}
	const msg = "Pod was active on the node longer than the specified deadline"
	w.m.rec.Eventf(pod, events.Normal, "DeadlineExceeded", msg)
	w.fail(&status.Failure{Reason: "DeadlineExceeded", Message: msg}, time.Duration(gracePeriod(pod))*time.Second)
}

func (w *worker) snapshot() (*corev1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.removed
}

func (w *worker) loop(ctx context.Context) {
	defer w.m.forget(w)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wakeCh:
		case <-timer.C:
		}
		w.wakeAt = time.Now().Add(w.m.cfg.ResyncPeriod)
		done, err := w.sync(ctx)
		if err != nil && ctx.Err() == nil {
			pod, _ := w.snapshot()
			klog.ErrorS(err, "Syncing pod failed; will retry", "pod", podName(pod, w.orphan))
			w.wakeAt = minTime(w.wakeAt, time.Now().Add(2*time.Second))
		}
		if done {
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(time.Until(w.wakeAt), 0))
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func podName(pod *corev1.Pod, orphan *runtime.Container) string {
	if pod != nil {
		return pod.GetMetadata().GetNamespace() + "/" + pod.GetMetadata().GetName()
	}
	if orphan != nil {
		return orphan.PodNamespace + "/" + orphan.PodName
	}
	return "?"
}

// view lists the pod's containers and inspects those whose state changed since the
// last look: the sandbox (newest running one) and each container name's instances,
// newest first.
func (w *worker) view(ctx context.Context) (sandboxes []*runtime.Container, byName map[string][]*runtime.Container, err error) {
	list, err := w.m.rt.ListContainers(ctx, w.uid)
	if err != nil {
		return nil, nil, err
	}
	byName = map[string][]*runtime.Container{}
	seen := map[string]bool{}
	for _, c := range list {
		seen[c.ID] = true
		full := w.inspect[c.ID]
		if full == nil || full.State != c.State {
			full, err = w.m.rt.InspectContainer(ctx, c.ID)
			if errors.Is(err, runtime.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			w.inspect[c.ID] = full
		}
		if full.IsSandbox() {
			sandboxes = append(sandboxes, full)
		} else {
			byName[full.ContainerName] = append(byName[full.ContainerName], full)
		}
	}
	for id := range w.inspect {
		if !seen[id] {
			delete(w.inspect, id)
		}
	}
	newest := func(s []*runtime.Container) {
		sort.SliceStable(s, func(i, j int) bool {
			if s[i].Attempt != s[j].Attempt {
				return s[i].Attempt > s[j].Attempt
			}
			return s[i].CreatedAt.After(s[j].CreatedAt)
		})
	}
	newest(sandboxes)
	for _, s := range byName {
		newest(s)
	}
	return sandboxes, byName, nil
}

// sync does one round for the pod; done means the worker can end.
func (w *worker) sync(ctx context.Context) (done bool, err error) {
	pod, removed := w.snapshot()
	sandboxes, byName, err := w.view(ctx)
	if err != nil {
		return false, err
	}
	if pod == nil || removed || pod.GetMetadata().GetDeletionTimestamp() != nil {
		return w.terminate(ctx, pod, removed, sandboxes, byName)
	}
	if p := pod.GetStatus().GetPhase(); p != "Succeeded" && p != "Failed" && w.currentFailure() == nil {
		w.deadlineFailure(pod)
	}
	if w.currentFailure() != nil {
		// Stopped like a deleted pod (preStop hooks, grace), but the object stays:
		// status Failed tells its controller to replace it.
		if err := w.stopPod(ctx, pod, time.Duration(gracePeriod(pod))*time.Second, sandboxes, byName); err != nil {
			return false, err
		}
		if _, byName, err = w.view(ctx); err != nil {
			return false, err
		}
		w.report(ctx, pod, nil, byName, true)
		return false, nil
	}
	var sandbox *runtime.Container
	if len(sandboxes) > 0 && sandboxes[0].State == runtime.StateRunning {
		sandbox = sandboxes[0]
	}
	if w.finished(pod, byName) {
		// Nothing will run again (Never, or OnFailure after success): stop the sandbox and
		// report the final phase; the pod object stays until it is deleted.
		if sandbox != nil {
			if err := w.m.rt.StopContainer(ctx, sandbox.ID, 2*time.Second); err != nil {
				return false, err
			}
			sandbox = nil
		}
		w.report(ctx, pod, nil, byName, true)
		return false, nil
	}
	if sandbox == nil && !pod.GetSpec().GetHostNetwork() {
		if _, ready := w.m.cfg.Network(); !ready {
			// Manager.WakeAll pokes us when the network is ready; the wake-up is a fallback.
			klog.V(2).InfoS("Pod waits for the node's podCIDR", "pod", klog.KObj(pod.GetMetadata()))
			for _, c := range pod.GetSpec().GetContainers() {
				w.waiting[c.GetName()] = status.Waiting{Reason: "ContainerCreating"}
			}
			w.wakeAt = minTime(w.wakeAt, time.Now().Add(time.Second))
			w.report(ctx, pod, nil, byName, false)
			return false, nil
		}
	}
	if sandbox == nil {
		if sandbox, err = w.startSandbox(ctx, pod, sandboxes, byName); err != nil {
			w.report(ctx, pod, nil, byName, false)
			return false, err
		}
		// The containers of an old sandbox lost their namespaces (startSandbox stopped
		// them): list again. A new pod has none; save it the round trip.
		if len(byName) > 0 {
			if sandboxes, byName, err = w.view(ctx); err != nil {
				return false, err
			}
		}
	}
	initDone, err := w.syncInit(ctx, pod, sandbox, byName)
	if err != nil {
		return false, err
	}
	for _, c := range pod.GetSpec().GetContainers() {
		if !initDone {
			w.waiting[c.GetName()] = status.Waiting{Reason: "PodInitializing"}
			continue
		}
		if err := w.syncContainer(ctx, pod, sandbox, c, byName, pod.GetSpec().GetRestartPolicy()); err != nil {
			return false, err
		}
	}
	if _, byName, err = w.view(ctx); err != nil {
		return false, err
	}
	w.gc(ctx, sandboxes, byName)
	if w.finished(pod, byName) {
		if err := w.m.rt.StopContainer(ctx, sandbox.ID, 2*time.Second); err != nil {
			return false, err
		}
		w.report(ctx, pod, sandbox, byName, true)
		return false, nil
	}
	w.report(ctx, pod, sandbox, byName, false)
	return false, nil
}

// syncInit runs the init containers one after the other, each to a successful exit
// (restarted with back-off on failure unless the policy is Never), and says whether they
// are all done. Once an app container exists the pod is past initialization.
func (w *worker) syncInit(ctx context.Context, pod *corev1.Pod, sandbox *runtime.Container, byName map[string][]*runtime.Container) (bool, error) {
	for _, c := range pod.GetSpec().GetContainers() {
		if len(byName[c.GetName()]) > 0 {
			return true, nil
		}
	}
	policy := "OnFailure" // an init container is restarted until it succeeds...
	if pod.GetSpec().GetRestartPolicy() == "Never" {
		policy = "Never" // ...unless the pod never restarts anything
	}
	for _, c := range pod.GetSpec().GetInitContainers() {
		insts := byName[c.GetName()]
		if len(insts) > 0 && insts[0].State == runtime.StateExited && insts[0].ExitCode == 0 {
			continue
		}
		if len(insts) > 0 && insts[0].State == runtime.StateRunning {
			return false, nil
		}
		return false, w.syncContainer(ctx, pod, sandbox, c, byName, policy)
	}
	return true, nil
}

// initFailed says whether an init container failed for good (restartPolicy Never).
func initFailed(pod *corev1.Pod, byName map[string][]*runtime.Container) bool {
	if pod.GetSpec().GetRestartPolicy() != "Never" {
		return false
	}
	for _, c := range pod.GetSpec().GetInitContainers() {
		if insts := byName[c.GetName()]; len(insts) > 0 && insts[0].State == runtime.StateExited && insts[0].ExitCode != 0 {
			return true
		}
	}
	return false
}

// finished says whether the pod's containers have all exited for good.
func (w *worker) finished(pod *corev1.Pod, byName map[string][]*runtime.Container) bool {
	policy := pod.GetSpec().GetRestartPolicy()
	if p := pod.GetStatus().GetPhase(); p == "Succeeded" || p == "Failed" {
		return true
	}
	if initFailed(pod, byName) {
		return true
	}
	if policy == "Always" || policy == "" {
		return false
	}
	for _, c := range pod.GetSpec().GetContainers() {
		insts := byName[c.GetName()]
		if len(insts) == 0 || insts[0].State != runtime.StateExited {
			return false
		}
		if policy == "OnFailure" && insts[0].ExitCode != 0 {
			return false
		}
	}
	return true
}

func (w *worker) network() string {
	name, _ := w.m.cfg.Network()
	return name
}

func (w *worker) startSandbox(ctx context.Context, pod *corev1.Pod, old []*runtime.Container, byName map[string][]*runtime.Container) (*runtime.Container, error) {
	grace := time.Duration(gracePeriod(pod)) * time.Second
	for _, insts := range byName {
		for _, c := range insts {
			if c.State == runtime.StateRunning {
				if err := w.m.rt.StopContainer(ctx, c.ID, grace); err != nil {
					return nil, err
				}
			}
		}
	}
	if _, err := w.m.rt.ImageStatus(ctx, w.m.cfg.PauseImage); err != nil {
		msg := fmt.Sprintf("the pod infra image %s is missing: build it with `make images` (hack/images.sh), or load it with `docker load`, or set --pod-infra-container-image", w.m.cfg.PauseImage)
		if !errors.Is(err, runtime.ErrImageNotFound) {
			msg = err.Error()
		}
		w.m.rec.Eventf(pod, events.Warning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %s", msg)
		for _, c := range pod.GetSpec().GetContainers() {
			w.waiting[c.GetName()] = status.Waiting{Reason: "ContainerCreating"}
		}
		w.wakeAt = minTime(w.wakeAt, time.Now().Add(5*time.Second))
		return nil, errors.New(msg)
	}
	md := pod.GetMetadata()
	ref := runtime.PodRef{Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid()}
	cfg := runtime.SandboxConfig{
		Pod: ref, Hostname: hostname(pod), Image: w.m.cfg.PauseImage, Network: w.network(),
		HostNetwork: pod.GetSpec().GetHostNetwork(), GracePeriod: gracePeriod(pod), DNSServers: w.m.cfg.DNS,
	}
	if dc := pod.GetSpec().GetDnsConfig(); dc != nil {
		cfg.DNSServers = append(cfg.DNSServers, dc.GetNameservers()...)
		cfg.DNSSearches = dc.GetSearches()
		for _, o := range dc.GetOptions() {
			opt := o.GetName()
			if o.Value != nil {
				opt += ":" + o.GetValue()
			}
			cfg.DNSOptions = append(cfg.DNSOptions, opt)
		}
	}
	for _, c := range pod.GetSpec().GetContainers() {
		for _, p := range c.GetPorts() {
			if p.GetHostPort() > 0 {
				cfg.Ports = append(cfg.Ports, runtime.PortMapping{ContainerPort: p.GetContainerPort(), HostPort: p.GetHostPort(), HostIP: p.GetHostIp(), Protocol: p.GetProtocol()})
			}
		}
	}
	for _, s := range old {
		_ = w.m.rt.RemoveContainer(ctx, s.ID)
	}
	sb, err := w.m.rt.RunSandbox(ctx, cfg)
	if err != nil {
		w.m.rec.Eventf(pod, events.Warning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		return nil, fmt.Errorf("creating the pod sandbox: %w", err)
	}
	klog.V(2).InfoS("Started pod sandbox", "pod", klog.KObj(md), "id", short(sb.ID), "ip", sb.IP)
	return sb, nil
}

// containerSpec is the spec of the pod's container called name; nil when unknown.
func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for _, c := range pod.GetSpec().GetContainers() {
		if c.GetName() == name {
			return c
		}
	}
	for _, c := range pod.GetSpec().GetInitContainers() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

func hostname(pod *corev1.Pod) string {
	h := pod.GetSpec().GetHostname()
	if h == "" {
		h = pod.GetMetadata().GetName()
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// syncContainer makes one spec container run as it should: start it, restart it (with
// back-off), or replace it when its spec or its probes say so.
func (w *worker) syncContainer(ctx context.Context, pod *corev1.Pod, sandbox *runtime.Container, c *corev1.Container, byName map[string][]*runtime.Container, policy string) error {
	name := c.GetName()
	insts := byName[name]
	var cur *runtime.Container
	if len(insts) > 0 {
		cur = insts[0]
	}
	attempt := 0
	if cur != nil {
		attempt = cur.Attempt + 1
	}
	now := time.Now()
	switch {
	case cur != nil && cur.State == runtime.StateRunning:
		reason := ""
		if cur.SpecHash != "" && cur.SpecHash != specHash(c) {
			reason = fmt.Sprintf("Container %s definition changed, will be restarted", name)
		} else if kind, bad := w.m.probes.ShouldRestart(cur.ID); bad {
			reason = fmt.Sprintf("Container %s failed %s probe, will be restarted", name, strings.ToLower(string(kind)))
		} else {
			w.m.probes.Add(pod, c, cur.ID, sandbox.IP, cur.StartedAt)
			delete(w.waiting, name)
			return nil
		}
		w.m.rec.Eventf(pod, events.Normal, "Killing", "%s", reason)
		if err := w.killContainer(ctx, pod, c, cur, sandbox.IP, time.Duration(gracePeriod(pod))*time.Second); err != nil {
			return err
		}
		w.m.probes.Remove(cur.ID)
		// Restarted by the logic below, with back-off as upstream.
		full, err := w.m.rt.InspectContainer(ctx, cur.ID)
		if err != nil {
			return err
		}
		cur = full
		w.inspect[cur.ID] = full
		fallthrough
	case cur != nil && cur.State == runtime.StateExited:
		w.m.probes.Remove(cur.ID)
		if policy == "Never" || (policy == "OnFailure" && cur.ExitCode == 0) {
			return nil
		}
		b := w.backoff[name]
		if b != nil && now.Sub(b.last) > w.m.cfg.BackOffReset {
			b = nil
		}
		if b != nil {
			if until := cur.FinishedAt.Add(b.delay); now.Before(until) {
				w.waiting[name] = status.Waiting{Reason: "CrashLoopBackOff",
					Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", b.delay, name, pod.GetMetadata().GetName(), pod.GetMetadata().GetNamespace(), w.uid)}
				w.m.rec.Eventf(pod, events.Warning, "BackOff", "Back-off restarting failed container %s in pod %s", name, pod.GetMetadata().GetName())
				w.wakeAt = minTime(w.wakeAt, until)
				return nil
			}
			b.delay = min(2*b.delay, w.m.cfg.BackOffMax)
		} else {
			b = &backoffEntry{delay: w.m.cfg.BackOffInitial}
		}
		b.last = now
		w.backoff[name] = b
	case cur != nil: // created but never started: an interrupted attempt
		if err := w.m.rt.RemoveContainer(ctx, cur.ID); err != nil {
			return err
		}
		attempt = cur.Attempt
	}
	return w.startContainer(ctx, pod, sandbox, c, attempt)
}

func (w *worker) startContainer(ctx context.Context, pod *corev1.Pod, sandbox *runtime.Container, c *corev1.Container, attempt int) error {
	name := c.GetName()
	if err := w.m.images.Ensure(ctx, pod, c); err != nil {
		var ie *images.Error
		if errors.As(err, &ie) {
			w.waiting[name] = status.Waiting{Reason: ie.Reason, Message: ie.Message}
			if at := w.m.images.RetryAt(c.GetImage()); !at.IsZero() {
				w.wakeAt = minTime(w.wakeAt, at)
			}
			return nil
		}
		return err
	}
	cfg, err := w.m.containerConfig(pod, c, attempt, sandbox.IP)
	if err != nil {
		w.waiting[name] = status.Waiting{Reason: "CreateContainerConfigError", Message: err.Error()}
		w.m.rec.Eventf(pod, events.Warning, "Failed", "Error: %v", err)
		return nil
	}
	id, err := w.m.rt.CreateContainer(ctx, sandbox, cfg)
	if err != nil {
		w.waiting[name] = status.Waiting{Reason: "CreateContainerError", Message: err.Error()}
		w.m.rec.Eventf(pod, events.Warning, "Failed", "Error: %v", err)
		return nil
	}
	w.m.rec.Eventf(pod, events.Normal, "Created", "Created container %s", name)
	if err := w.m.rt.StartContainer(ctx, id); err != nil {
		w.waiting[name] = status.Waiting{Reason: "RunContainerError", Message: err.Error()}
		w.m.rec.Eventf(pod, events.Warning, "Failed", "Error: %v", err)
		return nil
	}
	w.m.rec.Eventf(pod, events.Normal, "Started", "Started container %s", name)
	started := time.Now()
	if err := w.runPostStart(ctx, pod, c, id, sandbox.IP); err != nil {
		if errors.Is(err, errPostStartHook) {
			return nil // it exited; the next sync restarts it with back-off
		}
		return err
	}
	// Probes start now: until they pass, the container is neither started nor ready.
	w.m.probes.Add(pod, c, id, sandbox.IP, started)
	delete(w.waiting, name)
	klog.V(2).InfoS("Started container", "pod", klog.KObj(pod.GetMetadata()), "container", name, "attempt", attempt, "id", short(id))
	return nil
}

// gc removes exited containers, keeping the newest two instances of each container (the
// current one and the one before, for `logs --previous`), and exited sandboxes once a
// newer one exists.
func (w *worker) gc(ctx context.Context, sandboxes []*runtime.Container, byName map[string][]*runtime.Container) {
	for _, insts := range byName {
		for i, c := range insts {
			if i < 2 || c.State != runtime.StateExited {
				continue
			}
			if err := w.m.rt.RemoveContainer(ctx, c.ID); err == nil {
				delete(w.inspect, c.ID)
			}
		}
	}
	for i, s := range sandboxes {
		if i > 0 && s.State == runtime.StateExited {
			_ = w.m.rt.RemoveContainer(ctx, s.ID)
		}
	}
}

// report computes the status and hands it to the sink.
func (w *worker) report(ctx context.Context, pod *corev1.Pod, sandbox *runtime.Container, byName map[string][]*runtime.Container, terminated bool) {
	// A stopped pod reports the IP it had (Docker forgets it when the sandbox stops).
	if sandbox != nil && sandbox.IP != "" {
		w.podIP = sandbox.IP
	} else if w.podIP != "" {
		sandbox = &runtime.Container{IP: w.podIP}
	}
	st := status.Compute(status.Input{
		Pod: pod, Sandbox: sandbox, Instances: byName, Waiting: w.waiting,
		Ready: w.m.probes.Ready, Started: w.m.probes.Started, HostIP: w.m.cfg.NodeIP,
		RuntimeType: w.m.rt.Type(), Now: time.Now(), Terminated: terminated, Failure: w.currentFailure(),
	})
	w.m.sink.SetStatus(ctx, pod, st)
}

// terminate stops the pod: its app containers in parallel with the grace period (SIGTERM,
// then SIGKILL), then the sandbox. A deleted pod is then removed from the apiserver; a
// pod gone from its source (or an orphan) also loses its containers and volumes.
func (w *worker) terminate(ctx context.Context, pod *corev1.Pod, removed bool, sandboxes []*runtime.Container, byName map[string][]*runtime.Container) (bool, error) {
	var grace time.Duration
	switch {
	case pod != nil:
		grace = time.Duration(gracePeriod(pod)) * time.Second
	case w.orphan != nil && w.orphan.GracePeriod >= 0:
		grace = time.Duration(w.orphan.GracePeriod) * time.Second
	default:
		grace = 30 * time.Second
	}
	if err := w.stopPod(ctx, pod, grace, sandboxes, byName); err != nil {
		return false, err
	}
	if pod != nil {
		_, byName, err := w.view(ctx)
		if err == nil {
			w.report(ctx, pod, nil, byName, true)
		}
	}
	if pod != nil && pod.GetMetadata().GetDeletionTimestamp() != nil && !removed && !w.deleted {
		w.deleteObject(ctx, pod)
	}
	if !removed && pod != nil {
		// Deleted but still in the source until the apiserver's DELETED arrives (which
		// calls RemovePod); keep the worker so a repeat update does not start it again.
		return false, nil
	}
	all, err := w.m.rt.ListContainers(ctx, w.uid)
	if err != nil {
		return false, err
	}
	for _, c := range all {
		if err := w.m.rt.RemoveContainer(ctx, c.ID); err != nil {
			return false, err
		}
	}
	_ = os.RemoveAll(filepath.Join(w.m.cfg.RootDir, "pods", w.uid))
	klog.V(2).InfoS("Pod terminated and cleaned up", "pod", podName(pod, w.orphan), "podUID", w.uid)
	return true, nil
}

// Back-off of a failed final delete: the apiserver may be down for a while, and every
// node retries its pods at once when it comes back.
const (
	deleteRetryInitial = time.Second
	deleteRetryMax     = 30 * time.Second
)

// deleteObject has the sink remove a deleted pod's object once its containers stopped.
// When that fails (the apiserver is unreachable), the pod would stay Terminating in the
// API forever: as upstream's status manager, the worker tries again, 1s doubling to 30s,
// until the delete succeeds or the pod leaves its source. A retry is a sync like any
// other: the containers have stopped, so terminate kills nothing and runs no preStop
// hook again; only the delete is repeated.
func (w *worker) deleteObject(ctx context.Context, pod *corev1.Pod) {
	now := time.Now()
	if now.Before(w.deleteRetry) {
		w.wakeAt = minTime(w.wakeAt, w.deleteRetry) // woken early (relist, resync)
		return
	}
	if err := w.m.sink.Terminated(ctx, pod); err != nil {
		if w.deleteDelay == 0 {
			w.deleteDelay = deleteRetryInitial
		} else {
			w.deleteDelay = min(2*w.deleteDelay, deleteRetryMax)
		}
		w.deleteRetry = now.Add(w.deleteDelay)
		w.wakeAt = minTime(w.wakeAt, w.deleteRetry)
		// The sink logged why; the apiserver's outage is reported by the client.
		klog.V(2).InfoS("Deleting the terminated pod object failed; will retry", "pod", klog.KObj(pod.GetMetadata()), "retryIn", w.deleteDelay)
		return
	}
	w.deleted = true
}

// stopPod stops the pod's app containers in parallel with the grace period (SIGTERM,
// preStop hooks, then SIGKILL; a closer kill deadline wins), then its sandbox.
func (w *worker) stopPod(ctx context.Context, pod *corev1.Pod, grace time.Duration, sandboxes []*runtime.Container, byName map[string][]*runtime.Container) error {
	w.mu.Lock()
	w.killByLocked(time.Now().Add(grace)) // a retry after an error keeps the first deadline
	w.mu.Unlock()
	podIP := w.podIP
	if len(sandboxes) > 0 && sandboxes[0].State == runtime.StateRunning && sandboxes[0].IP != "" {
		podIP = sandboxes[0].IP
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for _, insts := range byName {
		for _, c := range insts {
			if c.State != runtime.StateRunning {
				continue
			}
			if pod != nil {
				w.m.rec.Eventf(pod, events.Normal, "Killing", "Stopping container %s", c.ContainerName)
			}
			wg.Add(1)
			go func(c *runtime.Container) {
				defer wg.Done()
				w.m.probes.Remove(c.ID)
				if err := w.killContainer(ctx, pod, containerSpec(pod, c.ContainerName), c, podIP, grace); err != nil {
					errs <- fmt.Errorf("stopping container %s: %w", c.ContainerName, err)
				}
			}(c)
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for _, s := range sandboxes {
		if s.State == runtime.StateRunning {
			if err := w.m.rt.StopContainer(ctx, s.ID, 2*time.Second); err != nil {
				return fmt.Errorf("stopping the pod sandbox: %w", err)
			}
		}
	}
	return nil
}
