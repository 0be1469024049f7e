// Package scheduler is the scheduling loop: pop a pod, filter the nodes in parallel,
// score the feasible ones, pick the best, assume the pod on it in the cache, and bind it
// asynchronously through pods/binding, so the next pod is scheduled while the binding
// travels. A pod that fits nowhere gets PodScheduled=False/Unschedulable with upstream's
// per-reason message and a FailedScheduling event, and waits in the queue for a cluster
// change.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
	"kube5/scheduler/internal/cache"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/queue"
)

// Binder binds a pod to a node (pods/binding).
type Binder interface {
	Bind(ctx context.Context, pod *corev1.Pod, node string) error
}

// StatusUpdater records that a pod is unschedulable (PodScheduled=False).
type StatusUpdater interface {
	SetUnschedulable(ctx context.Context, pod *corev1.Pod, message string) error
}

// Recorder records events.
type Recorder interface {
	Eventf(obj scheme.Object, eventType, reason, format string, args ...any)
}

// Config assembles a Scheduler.
type Config struct {
	// SchedulerName is the spec.schedulerName of the pods this scheduler takes.
	SchedulerName string
	Framework     *framework.Framework
	Cache         *cache.Cache
	Queue         *queue.Queue
	Binder        Binder
	Status        StatusUpdater
	Recorder      Recorder // nil: no events
	Metrics       *Metrics // nil: no metrics
	// PercentageOfNodesToScore: stop filtering once this share of the nodes is found
	// feasible (at least 100 nodes); 0 is upstream's adaptive default (50% falling to 5%
	// as clusters grow), 100 evaluates every node.
	PercentageOfNodesToScore int
}

// Scheduler schedules pods.
type Scheduler struct {
	cfg       Config
	nextStart int // where the next cycle starts filtering, so nodes are visited evenly
	// snapshot and statuses are reused from cycle to cycle (one cycle runs at a time).
	snapshot []*framework.NodeInfo
	statuses []*framework.Status
	rnd      *rand.Rand
	bindings sync.WaitGroup
}

