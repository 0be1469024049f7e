package podworkers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/scheme"

	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/runtime/fake"
)

type sink struct {
	mu         sync.Mutex
	status     map[string]*corev1.PodStatus
	terminated []string
	// failDeletes is how many of the next Terminated calls fail (as with the apiserver
	// down); deleteCalls is when each call came.
	failDeletes int
	deleteCalls []time.Time
	reports     int // SetStatus calls: one a sync
}

func (s *sink) SetStatus(_ context.Context, pod *corev1.Pod, st *corev1.PodStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[pod.GetMetadata().GetName()] = st
	s.reports++
}

func (s *sink) Terminated(_ context.Context, pod *corev1.Pod) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteCalls = append(s.deleteCalls, time.Now())
	if s.failDeletes > 0 {
		s.failDeletes--
		return errors.New("connection refused")
	}
	s.terminated = append(s.terminated, pod.GetMetadata().GetName())
	return nil
}

func (s *sink) get(name string) *corev1.PodStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status[name]
}

type nopRecorder struct {
	mu      sync.Mutex
	reasons []string
}

func (r *nopRecorder) Eventf(_ scheme.Object, _, reason, _ string, _ ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, reason)
}

func (r *nopRecorder) has(reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.reasons, reason)
}

type env struct {
	stop func()
	t    *testing.T
	rt   *fake.Runtime
	m    *Manager
	sink *sink
	rec  *nopRecorder
}

func start(t *testing.T, rt *fake.Runtime, pods ...*corev1.Pod) *env {
	t.Helper()
	return startWith(t, rt, nil, pods...)
}

// startWith is start with the manager's config adjusted by tweak (nil: none).
func startWith(t *testing.T, rt *fake.Runtime, tweak func(*Config), pods ...*corev1.Pod) *env {
	t.Helper()
	if rt == nil {
		rt = fake.New()
	}
	_, _ = rt.EnsureNetwork(context.Background(), "10.244.7.0/24")
	e := &env{t: t, rt: rt, sink: &sink{status: map[string]*corev1.PodStatus{}}, rec: &nopRecorder{}}
	cfg := Config{NodeName: "n1", NodeIP: "192.0.2.10", PauseImage: "kube5/pause:3.10", RootDir: t.TempDir(),
		RelistPeriod: 20 * time.Millisecond, ResyncPeriod: 100 * time.Millisecond,
		BackOffInitial: 300 * time.Millisecond, BackOffMax: 2 * time.Second, BackOffReset: time.Minute}
	if tweak != nil {
		tweak(&cfg)
	}
	e.m = New(cfg, rt, e.rec, e.sink)
	// The pods the sources know at start come before SetSynced, as in the kubelet.
	for _, p := range pods {
		e.m.UpdatePod(p)
	}
	e.m.SetSynced()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.m.Run(ctx); close(done) }()
	var once sync.Once
	e.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(e.stop)
	return e
}

func pod(name string, containers ...*corev1.Container) *corev1.Pod {
	g := int64(1)
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name},
		Spec:     &corev1.PodSpec{NodeName: "n1", RestartPolicy: "Always", TerminationGracePeriodSeconds: &g, Containers: containers},
		Status:   &corev1.PodStatus{},
	}
}

func ctr(name, image string) *corev1.Container {
	return &corev1.Container{Name: name, Image: image, ImagePullPolicy: "IfNotPresent"}
}

