package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/scheduler/app/options"
)

func TestBindsPodsAndServesHealthAndMetrics(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	createNodes(t, cs, node("node-1", "2", "4Gi"), node("node-2", "2", "4Gi"))
	sch := startScheduler(t, s)
	var names []string
	for i := 0; i < 6; i++ {
		names = append(names, fmt.Sprintf("web-%d", i))
		createPods(t, cs, pod(names[i], "100m"))
	}
	got := waitBound(t, cs, names...)
	perNode := map[string]int{}
	for _, n := range got {
		perNode[n]++
	}
	if perNode["node-1"] != 3 || perNode["node-2"] != 3 {
		t.Errorf("placements %v: want 3+3 on two equal nodes (least allocated)", perNode)
	}
	p, err := cs.Pods("default").Get(context.Background(), "web-0")
	if err != nil {
		t.Fatal(err)
	}
	cond := false
	for _, c := range p.GetStatus().GetConditions() {
		cond = cond || (c.GetType() == "PodScheduled" && c.GetStatus() == "True")
	}
	if !cond {
		t.Errorf("web-0 has no PodScheduled=True condition: %v", p.GetStatus().GetConditions())
	}
	want := fmt.Sprintf("Normal Scheduled Successfully assigned default/web-0 to %s", got["web-0"])
	waitFor(t, 10*time.Second, "the Scheduled event", func() (bool, string) {
		evs := events(t, cs, "web-0")
		return hasEvent(evs, want), fmt.Sprint(evs)
	})
	waitFor(t, 10*time.Second, "scheduled attempts metric", func() (bool, string) {
		v := counter(t, sch, "scheduler_schedule_attempts_total", map[string]string{"result": "scheduled", "profile": "default-scheduler"})
		return v == 6, fmt.Sprint(v)
	})

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + sch.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" {
			for _, m := range []string{`scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 6`,
				"scheduler_scheduling_attempt_duration_seconds_bucket", `scheduler_pending_pods{queue="active"} 0`} {
				if !strings.Contains(string(body), m) {
					t.Errorf("/metrics lacks %q", m)
				}
			}
		}
	}
}

// TestSpreadsReplicaSet: 3 replicas of a ReplicaSet on 2 nodes land 2+1 even though the
// larger node would win every least-allocated comparison (3+0 without spreading).
func TestSpreadsReplicaSet(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	createNodes(t, cs, node("big", "8", "16Gi"), node("small", "2", "16Gi"))
	lbl := map[string]string{"app": "web"}
	rs, err := cs.ReplicaSets("default").Create(context.Background(), &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: lbl}, Spec: pod("x", "100m").Spec},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sch := startScheduler(t, s)
	_ = sch
	truth := true
	owned := func(p *corev1.Pod) {
		p.Metadata.Labels = map[string]string{"app": "web"}
		p.Metadata.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", Uid: rs.GetMetadata().GetUid(), Controller: &truth}}
	}
	createPods(t, cs, pod("web-a", "100m", owned), pod("web-b", "100m", owned), pod("web-c", "100m", owned))
	got := waitBound(t, cs, "web-a", "web-b", "web-c")
	perNode := map[string]int{}
	for _, n := range got {
		perNode[n]++
	}
	if perNode["big"] != 2 || perNode["small"] != 1 {
		t.Errorf("replicas placed %v, want big:2 small:1", perNode)
	}
}

// TestUnschedulableThenScheduled: a pod too big for every node gets PodScheduled=False
// with upstream's per-reason message and a FailedScheduling event, and is bound as soon
// as a node that fits appears.
func TestUnschedulableThenScheduled(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	unreachable := func(n *corev1.Node) {
		n.Spec.Taints = []*corev1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: "NoSchedule"}}
	}
	createNodes(t, cs, node("node-1", "1", "4Gi"), node("node-2", "1", "4Gi"), node("node-3", "8", "4Gi", unreachable))
	startScheduler(t, s)
	createPods(t, cs, pod("big", "2"))
	const msg = "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu."
	waitFor(t, 20*time.Second, "PodScheduled=False/Unschedulable", func() (bool, string) {
		p, err := cs.Pods("default").Get(context.Background(), "big")
		if err != nil {
			return false, err.Error()
		}
		for _, c := range p.GetStatus().GetConditions() {
			if c.GetType() == "PodScheduled" {
				return c.GetStatus() == "False" && c.GetReason() == "Unschedulable" && c.GetMessage() == msg,
					fmt.Sprintf("%s %s %q", c.GetStatus(), c.GetReason(), c.GetMessage())
			}
		}
		return false, "no PodScheduled condition"
	})
	waitFor(t, 10*time.Second, "the FailedScheduling event", func() (bool, string) {
		evs := events(t, cs, "big")
		return hasEvent(evs, "Warning FailedScheduling "+msg), fmt.Sprint(evs)
	})
	if n := placements(t, cs)["big"]; n != "" {
		t.Fatalf("pod bound to %s", n)
	}
	createNodes(t, cs, node("node-4", "4", "4Gi"))
	if got := waitBound(t, cs, "big")["big"]; got != "node-4" {
		t.Errorf("bound to %s, want node-4", got)
	}
}

