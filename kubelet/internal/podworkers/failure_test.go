package podworkers

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"

	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/status"
)

// runningOf counts the pod's running containers (sandbox included).
func (e *env) runningOf(uid string) int {
	list, err := e.rt.ListContainers(context.Background(), uid)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, c := range list {
		if c.State == runtime.StateRunning {
			n++
		}
	}
	return n
}

func conditionOf(st *corev1.PodStatus, typ string) *corev1.PodCondition {
	for _, c := range st.GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

func countCalls(e *env, call string) int {
	n := 0
	for _, c := range e.rt.Calls() {
		if c == call {
			n++
		}
	}
	return n
}

// An evicted pod stops, reports phase Failed with the eviction's reason, message and
// DisruptionTarget condition, keeps its object (its controller replaces it) and is
// never restarted.
func TestFailPodStopsThePodAndReportsEvicted(t *testing.T) {
	e := start(t, nil)
	p := pod("hog", ctr("a", "img-a:1"))
	e.m.UpdatePod(p)
	e.waitFor("Running", 5*time.Second, func() bool { return e.statusOf("hog").GetPhase() == "Running" })
	if got := len(e.m.ActivePods()); got != 1 {
		t.Fatalf("ActivePods = %d pods, want 1", got)
	}
	msg := "The node was low on resource: memory. "
	if !e.m.FailPod("uid-hog", &status.Failure{Reason: "Evicted", Message: msg, Disruption: true}, 0) {
		t.Fatal("FailPod of a running pod returned false")
	}
	if e.m.FailPod("uid-nobody", &status.Failure{Reason: "Evicted"}, 0) {
		t.Fatal("FailPod of an unknown pod returned true")
	}
	e.waitFor("Failed/Evicted with no running container", 5*time.Second, func() bool {
		st := e.statusOf("hog")
		return st.GetPhase() == "Failed" && e.runningOf("uid-hog") == 0
	})
	st := e.statusOf("hog")
	if st.GetReason() != "Evicted" || st.GetMessage() != msg {
		t.Fatalf("reason %q message %q", st.GetReason(), st.GetMessage())
	}
	dt := conditionOf(st, "DisruptionTarget")
	if dt == nil || dt.GetStatus() != "True" || dt.GetReason() != "TerminationByKubelet" {
		t.Fatalf("DisruptionTarget condition = %v", dt)
	}
	if condition(st, "Ready") != "False" {
		t.Fatalf("Ready = %s after eviction", condition(st, "Ready"))
	}
	if len(e.m.ActivePods()) != 0 {
		t.Fatal("an evicted pod is still a candidate for eviction")
	}
	// Several resyncs later: not restarted, not deleted.
	starts, reports := countCalls(e, "start a"), e.sink.reports
	e.waitFor("three more syncs", 5*time.Second, func() bool {
		e.sink.mu.Lock()
		defer e.sink.mu.Unlock()
		return e.sink.reports >= reports+3
	})
	if countCalls(e, "start a") != starts || e.runningOf("uid-hog") != 0 {
		t.Fatalf("the evicted pod was restarted: %v", e.rt.Calls())
	}
	e.sink.mu.Lock()
	defer e.sink.mu.Unlock()
	if len(e.sink.terminated) != 0 {
		t.Fatalf("the evicted pod's object was deleted: %v", e.sink.terminated)
	}
}

// A pod past its activeDeadlineSeconds (from its startTime) fails with upstream's
// DeadlineExceeded reason and message, without a DisruptionTarget condition.
func TestActiveDeadlineSecondsFailsThePod(t *testing.T) {
	e := start(t, nil)
	p := pod("short", ctr("a", "img-a:1"))
	ads := int64(2)
	p.Spec.ActiveDeadlineSeconds = &ads
	p.Status.StartTime = metav1.NewTime(time.Now())
	began := p.Status.StartTime.AsTime() // whole seconds, as upstream's
	e.m.UpdatePod(p)
	e.waitFor("DeadlineExceeded", 10*time.Second, func() bool {
		return e.statusOf("short").GetPhase() == "Failed" && e.runningOf("uid-short") == 0
	})
	// The deadline counts from startTime: not a moment before it.
	if took := time.Since(began); took < 2*time.Second {
		t.Fatalf("the pod failed %s after its startTime, before its 2s deadline", took)
	}
	st := e.statusOf("short")
	if st.GetReason() != "DeadlineExceeded" || st.GetMessage() != "Pod was active on the node longer than the specified deadline" {
		t.Fatalf("reason %q message %q", st.GetReason(), st.GetMessage())
	}
	if conditionOf(st, "DisruptionTarget") != nil {
		t.Fatal("a deadline failure carries a DisruptionTarget condition")
	}
	if !e.rec.has("DeadlineExceeded") {
		t.Fatal("no DeadlineExceeded event")
	}
	if countCalls(e, "start a") == 0 {
		t.Fatal("the container never ran before its deadline")
	}
}

// Admission: a rejected new pod fails without a container started; a pod already
// running (a restarted kubelet adopting it) is not re-admitted.
func TestAdmissionRejectsNewPodsOnly(t *testing.T) {
	reject := func(p *corev1.Pod) *status.Failure {
		if strings.HasPrefix(p.GetMetadata().GetName(), "besteffort") {
			return &status.Failure{Reason: "Evicted", Message: "The node had condition: [MemoryPressure]. "}
		}
		return nil
	}
	adopted := pod("besteffort-running", ctr("a", "img-a:1"))
	adopted.Status.Phase = "Running"
	e := startWith(t, nil, func(c *Config) { c.Admit = reject })
	e.m.UpdatePod(pod("besteffort-new", ctr("a", "img-a:1")))
	e.m.UpdatePod(pod("burstable", ctr("b", "img-b:1")))
	e.m.UpdatePod(adopted)
	e.waitFor("the admitted pods Running, the rejected one Failed", 5*time.Second, func() bool {
		return e.statusOf("besteffort-new").GetPhase() == "Failed" && e.statusOf("burstable").GetPhase() == "Running" &&
			e.statusOf("besteffort-running").GetPhase() == "Running"
	})
	st := e.statusOf("besteffort-new")
	if st.GetReason() != "Evicted" || st.GetMessage() != "The node had condition: [MemoryPressure]. " {
		t.Fatalf("reason %q message %q", st.GetReason(), st.GetMessage())
	}
	if e.runningOf("uid-besteffort-new") != 0 {
		t.Fatal("a rejected pod has running containers")
	}
	if !e.rec.has("Evicted") {
		t.Fatal("no Evicted event for the rejected pod")
	}
}
