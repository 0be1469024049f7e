package podworkers

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"

	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/runtime/fake"
)

// execLog records the exec hooks the fake runtime ran, with the runtime's mutating calls
// made before each, and answers them with code.
type execLog struct {
	mu   sync.Mutex
	rt   *fake.Runtime
	runs []execRun
	code func(cmd []string) int
}

type execRun struct {
	cmd         string
	callsBefore []string
}

func newExecLog(rt *fake.Runtime, code func(cmd []string) int) *execLog {
	l := &execLog{rt: rt, code: code}
	rt.SetExecResult(func(_ *runtime.Container, cmd []string) int {
		before := rt.Calls()
		l.mu.Lock()
		l.runs = append(l.runs, execRun{cmd: strings.Join(cmd, " "), callsBefore: before})
		l.mu.Unlock()
		if l.code == nil {
			return 0
		}
		return l.code(cmd)
	})
	return l
}

func (l *execLog) find(cmd string) (execRun, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.runs {
		if r.cmd == cmd {
			return r, true
		}
	}
	return execRun{}, false
}

// deleteWithGrace marks p deleted with grace seconds and hands it to the worker.
func (e *env) deleteWithGrace(p *corev1.Pod, grace int64) {
	d := proto.Clone(p).(*corev1.Pod)
	d.Metadata.DeletionTimestamp, d.Metadata.DeletionGracePeriodSeconds = metav1.Now(), &grace
	e.m.UpdatePod(d)
}

func (e *env) waitTerminated(name string, d time.Duration) {
	e.t.Helper()
	e.waitFor(name+" terminated", d, func() bool {
		e.sink.mu.Lock()
		defer e.sink.mu.Unlock()
		return slices.Contains(e.sink.terminated, name)
	})
}

func TestPreStopExecRunsBeforeSIGTERM(t *testing.T) {
	rt := fake.New()
	hooks := newExecLog(rt, nil)
	e := start(t, rt)
	c := ctr("web", "img:1")
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"drain", "now"}}}}
	p := pod("hooked", c, ctr("side", "img:1"))
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("hooked").GetPhase() == "Running" })
	if _, ran := hooks.find("drain now"); ran {
		t.Fatal("the preStop hook ran before the pod was deleted")
	}
	e.deleteWithGrace(p, 10)
	e.waitTerminated("hooked", 5*time.Second)
	run, ok := hooks.find("drain now")
	if !ok {
		t.Fatalf("the preStop hook never ran; calls: %v", rt.Calls())
	}
	if slices.Contains(run.callsBefore, "stop web") {
		t.Fatalf("the preStop hook ran after the container was stopped: calls before it %v", run.callsBefore)
	}
	if !slices.Contains(rt.Calls(), "stop web") || !slices.Contains(rt.Calls(), "stop POD") {
		t.Fatalf("the containers were not stopped after the hook: %v", rt.Calls())
	}
	if e.rec.has("FailedPreStopHook") {
		t.Fatalf("a successful hook recorded FailedPreStopHook: %v", e.rec.reasons)
	}
}

func TestPreStopSleepDelaysSIGTERMWithinGracePeriod(t *testing.T) {
	rt := fake.New()
	e := start(t, rt)
	sleeper := func(secs int64) *corev1.Container {
		c := ctr("web", "img:1")
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: secs}}}
		return c
	}
	// A 1s sleep within a 10s grace period: SIGTERM comes after the sleep.
	short := pod("short", sleeper(1))
	// A 30s sleep with a 1s grace period: the grace period cuts it.
	long := pod("long", sleeper(30))
	e.m.UpdatePod(short)
	e.m.UpdatePod(long)
	e.waitFor("Running", 5*time.Second, func() bool {
		return e.statusOf("short").GetPhase() == "Running" && e.statusOf("long").GetPhase() == "Running"
	})
	began := time.Now()
	e.deleteWithGrace(short, 10)
	e.deleteWithGrace(long, 1)
	e.waitTerminated("short", 10*time.Second)
	if took := time.Since(began); took < time.Second {
		t.Fatalf("a pod with a 1s preStop sleep terminated in %s", took)
	}
	e.waitTerminated("long", 10*time.Second)
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("a 30s preStop sleep with a 1s grace period held the termination for %s", took)
	}
}

