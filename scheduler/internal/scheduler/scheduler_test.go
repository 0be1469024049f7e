package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
	"kube5/scheduler/internal/cache"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins"
	"kube5/scheduler/internal/queue"
)

type fakeBinder struct {
	mu    sync.Mutex
	binds map[string]string
	fail  error
}

func (b *fakeBinder) Bind(_ context.Context, p *corev1.Pod, node string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.binds[p.GetMetadata().GetName()] = node
	return nil
}

func (b *fakeBinder) get() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]string{}
	for k, v := range b.binds {
		out[k] = v
	}
	return out
}

type fakeStatus struct {
	mu   sync.Mutex
	msgs map[string]string
}

func (s *fakeStatus) SetUnschedulable(_ context.Context, p *corev1.Pod, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs[p.GetMetadata().GetName()] = msg
	return nil
}

type fakeRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *fakeRecorder) Eventf(obj scheme.Object, typ, reason, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s %s %s %s", obj.GetMetadata().GetName(), typ, reason, fmt.Sprintf(format, args...)))
}

type harness struct {
	s       *Scheduler
	cache   *cache.Cache
	queue   *queue.Queue
	binder  *fakeBinder
	status  *fakeStatus
	rec     *fakeRecorder
	metrics *Metrics
}

func newHarness(t *testing.T, nodes ...*corev1.Node) *harness {
	t.Helper()
	fw, err := framework.New(plugins.NewRegistry(), plugins.DefaultProfile(), framework.Handle{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{cache: cache.New(), queue: queue.New(), binder: &fakeBinder{binds: map[string]string{}},
		status: &fakeStatus{msgs: map[string]string{}}, rec: &fakeRecorder{}}
	for _, n := range nodes {
		h.cache.AddNode(n)
	}
	h.s = New(Config{SchedulerName: "default-scheduler", Framework: fw, Cache: h.cache, Queue: h.queue,
		Binder: h.binder, Status: h.status, Recorder: h.rec})
	return h
}

// once schedules the next queued pod and waits for its binding.
func (h *harness) once(t *testing.T) {
	t.Helper()
	if h.queue.Stats().Active == 0 {
		t.Fatal("nothing to schedule")
	}
	p, pod := h.queue.Pop()
	h.s.scheduleOne(context.Background(), p, pod)
	h.s.bindings.Wait()
}

func TestFitErrorMessage(t *testing.T) {
	e := &FitError{NumNodes: 3, Reasons: map[string]int{"Insufficient cpu": 2, "node(s) had untolerated taint {node.kubernetes.io/unreachable: }": 1}}
	want := "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu."
	if e.Error() != want {
		t.Errorf("got  %q\nwant %q", e.Error(), want)
	}
	if (&FitError{}).Error() != ErrNoNodesAvailable {
		t.Error("no nodes message")
	}
}

func TestSchedulesAndAssumes(t *testing.T) {
	h := newHarness(t, fake.Node("n1", "1", "4Gi"), fake.Node("n2", "1", "4Gi"))
	for i := 0; i < 4; i++ {
		h.queue.Add(fake.Pod(fmt.Sprintf("p%d", i), "500m", ""))
	}
	for i := 0; i < 4; i++ {
		h.once(t)
	}
	perNode := map[string]int{}
	for _, n := range h.binder.get() {
		perNode[n]++
	}
	// Without the assume cache every pod would see two empty nodes and some node would
	// get three: the assumed pods make the third and fourth go where there is room.
	if perNode["n1"] != 2 || perNode["n2"] != 2 {
		t.Fatalf("placements %v", perNode)
	}
	if _, _, assumed := h.cache.Counts(); assumed != 4 {
		t.Fatalf("%d assumed pods, want 4", assumed)
	}
	if !strings.Contains(strings.Join(h.rec.events, "\n"), "p0 Normal Scheduled Successfully assigned default/p0 to n") {
		t.Errorf("events %v", h.rec.events)
	}
}

func TestUnschedulableRecordsAndWaits(t *testing.T) {
	h := newHarness(t, fake.Node("n1", "1", "4Gi"), fake.Node("n2", "1", "4Gi", fake.Taint("k", "v", "NoSchedule")))
	h.queue.Add(fake.Pod("big", "2", ""))
	h.once(t)
	want := "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}."
	if got := h.status.msgs["big"]; got != want {
		t.Fatalf("status message %q, want %q", got, want)
	}
	if len(h.rec.events) != 1 || h.rec.events[0] != "big Warning FailedScheduling "+want {
		t.Fatalf("events %v", h.rec.events)
	}
	if s := h.queue.Stats(); s.Unschedulable != 1 {
		t.Fatalf("queue %+v", s)
	}
	// A fitting node: the node handler moves the pod; after its backoff it binds there.
	h.s.NodeHandler().OnAdd(fake.Node("n3", "4", "4Gi"))
	deadline := time.Now().Add(10 * time.Second)
	for h.queue.Stats().Active == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("pod not retried: %+v", h.queue.Stats())
		}
		time.Sleep(10 * time.Millisecond)
		h.queue.Flush()
	}
	h.once(t)
	if got := h.binder.get()["big"]; got != "n3" {
		t.Fatalf("bound to %q", got)
	}
}