// waitFor polls cond until it holds or the deadline passes.
func (e *env) waitFor(what string, d time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s; calls: %v", d, what, e.rt.Calls())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) statusOf(name string) *corev1.PodStatus { return e.sink.get(name) }

func condition(st *corev1.PodStatus, typ string) string {
	for _, c := range st.GetConditions() {
		if c.GetType() == typ {
			return c.GetStatus()
		}
	}
	return ""
}

func TestStartsSandboxThenContainersInOrderAndReportsRunning(t *testing.T) {
	e := start(t, nil)
	e.m.UpdatePod(pod("web", ctr("a", "img-a:1"), ctr("b", "img-b:1")))
	e.waitFor("Running and Ready", 5*time.Second, func() bool {
		st := e.statusOf("web")
		return st.GetPhase() == "Running" && condition(st, "Ready") == "True"
	})
	calls := e.rt.Calls()
	want := []string{"run POD", "create a", "start a", "create b", "start b"}
	if !slices.Equal(calls[:len(want)], want) {
		t.Fatalf("calls = %v, want prefix %v", calls, want)
	}
	st := e.statusOf("web")
	if st.GetPodIp() != "10.244.7.2" || st.GetHostIp() != "192.0.2.10" || st.GetStartTime() == nil {
		t.Fatalf("podIP %q hostIP %q startTime %v", st.GetPodIp(), st.GetHostIp(), st.GetStartTime())
	}
	for _, cs := range st.GetContainerStatuses() {
		if cs.GetState().GetRunning() == nil || !cs.GetReady() || !strings.HasPrefix(cs.GetContainerId(), "fake://") || cs.GetRestartCount() != 0 {
			t.Fatalf("container status %v", cs)
		}
	}
	// A second sync of an unchanged pod computes an equal status (so none is sent).
	p := pod("web", ctr("a", "img-a:1"), ctr("b", "img-b:1"))
	p.Status = proto.Clone(st).(*corev1.PodStatus)
	e.m.UpdatePod(p)
	e.waitFor("a resync", 2*time.Second, func() bool { return e.statusOf("web") != st })
	if !proto.Equal(e.statusOf("web"), st) {
		t.Fatalf("status changed on a resync:\n%v\n%v", st, e.statusOf("web"))
	}
}

func TestCrashLoopBacksOffDoublingDelays(t *testing.T) {
	rt := fake.New()
	rt.SetExitOnStart("crash:1", 1)
	e := start(t, rt)
	e.m.UpdatePod(pod("c", ctr("c", "crash:1")))
	var starts []time.Time
	seen := 0
	e.waitFor("four starts", 10*time.Second, func() bool {
		n := 0
		for _, c := range e.rt.Calls() {
			if c == "start c" {
				n++
			}
		}
		for ; seen < n; seen++ {
			starts = append(starts, time.Now())
		}
		return n >= 4
	})
	// Restart 1 is immediate; then 300ms, 600ms after each exit (the exits are immediate).
	gaps := []time.Duration{starts[2].Sub(starts[1]), starts[3].Sub(starts[2])}
	if gaps[0] < 250*time.Millisecond || gaps[1] < 550*time.Millisecond || gaps[1] < gaps[0] {
		t.Fatalf("restart gaps %v: want >= 300ms then >= 600ms", gaps)
	}
	e.waitFor("CrashLoopBackOff", 5*time.Second, func() bool {
		cs := e.statusOf("c").GetContainerStatuses()
		return len(cs) == 1 && cs[0].GetState().GetWaiting().GetReason() == "CrashLoopBackOff" &&
			cs[0].GetLastState().GetTerminated().GetExitCode() == 1 && cs[0].GetRestartCount() >= 3
	})
	if st := e.statusOf("c"); st.GetPhase() != "Running" || condition(st, "Ready") != "False" {
		t.Fatalf("phase %s ready %s", st.GetPhase(), condition(st, "Ready"))
	}
	if !e.rec.has("BackOff") {
		t.Fatal("no BackOff event")
	}
}

func TestRestartPolicyNeverAndOnFailurePhases(t *testing.T) {
	rt := fake.New()
	rt.SetExitOnStart("fail:1", 2)
	rt.SetExitOnStart("ok:1", 0)
	e := start(t, rt)
	never := pod("never", ctr("c", "fail:1"))
	never.Spec.RestartPolicy = "Never"
	onFailure := pod("onfailure", ctr("c", "ok:1"))
	onFailure.Spec.RestartPolicy = "OnFailure"
	e.m.UpdatePod(never)
	e.m.UpdatePod(onFailure)
	e.waitFor("Failed and Succeeded", 5*time.Second, func() bool {
		return e.statusOf("never").GetPhase() == "Failed" && e.statusOf("onfailure").GetPhase() == "Succeeded"
	})
	cs := e.statusOf("never").GetContainerStatuses()[0]
	if cs.GetState().GetTerminated().GetExitCode() != 2 || cs.GetState().GetTerminated().GetReason() != "Error" || cs.GetRestartCount() != 0 {
		t.Fatalf("never: %v", cs)
	}
	if e.rt.Running() != nil {
		t.Fatalf("still running after the pods finished: %v", e.rt.Running())
	}
}

func TestDeletionStopsContainersThenSandboxThenDeletes(t *testing.T) {
	rt := fake.New()
	rt.SetIgnoreTerm("stubborn:1")
	e := start(t, rt)
	p := pod("del", ctr("a", "img:1"), ctr("b", "stubborn:1"))
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("del").GetPhase() == "Running" })
	d := proto.Clone(p).(*corev1.Pod)
	g := int64(1)
	d.Metadata.DeletionTimestamp, d.Metadata.DeletionGracePeriodSeconds = metav1.Now(), &g
	began := time.Now()
	e.m.UpdatePod(d)
	e.waitFor("Terminated", 5*time.Second, func() bool {
		e.sink.mu.Lock()
		defer e.sink.mu.Unlock()
		return len(e.sink.terminated) >= 1
	})
	if took := time.Since(began); took < 900*time.Millisecond || took > 3*time.Second {
		t.Fatalf("termination took %s; the SIGTERM-ignoring container should take its 1s grace", took)
	}
	var stops []string
	for _, c := range e.rt.Calls() {
		if strings.HasPrefix(c, "stop ") {
			stops = append(stops, c)
		}
	}
	if len(stops) != 3 || stops[2] != "stop POD" {
		t.Fatalf("stops = %v, want the two containers then POD", stops)
	}
	if e.rt.Running() != nil {
		t.Fatalf("still running: %v", e.rt.Running())
	}
	// The apiserver then reports the pod gone: its containers are removed.
	e.m.RemovePod("uid-del")
	e.waitFor("containers removed", 5*time.Second, func() bool {
		l, _ := e.rt.ListContainers(context.Background(), "uid-del")
		return len(l) == 0
	})
}