func TestFailedPreStopHookRecordsEventAndStillKills(t *testing.T) {
	rt := fake.New()
	newExecLog(rt, func([]string) int { return 3 })
	e := start(t, rt)
	c := ctr("web", "img:1")
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"fail"}}}}
	p := pod("failing", c)
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("failing").GetPhase() == "Running" })
	e.deleteWithGrace(p, 10)
	e.waitTerminated("failing", 5*time.Second)
	if !e.rec.has("FailedPreStopHook") {
		t.Fatalf("no FailedPreStopHook event: %v", e.rec.reasons)
	}
	if rt.Running() != nil {
		t.Fatalf("still running after a failed preStop hook: %v", rt.Running())
	}
}

func TestPreStopRunsBeforeALivenessRestart(t *testing.T) {
	rt := fake.New()
	var mu sync.Mutex
	healthy := true
	hooks := newExecLog(rt, func(cmd []string) int {
		mu.Lock()
		defer mu.Unlock()
		if cmd[0] == "live" && !healthy {
			return 1
		}
		return 0
	})
	e := start(t, rt)
	c := ctr("web", "img:1")
	c.LivenessProbe = &corev1.Probe{Exec: &corev1.ExecAction{Command: []string{"live"}}, PeriodSeconds: 1, FailureThreshold: 1}
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"bye"}}}}
	e.m.UpdatePod(pod("live", c))
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("live").GetPhase() == "Running" })
	mu.Lock()
	healthy = false
	mu.Unlock()
	e.waitFor("a restart", 10*time.Second, func() bool {
		cs := e.statusOf("live").GetContainerStatuses()
		return len(cs) == 1 && cs[0].GetRestartCount() >= 1
	})
	run, ok := hooks.find("bye")
	if !ok {
		t.Fatalf("no preStop hook before the liveness restart; calls %v", rt.Calls())
	}
	if slices.Contains(run.callsBefore, "stop web") {
		t.Fatalf("the preStop hook ran after the stop: %v", run.callsBefore)
	}
}

func TestFailedPostStartHookKillsAndRestartsTheContainer(t *testing.T) {
	rt := fake.New()
	var mu sync.Mutex
	fails := 1
	hooks := newExecLog(rt, func(cmd []string) int {
		mu.Lock()
		defer mu.Unlock()
		if cmd[0] == "init-me" && fails > 0 {
			fails--
			return 1
		}
		return 0
	})
	e := start(t, rt)
	c := ctr("web", "img:1")
	c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"init-me"}}}}
	e.m.UpdatePod(pod("post", c))
	e.waitFor("a restart after the failed hook", 10*time.Second, func() bool {
		cs := e.statusOf("post").GetContainerStatuses()
		return len(cs) == 1 && cs[0].GetRestartCount() >= 1 && cs[0].GetState().GetRunning() != nil
	})
	if !e.rec.has("FailedPostStartHook") {
		t.Fatalf("no FailedPostStartHook event: %v", e.rec.reasons)
	}
	run, ok := hooks.find("init-me")
	if !ok || !slices.Contains(run.callsBefore, "start web") {
		t.Fatalf("the postStart hook did not run after the start: %+v %v", run, ok)
	}
}

func TestPostStartHookEndsWhenThePodIsDeleted(t *testing.T) {
	rt := fake.New()
	e := start(t, rt)
	c := ctr("web", "img:1")
	c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 300}}}
	p := pod("stuck", c)
	e.m.UpdatePod(p)
	e.waitFor("the container started", 5*time.Second, func() bool { return slices.Contains(rt.Calls(), "start web") })
	e.deleteWithGrace(p, 1)
	e.waitTerminated("stuck", 10*time.Second)
	if rt.Running() != nil {
		t.Fatalf("still running: %v", rt.Running())
	}
}

// hangingHook makes the exec command name hang until the test ends (the fake's Exec
// returns when its context ends, as Docker's does), and says when it started.
func hangingHook(t *testing.T, rt *fake.Runtime, name string) <-chan struct{} {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rt.SetExecResult(func(_ *runtime.Container, cmd []string) int {
		if cmd[0] == name {
			select {
			case started <- struct{}{}:
			default:
			}
			<-release
		}
		return 0
	})
	return started
}