func TestNoNodes(t *testing.T) {
	h := newHarness(t)
	h.queue.Add(fake.Pod("p", "", ""))
	h.once(t)
	if h.status.msgs["p"] != ErrNoNodesAvailable {
		t.Fatalf("message %q", h.status.msgs["p"])
	}
}

func TestBindFailureForgetsAndBacksOff(t *testing.T) {
	h := newHarness(t, fake.Node("n1", "1", "4Gi"))
	h.binder.fail = errors.New("apiserver said no")
	h.queue.Add(fake.Pod("p", "500m", ""))
	h.once(t)
	if h.cache.Has("default/p") {
		t.Fatal("failed binding left the pod assumed")
	}
	if s := h.queue.Stats(); s.Backoff != 1 {
		t.Fatalf("queue %+v, want the pod in backoff", s)
	}
	if !strings.Contains(strings.Join(h.rec.events, "\n"), "FailedScheduling Binding rejected: apiserver said no") {
		t.Fatalf("events %v", h.rec.events)
	}
}

func TestPodHandler(t *testing.T) {
	h := newHarness(t, fake.Node("n1", "4", "4Gi"))
	ph := h.s.PodHandler()
	ours := fake.Pod("ours", "1", "")
	theirs := fake.Pod("theirs", "1", "", func(p *corev1.Pod) { p.Spec.SchedulerName = "other" })
	bound := fake.Pod("bound", "1", "", fake.OnNode("n1"))
	ph.OnAdd(ours)
	ph.OnAdd(theirs)
	ph.OnAdd(bound)
	if s := h.queue.Stats(); s.Active != 1 {
		t.Fatalf("queue %+v, want only our pending pod", s)
	}
	if _, pods, _ := h.cache.Counts(); pods != 1 {
		t.Fatalf("cache has %d pods, want the bound one", pods)
	}
	// Bound by someone else while queued: leaves the queue, enters the cache.
	ph.OnUpdate(ours, fake.Pod("ours", "1", "", fake.OnNode("n1")))
	if s := h.queue.Stats(); s.Active != 0 {
		t.Fatalf("queue %+v after binding", s)
	}
	if n := h.cache.Snapshot(nil)[0]; n.Requested.MilliCPU != 2000 {
		t.Fatalf("requested %v", n.Requested)
	}
	ph.OnDelete(bound)
	if n := h.cache.Snapshot(nil)[0]; n.Requested.MilliCPU != 1000 {
		t.Fatalf("requested %v after delete", n.Requested)
	}
	// Being deleted: not ours to schedule; deleted: gone from the queue.
	deleting := fake.Pod("deleting", "", "", func(p *corev1.Pod) { p.Metadata.DeletionTimestamp = metav1.Now() })
	ph.OnAdd(deleting)
	gone := fake.Pod("gone", "", "")
	ph.OnAdd(gone)
	ph.OnDelete(gone)
	if s := h.queue.Stats(); s.Active != 0 {
		t.Fatalf("deleting or deleted pods queued: %+v", s)
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	s := New(Config{})
	for n, want := range map[int]int{10: 10, 99: 99, 100: 100, 500: 230, 1000: 420, 5000: 500, 6000: 300, 20000: 1000} {
		if got := s.numFeasibleNodesToFind(n); got != want {
			t.Errorf("%d nodes: %d, want %d", n, got, want)
		}
	}
	s = New(Config{PercentageOfNodesToScore: 100})
	if got := s.numFeasibleNodesToFind(5000); got != 5000 {
		t.Errorf("100%%: %d", got)
	}
}

func TestSelectHostBreaksTiesRandomly(t *testing.T) {
	s := New(Config{})
	nodes := []*framework.NodeInfo{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	seen := map[string]int{}
	for i := 0; i < 300; i++ {
		seen[s.selectHost(nodes, []int64{5, 9, 9})]++
	}
	if seen["a"] != 0 || seen["b"] == 0 || seen["c"] == 0 {
		t.Fatalf("choices %v: want only b and c, both", seen)
	}
}

func TestBindConflictIsLeftToTheWatch(t *testing.T) {
	h := newHarness(t, fake.Node("n1", "1", "4Gi"))
	h.binder.fail = apierrors.NewConflict(apierrors.GroupResource{Resource: "pods/binding"}, "p", errors.New("already assigned"))
	h.queue.Add(fake.Pod("p", "500m", ""))
	h.once(t)
	if h.cache.Has("default/p") || h.queue.Stats() != (queue.Stats{}) || len(h.rec.events) != 0 {
		t.Fatalf("cache has pod: %v, queue %+v, events %v", h.cache.Has("default/p"), h.queue.Stats(), h.rec.events)
	}
}