// TestFailedFinalDeleteIsRetriedWithBackOff: the pod object's final delete fails (the
// apiserver is down when the containers stop); the worker tries again, with a growing
// delay, until it succeeds, without stopping the containers or running the preStop hook
// a second time.
func TestFailedFinalDeleteIsRetriedWithBackOff(t *testing.T) {
	rt := fake.New()
	hooks := newExecLog(rt, nil)
	e := start(t, rt)
	e.sink.failDeletes = 2
	c := ctr("web", "img:1")
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"drain", "now"}}}}
	p := pod("retry", c, ctr("side", "img:1"))
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("retry").GetPhase() == "Running" })
	e.deleteWithGrace(p, 10)
	e.waitTerminated("retry", 10*time.Second)

	e.sink.mu.Lock()
	calls := slices.Clone(e.sink.deleteCalls)
	e.sink.mu.Unlock()
	if len(calls) != 3 {
		t.Fatalf("%d delete calls, want 2 failed ones and the one that succeeded", len(calls))
	}
	// The worker resyncs every 100ms here: the retries wait for their back-off anyway.
	if d := calls[1].Sub(calls[0]); d < 900*time.Millisecond || d > 2*time.Second {
		t.Errorf("first retry after %s, want about 1s", d)
	}
	if d := calls[2].Sub(calls[1]); d < 1900*time.Millisecond || d > 3*time.Second {
		t.Errorf("second retry after %s, want about 2s", d)
	}
	count := map[string]int{}
	for _, c := range rt.Calls() {
		count[c]++
	}
	for _, want := range []string{"stop web", "stop side", "stop POD", "start web", "start side", "run POD"} {
		if count[want] != 1 {
			t.Errorf("%q happened %d times, want once; calls: %v", want, count[want], rt.Calls())
		}
	}
	hooks.mu.Lock()
	runs := len(hooks.runs)
	hooks.mu.Unlock()
	if runs != 1 {
		t.Errorf("the preStop hook ran %d times, want once", runs)
	}

	// Once the delete succeeded, the syncs that follow (the pod stays in its source until
	// the apiserver's DELETED arrives) do not delete again.
	e.sink.mu.Lock()
	from := e.sink.reports
	e.sink.mu.Unlock()
	e.waitFor("three more syncs", 5*time.Second, func() bool {
		e.sink.mu.Lock()
		defer e.sink.mu.Unlock()
		return e.sink.reports >= from+3
	})
	e.sink.mu.Lock()
	n := len(e.sink.deleteCalls)
	e.sink.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d delete calls after the one that succeeded, want none", n-3)
	}
}

