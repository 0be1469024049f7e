// Package integration runs kube-scheduler in-process against a real kube-apiserver
// (apiservertest: the built binary on an embedded etcd) with fake Node objects: no
// kubelet is needed to schedule.
package integration

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/scheduler/app"
	"kube5/scheduler/app/options"
)

type runningScheduler struct {
	*app.Server
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's result, valid after done
}

// stop stops the scheduler and waits for Run to return.
func (r *runningScheduler) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("scheduler did not stop within 30s; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

// startScheduler runs a scheduler against s until the test ends.
func startScheduler(t *testing.T, s *apiservertest.Server, customize ...func(*options.Options)) *runningScheduler {
	t.Helper()
	o := options.New()
	o.Master.Master = s.URL
	o.BindAddress, o.Port = "127.0.0.1", 0
	o.LeaderElect = false
	for _, c := range customize {
		c(o)
	}
	if errs := o.Validate(); len(errs) > 0 {
		t.Fatalf("options: %v", errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.Setup(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &runningScheduler{Server: srv, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = srv.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
			if r.err != nil {
				t.Errorf("scheduler: %v", r.err)
			}
		case <-time.After(30 * time.Second):
			t.Error("scheduler did not stop within 30s")
		}
	})
	return r
}

func q(s string) *metav1.Quantity { return metav1.MustParseQuantity(s) }

// node is a fake node as a kubelet would register it: allocatable cpu, memory, pods and
// Ready=True.
func node(name, cpu, mem string, mods ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:     &corev1.NodeSpec{},
		Status: &corev1.NodeStatus{
			Capacity:    map[string]*metav1.Quantity{"cpu": q(cpu), "memory": q(mem), "pods": q("110")},
			Allocatable: map[string]*metav1.Quantity{"cpu": q(cpu), "memory": q(mem), "pods": q("110")},
			Conditions:  []*corev1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}},
		},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func createNodes(t *testing.T, cs *client.Clientset, nodes ...*corev1.Node) {
	t.Helper()
	for _, n := range nodes {
		if _, err := cs.Nodes().Create(context.Background(), n); err != nil {
			t.Fatalf("creating node %s: %v", n.GetMetadata().GetName(), err)
		}
	}
}

func pod(name, cpu string, mods ...func(*corev1.Pod)) *corev1.Pod {
	c := &corev1.Container{Name: "app", Image: "kube5/httpenv:1.0"}
	if cpu != "" {
		c.Resources = &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{"cpu": q(cpu), "memory": q("64Mi")}}
	}
	p := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{}},
		Spec:     &corev1.PodSpec{Containers: []*corev1.Container{c}},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func createPods(t *testing.T, cs *client.Clientset, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		if _, err := cs.Pods(p.GetMetadata().GetNamespace()).Create(context.Background(), p); err != nil {
			t.Fatalf("creating pod %s: %v", p.GetMetadata().GetName(), err)
		}
	}
}

// waitFor polls cond every 20ms until it holds or the deadline passes; last describes the
// state for the failure message.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state: %s", timeout, what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// placements returns pod name -> node name for pods in namespace default.
func placements(t *testing.T, cs *client.Clientset) map[string]string {
	t.Helper()
	l, err := cs.Pods("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range l.Items {
		out[p.GetMetadata().GetName()] = p.GetSpec().GetNodeName()
	}
	return out
}

// waitBound waits until every named pod has a node and returns the placements.
func waitBound(t *testing.T, cs *client.Clientset, names ...string) map[string]string {
	t.Helper()
	var got map[string]string
	waitFor(t, 30*time.Second, fmt.Sprintf("pods %v to be bound", names), func() (bool, string) {
		got = placements(t, cs)
		for _, n := range names {
			if got[n] == "" {
				return false, fmt.Sprint(got)
			}
		}
		return true, ""
	})
	return got
}

// events returns the events about a pod as "Type Reason Message" lines.
func events(t *testing.T, cs *client.Clientset, podName string) []string {
	t.Helper()
	l, err := cs.Events("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range l.Items {
		if e.GetInvolvedObject().GetName() == podName {
			out = append(out, e.GetType()+" "+e.GetReason()+" "+e.GetMessage())
		}
	}
	return out
}

func hasEvent(evs []string, prefix string) bool {
	for _, e := range evs {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

// counter reads a counter of the scheduler's registry with the given labels.
func counter(t *testing.T, s *runningScheduler, name string, lbls map[string]string) float64 {
	t.Helper()
	mfs, err := s.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, lbls) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}