// New returns a scheduler.
func New(cfg Config) *Scheduler {
	return &Scheduler{cfg: cfg, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// Run schedules pods until ctx ends, then waits for bindings in flight.
func (s *Scheduler) Run(ctx context.Context) {
	go s.cfg.Queue.Run(ctx)
	for {
		p, pod := s.cfg.Queue.Pop()
		if p == nil {
			break
		}
		s.scheduleOne(ctx, p, pod)
	}
	s.bindings.Wait()
}

// ErrNoNodesAvailable is upstream's message for a cluster without nodes.
const ErrNoNodesAvailable = "no nodes available to schedule pods"

// FitError says why a pod fits no node.
type FitError struct {
	NumNodes int
	// Reasons counts nodes per reason (a node short of cpu and memory counts for both).
	Reasons map[string]int
}

// Error is upstream's message: "0/3 nodes are available: 1 node(s) had untolerated taint
// {node.kubernetes.io/unreachable: }, 2 Insufficient cpu." (reasons sorted as strings).
func (e *FitError) Error() string {
	if e.NumNodes == 0 {
		return ErrNoNodesAvailable
	}
	var parts []string
	for r, n := range e.Reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", e.NumNodes, strings.Join(parts, ", "))
}

func (s *Scheduler) scheduleOne(ctx context.Context, p *queue.QueuedPod, pod *corev1.Pod) {
	q := s.cfg.Queue
	if pod == nil || pod.GetMetadata().GetDeletionTimestamp() != nil || s.cfg.Cache.Has(p.Key) {
		q.Done(p.Key)
		return
	}
	start := time.Now()
	cycle := q.SchedulingCycle()
	pi := framework.NewPodInfo(pod)
	node, err := s.schedule(ctx, pi)
	if err != nil {
		s.handleFailure(ctx, p, pod, cycle, err, start)
		return
	}
	assumed := pi.WithNode(node)
	if err := s.cfg.Cache.AssumePod(assumed); err != nil {
		// The watch confirmed the pod meanwhile (bound by another scheduler); nothing to do.
		klog.V(4).InfoS("Not assuming pod", "pod", p.Key, "err", err)
		q.Done(p.Key)
		return
	}
	q.Done(p.Key)
	klog.V(3).InfoS("Attempting to bind pod to node", "pod", klog.KObj(pod.GetMetadata()), "node", node)
	s.bindings.Add(1)
	go func() {
		defer s.bindings.Done()
		s.bind(ctx, p, pod, node, start)
	}()
}

func (s *Scheduler) bind(ctx context.Context, p *queue.QueuedPod, pod *corev1.Pod, node string, start time.Time) {
	err := s.cfg.Binder.Bind(ctx, pod, node)
	if err != nil {
		s.cfg.Cache.ForgetPod(p.Key)
		if ctx.Err() != nil {
			return
		}
		if apierrors.IsConflict(err) {
			// Already bound (by a previous leader whose binding landed late) or being
			// deleted: the watch brings the outcome; retrying cannot succeed.
			klog.V(2).InfoS("Binding conflict; leaving the pod to the watch", "pod", p.Key, "node", node, "err", err)
			return
		}
		klog.V(2).InfoS("Binding failed", "pod", p.Key, "node", node, "err", err)
		s.cfg.Metrics.attempt(resultError, time.Since(start))
		s.event(pod, "Warning", "FailedScheduling", "Binding rejected: %v", err)
		s.cfg.Queue.AddBackoff(p)
		return
	}
	s.cfg.Metrics.attempt(resultScheduled, time.Since(start))
	klog.V(2).InfoS("Successfully bound pod to node", "pod", p.Key, "node", node)
	m := pod.GetMetadata()
	s.event(pod, "Normal", "Scheduled", "Successfully assigned %s/%s to %s", m.GetNamespace(), m.GetName(), node)
}

func (s *Scheduler) event(pod *corev1.Pod, typ, reason, format string, args ...any) {
	if s.cfg.Recorder != nil {
		s.cfg.Recorder.Eventf(pod, typ, reason, format, args...)
	}
}

func (s *Scheduler) handleFailure(ctx context.Context, p *queue.QueuedPod, pod *corev1.Pod, cycle int64, err error, start time.Time) {
	q := s.cfg.Queue
	defer q.Done(p.Key)
	var fe *FitError
	if !errors.As(err, &fe) {
		klog.ErrorS(err, "Error scheduling pod; retrying", "pod", p.Key)
		s.cfg.Metrics.attempt(resultError, time.Since(start))
		s.event(pod, "Warning", "FailedScheduling", "%v", err)
		q.AddBackoff(p)
		return
	}
	msg := fe.Error()
	klog.V(2).InfoS("Unable to schedule pod; waiting", "pod", p.Key, "err", msg)
	s.cfg.Metrics.attempt(resultUnschedulable, time.Since(start))
	s.event(pod, "Warning", "FailedScheduling", "%s", msg)
	if s.cfg.Status != nil && !hasCondition(pod, msg) {
		if err := s.cfg.Status.SetUnschedulable(ctx, pod, msg); err != nil && ctx.Err() == nil {
			klog.V(2).InfoS("Could not set PodScheduled=False", "pod", p.Key, "err", err)
		}
	}
	q.AddUnschedulable(p, cycle)
}

// hasCondition reports whether pod already says it is unschedulable for this reason, so
// retries do not rewrite the same status.
func hasCondition(pod *corev1.Pod, msg string) bool {
	for _, c := range pod.GetStatus().GetConditions() {
		if c.GetType() == "PodScheduled" {
			return c.GetStatus() == "False" && c.GetReason() == "Unschedulable" && c.GetMessage() == msg
		}
	}
	return false
}

// numFeasibleNodesToFind is upstream's: every node in small clusters, else a share
// falling from 50% by 1% per 125 nodes to 5%, at least 100 nodes.
func (s *Scheduler) numFeasibleNodesToFind(n int) int {
	const minFeasible = 100
	if n < minFeasible || s.cfg.PercentageOfNodesToScore >= 100 {
		return n
	}
	pct := s.cfg.PercentageOfNodesToScore
	if pct <= 0 {
		pct = max(50-n/125, 5)
	}
	return max(n*pct/100, minFeasible)
}

// schedule picks a node for pi, or returns a *FitError.
func (s *Scheduler) schedule(ctx context.Context, pi *framework.PodInfo) (string, error) {
	s.snapshot = s.cfg.Cache.Snapshot(s.snapshot)
	nodes := s.snapshot
	if len(nodes) == 0 {
		return "", &FitError{}
	}
	fw := s.cfg.Framework
	state := framework.NewCycleState()
	if st := fw.RunPreFilter(ctx, state, pi, nodes); !st.IsSuccess() {
		if st.Code == framework.Error {
			return "", st.AsError()
		}
		fe := &FitError{NumNodes: len(nodes), Reasons: map[string]int{}}
		for _, r := range st.Reasons {
			fe.Reasons[r] = len(nodes)
		}
		return "", fe
	}
	feasible, statuses, err := s.findNodesThatFit(ctx, state, pi, nodes)
	if err != nil {
		return "", err
	}
	if len(feasible) == 0 {
		fe := &FitError{NumNodes: len(nodes), Reasons: map[string]int{}}
		for _, st := range statuses {
			if st != nil {
				for _, r := range st.Reasons {
					fe.Reasons[r]++
				}
			}
		}
		return "", fe
	}
	if len(feasible) == 1 {
		return feasible[0].Name, nil
	}
	if st := fw.RunPreScore(ctx, state, pi, feasible, nodes); !st.IsSuccess() {
		return "", st.AsError()
	}
	scores, st := fw.RunScore(ctx, state, pi, feasible)
	if !st.IsSuccess() {
		return "", st.AsError()
	}
	return s.selectHost(feasible, scores), nil
}

// findNodesThatFit filters nodes in parallel from a rotating start, stopping once
// enough feasible nodes are found. statuses[i] is node i's failure (nil: fit or not
// evaluated).
func (s *Scheduler) findNodesThatFit(ctx context.Context, state *framework.CycleState, pi *framework.PodInfo, nodes []*framework.NodeInfo) ([]*framework.NodeInfo, []*framework.Status, error) {
	n := len(nodes)
	want := s.numFeasibleNodesToFind(n)
	feasible := make([]*framework.NodeInfo, want)
	if cap(s.statuses) < n {
		s.statuses = make([]*framework.Status, n)
	}
	statuses := s.statuses[:n]
	clear(statuses)
	var found, processed atomic.Int64
	var failed atomic.Pointer[framework.Status]
	start := s.nextStart % n
	framework.Parallelize(s.cfg.Framework.Parallelism, n, func(i int) {
		if found.Load() >= int64(want) || failed.Load() != nil {
			return
		}
		idx := (start + i) % n
		processed.Add(1)
		st := s.cfg.Framework.RunFilter(ctx, state, pi, nodes[idx])
		if st.IsSuccess() {
			if k := found.Add(1); k <= int64(want) {
				feasible[k-1] = nodes[idx]
			}
			return
		}
		if st.Code == framework.Error {
			failed.CompareAndSwap(nil, st)
			return
		}
		statuses[idx] = st
	})
	if st := failed.Load(); st != nil {
		return nil, nil, st.AsError()
	}
	s.nextStart = (start + int(processed.Load())) % n
	k := min(int(found.Load()), want)
	return feasible[:k], statuses, nil
}

// selectHost picks the highest score, breaking ties uniformly at random (reservoir
// sampling), as upstream.
func (s *Scheduler) selectHost(nodes []*framework.NodeInfo, scores []int64) string {
	best, ties := 0, 1
	for i := 1; i < len(nodes); i++ {
		switch {
		case scores[i] > scores[best]:
			best, ties = i, 1
		case scores[i] == scores[best]:
			ties++
			if s.rnd.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return nodes[best].Name
}