func TestOrphansAreKilledAndRemoved(t *testing.T) {
	rt := fake.New()
	ctx := context.Background()
	_, _ = rt.EnsureNetwork(ctx, "10.244.7.0/24")
	ref := runtime.PodRef{Name: "ghost", Namespace: "default", UID: "uid-ghost"}
	sb, _ := rt.RunSandbox(ctx, runtime.SandboxConfig{Pod: ref, Image: "kube5/pause:3.10"})
	id, _ := rt.CreateContainer(ctx, sb, runtime.ContainerConfig{Pod: ref, Name: "c", Image: "x:1"})
	_ = rt.StartContainer(ctx, id)
	e := start(t, rt)
	e.waitFor("the orphan removed", 5*time.Second, func() bool {
		l, _ := rt.ListContainers(ctx, "")
		return len(l) == 0
	})
}

func TestAdoptsRunningContainersAfterRestart(t *testing.T) {
	rt := fake.New()
	e := start(t, rt)
	p := pod("adopt", ctr("a", "img:1"))
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("adopt").GetPhase() == "Running" })
	e.stop()
	before := len(rt.Calls())
	// A second manager on the same runtime (the restarted kubelet) adopts the pod.
	e2 := start(t, rt, p)
	e2.waitFor("Running", 5*time.Second, func() bool { return e2.statusOf("adopt").GetPhase() == "Running" })
	for _, c := range rt.Calls()[before:] {
		if strings.HasPrefix(c, "start") || strings.HasPrefix(c, "run") || strings.HasPrefix(c, "stop") {
			t.Fatalf("the restarted manager did %q; want nothing", c)
		}
	}
}

func TestLivenessFailureRestartsAndReadinessDrivesReady(t *testing.T) {
	rt := fake.New()
	var mu sync.Mutex
	healthy, ready := true, true
	rt.SetExecResult(func(c *runtime.Container, cmd []string) int {
		mu.Lock()
		defer mu.Unlock()
		ok := ready
		if cmd[0] == "live" {
			ok = healthy
		}
		if ok {
			return 0
		}
		return 1
	})
	e := start(t, rt)
	c := ctr("c", "img:1")
	c.LivenessProbe = &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"live"}}, PeriodSeconds: 1, FailureThreshold: 1}
	c.ReadinessProbe = &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"ready"}}, PeriodSeconds: 1, FailureThreshold: 1}
	e.m.UpdatePod(pod("probed", c))
	e.waitFor("Ready", 5*time.Second, func() bool { return condition(e.statusOf("probed"), "Ready") == "True" })
	mu.Lock()
	ready = false
	mu.Unlock()
	e.waitFor("not Ready", 5*time.Second, func() bool { return condition(e.statusOf("probed"), "Ready") == "False" })
	mu.Lock()
	ready = true
	healthy = false
	mu.Unlock()
	e.waitFor("a restart", 5*time.Second, func() bool {
		cs := e.statusOf("probed").GetContainerStatuses()
		return len(cs) == 1 && cs[0].GetRestartCount() >= 1
	})
	if !e.rec.has("Killing") || !e.rec.has("Unhealthy") {
		t.Fatalf("events %v", e.rec.reasons)
	}
}

func TestImagePullPolicies(t *testing.T) {
	rt := fake.New("kube5/pause:3.10", "present:1")
	rt.SetPullError(errors.New("no registry"))
	e := start(t, rt)
	never := ctr("c", "absent:1")
	never.ImagePullPolicy = "Never"
	e.m.UpdatePod(pod("never", never))
	e.m.UpdatePod(pod("pull", ctr("c", "absent:2")))
	e.m.UpdatePod(pod("present", ctr("c", "present:1")))
	reason := func(name string) string {
		cs := e.statusOf(name).GetContainerStatuses()
		if len(cs) == 0 {
			return ""
		}
		return cs[0].GetState().GetWaiting().GetReason()
	}
	e.waitFor("waiting reasons", 5*time.Second, func() bool {
		return reason("never") == "ErrImageNeverPull" && reason("pull") == "ImagePullBackOff" && e.statusOf("present").GetPhase() == "Running"
	})
	if e.statusOf("pull").GetPhase() != "Pending" || !e.rec.has("Failed") || !e.rec.has("ErrImageNeverPull") {
		t.Fatalf("phase %s events %v", e.statusOf("pull").GetPhase(), e.rec.reasons)
	}
}