// runningWithHangingPreStop starts a pod whose container ignores SIGTERM and whose preStop
// hook hangs, deletes it with a 60s grace period, and returns once the hook runs.
func runningWithHangingPreStop(t *testing.T, name string) (*env, *corev1.Pod) {
	rt := fake.New()
	rt.SetIgnoreTerm("stubborn:1")
	started := hangingHook(t, rt, "drain")
	e := start(t, rt)
	c := ctr("web", "stubborn:1")
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"drain"}}}}
	p := pod(name, c)
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf(name).GetPhase() == "Running" })
	e.deleteWithGrace(p, 60)
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatalf("the preStop hook did not start; calls %v", rt.Calls())
	}
	return e, p
}

// TestForceDeletionCutsPreStopHook: `kubectl delete --grace-period=0 --force` of a pod
// whose preStop hook runs (grace period 60s) removes it from the apiserver at once; the
// kubelet then cuts the hook and stops the containers within upstream's 1s minimum,
// instead of holding them for the rest of the hook or of the grace period.
func TestForceDeletionCutsPreStopHook(t *testing.T) {
	e, p := runningWithHangingPreStop(t, "forced")
	began := time.Now()
	e.m.RemovePod(p.GetMetadata().GetUid())
	e.waitFor("the containers stopped and removed", 10*time.Second, func() bool {
		return e.rt.Running() == nil && slices.Contains(e.rt.Calls(), "remove web")
	})
	if took := time.Since(began); took > 4*time.Second {
		t.Fatalf("a force-deleted pod took %s to stop: the preStop hook or the 60s grace period held it", took)
	}
}

// TestShorterGracePeriodCutsPreStopHook: a second delete with a 2s grace period while the
// preStop hook of a 60s deletion runs cuts the hook and kills the container at the new
// deadline: SIGTERM at once, SIGKILL 2s after the second delete.
func TestShorterGracePeriodCutsPreStopHook(t *testing.T) {
	e, p := runningWithHangingPreStop(t, "hurried")
	began := time.Now()
	e.deleteWithGrace(p, 2)
	e.waitTerminated("hurried", 10*time.Second)
	took := time.Since(began)
	if took > 5*time.Second {
		t.Fatalf("the pod took %s to stop after its grace period was shortened to 2s", took)
	}
	if took < time.Second {
		t.Fatalf("a container that ignores SIGTERM was gone %s after a 2s grace period began: killed without its grace period", took)
	}
}

// TestShorterGracePeriodDuringSIGTERM: a grace period shortened after SIGTERM (no hook)
// brings the SIGKILL forward too.
func TestShorterGracePeriodDuringSIGTERM(t *testing.T) {
	rt := fake.New()
	rt.SetIgnoreTerm("stubborn:1")
	e := start(t, rt)
	p := pod("sigterm", ctr("web", "stubborn:1"))
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("sigterm").GetPhase() == "Running" })
	e.deleteWithGrace(p, 60)
	e.waitFor("SIGTERM", 5*time.Second, func() bool { return slices.Contains(rt.Calls(), "stop web") })
	began := time.Now()
	e.deleteWithGrace(p, 1)
	e.waitTerminated("sigterm", 10*time.Second)
	if took := time.Since(began); took > 4*time.Second {
		t.Fatalf("the pod took %s to stop after its grace period was shortened to 1s", took)
	}
}

// TestHangingPreStopExecCutAtGracePeriod: an exec preStop hook that never returns holds
// the container no longer than the grace period (then SIGTERM gets upstream's 2s).
func TestHangingPreStopExecCutAtGracePeriod(t *testing.T) {
	rt := fake.New()
	rt.SetIgnoreTerm("stubborn:1")
	started := hangingHook(t, rt, "drain")
	e := start(t, rt)
	c := ctr("web", "stubborn:1")
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"drain"}}}}
	p := pod("hanging", c)
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("hanging").GetPhase() == "Running" })
	began := time.Now()
	e.deleteWithGrace(p, 1)
	<-started
	e.waitTerminated("hanging", 10*time.Second)
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("a hanging preStop hook with a 1s grace period held the pod for %s", took)
	}
}