// TestSkipsCordonedTaintedAndNotReadyNodes: every pod lands on the one usable node,
// though the others are bigger; a pod tolerating the taint may use the tainted node.
func TestSkipsCordonedTaintedAndNotReadyNodes(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	cordoned := func(n *corev1.Node) { n.Spec.Unschedulable = true }
	tainted := func(n *corev1.Node) {
		n.Spec.Taints = []*corev1.Taint{{Key: "dedicated", Value: "db", Effect: "NoSchedule"}}
	}
	notReady := func(n *corev1.Node) { n.Status.Conditions[0].Status = "False" }
	createNodes(t, cs, node("cordoned", "16", "32Gi", cordoned), node("tainted", "16", "32Gi", tainted),
		node("notready", "16", "32Gi", notReady), node("usable", "2", "4Gi"))
	startScheduler(t, s)
	var names []string
	for i := 0; i < 5; i++ {
		names = append(names, fmt.Sprintf("p-%d", i))
		createPods(t, cs, pod(names[i], "100m"))
	}
	for name, n := range waitBound(t, cs, names...) {
		if n != "usable" {
			t.Errorf("%s bound to %s", name, n)
		}
	}
	createPods(t, cs, pod("tolerant", "4", func(p *corev1.Pod) {
		p.Spec.Tolerations = []*corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "db", Effect: "NoSchedule"}}
	}))
	if n := waitBound(t, cs, "tolerant")["tolerant"]; n != "tainted" {
		t.Errorf("tolerant pod bound to %s, want tainted (the only node with 4 free cpus it tolerates)", n)
	}
}

// TestIgnoresOtherSchedulers: a pod for another scheduler is left alone, while a pod
// created after it is scheduled.
func TestIgnoresOtherSchedulers(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	createNodes(t, cs, node("node-1", "2", "4Gi"))
	startScheduler(t, s)
	createPods(t, cs, pod("theirs", "100m", func(p *corev1.Pod) { p.Spec.SchedulerName = "my-scheduler" }))
	createPods(t, cs, pod("ours", "100m"))
	waitBound(t, cs, "ours")
	p, err := cs.Pods("default").Get(context.Background(), "theirs")
	if err != nil {
		t.Fatal(err)
	}
	if p.GetSpec().GetNodeName() != "" || len(p.GetStatus().GetConditions()) != 0 {
		t.Errorf("pod of another scheduler was touched: node %q, conditions %v", p.GetSpec().GetNodeName(), p.GetStatus().GetConditions())
	}
	if evs := events(t, cs, "theirs"); len(evs) != 0 {
		t.Errorf("events about another scheduler's pod: %v", evs)
	}
}

// TestSchedulerNameFlag: a scheduler started with --scheduler-name takes only its pods.
func TestSchedulerNameFlag(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	createNodes(t, cs, node("node-1", "2", "4Gi"))
	startScheduler(t, s, func(o *options.Options) { o.SchedulerName = "my-scheduler" })
	createPods(t, cs, pod("default-one", "100m"), pod("mine", "100m", func(p *corev1.Pod) { p.Spec.SchedulerName = "my-scheduler" }))
	waitBound(t, cs, "mine")
	if n := placements(t, cs)["default-one"]; n != "" {
		t.Errorf("my-scheduler bound a default-scheduler pod to %s", n)
	}
	waitFor(t, 10*time.Second, "the Scheduled event from my-scheduler", func() (bool, string) {
		l, err := cs.Events("default").List(context.Background(), client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range l.Items {
			if e.GetInvolvedObject().GetName() == "mine" && e.GetReason() == "Scheduled" {
				return e.GetSource().GetComponent() == "my-scheduler", e.GetSource().GetComponent()
			}
		}
		return false, "no event"
	})
}