func TestEnvAndCommandSemantics(t *testing.T) {
	m := New(Config{NodeName: "n1", NodeIP: "192.0.2.10", RootDir: t.TempDir(), Services: func(ns string) []*corev1.Service {
		return []*corev1.Service{{Metadata: &metav1.ObjectMeta{Name: "my-db", Namespace: ns},
			Spec: &corev1.ServiceSpec{ClusterIp: "10.0.0.7", Ports: []*corev1.ServicePort{{Port: 5432, Protocol: "TCP"}}}}}
	}}, fake.New(), &nopRecorder{}, &sink{})
	c := ctr("c", "img:1")
	c.Args = []string{"x"}
	c.Env = []*corev1.EnvVar{
		{Name: "A", Value: "1"}, {Name: "B", Value: "$(A)-$(MY_DB_SERVICE_HOST)-$$(A)"},
		{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
	}
	cfg, err := m.containerConfig(pod("envpod", c), c, 0, "10.244.7.9")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cfg.Env, " ")
	for _, want := range []string{"A=1", "B=1-10.0.0.7-$(A)", "NAME=envpod", "IP=10.244.7.9", "NODE=n1", "MY_DB_SERVICE_HOST=10.0.0.7", "MY_DB_SERVICE_PORT=5432", "MY_DB_PORT=tcp://10.0.0.7:5432"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("env %q lacks %s", got, want)
		}
	}
	if cfg.Entrypoint != nil || fmt.Sprint(cfg.Cmd) != "[x]" {
		t.Errorf("args only: entrypoint %v cmd %v", cfg.Entrypoint, cfg.Cmd)
	}
	c.Command = []string{"/bin/sh"}
	c.Args = nil
	cfg, _ = m.containerConfig(pod("envpod", c), c, 0, "")
	if fmt.Sprint(cfg.Entrypoint) != "[/bin/sh]" || cfg.Cmd == nil || len(cfg.Cmd) != 0 {
		t.Errorf("command only: entrypoint %v cmd %#v (want the image's CMD dropped)", cfg.Entrypoint, cfg.Cmd)
	}
}

func TestInitContainersRunInOrderToSuccessFirst(t *testing.T) {
	rt := fake.New()
	rt.SetExitOnStart("ok:1", 0)
	rt.SetExitOnStart("fail:1", 1)
	e := start(t, rt)
	ok := pod("init-ok", ctr("a", "img:1"))
	ok.Spec.InitContainers = []*corev1.Container{ctr("i1", "ok:1"), ctr("i2", "ok:1")}
	e.m.UpdatePod(ok)
	e.waitFor("Running and Initialized", 5*time.Second, func() bool {
		st := e.statusOf("init-ok")
		return st.GetPhase() == "Running" && condition(st, "Initialized") == "True"
	})
	var starts []string
	for _, c := range rt.Calls() {
		if strings.HasPrefix(c, "start ") {
			starts = append(starts, c)
		}
	}
	if fmt.Sprint(starts) != "[start i1 start i2 start a]" {
		t.Fatalf("starts %v", starts)
	}
	if ics := e.statusOf("init-ok").GetInitContainerStatuses(); len(ics) != 2 || ics[1].GetState().GetTerminated().GetReason() != "Completed" || !ics[1].GetReady() {
		t.Fatalf("init statuses %v", ics)
	}

	never := pod("init-never", ctr("a", "img:1"))
	never.Spec.RestartPolicy = "Never"
	never.Spec.InitContainers = []*corev1.Container{ctr("i", "fail:1")}
	always := pod("init-always", ctr("a", "img:1"))
	always.Spec.InitContainers = []*corev1.Container{ctr("i", "fail:1")}
	e.m.UpdatePod(never)
	e.m.UpdatePod(always)
	e.waitFor("Failed, and a restarted failing init container", 5*time.Second, func() bool {
		ics := e.statusOf("init-always").GetInitContainerStatuses()
		return e.statusOf("init-never").GetPhase() == "Failed" && len(ics) == 1 && ics[0].GetRestartCount() >= 1
	})
	st := e.statusOf("init-always")
	if st.GetPhase() != "Pending" || condition(st, "Initialized") != "False" || st.GetContainerStatuses()[0].GetState().GetWaiting().GetReason() != "PodInitializing" {
		t.Fatalf("init-always: %v", st)
	}
	for _, r := range rt.Running() {
		if strings.HasSuffix(r, "/a") && !strings.HasPrefix(r, "default/init-ok/") {
			t.Fatalf("an app container ran before its init containers succeeded: %v", rt.Running())
		}
	}
}
