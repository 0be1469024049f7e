// Package queue is the scheduling queue, after upstream's PriorityQueue: an active queue
// (highest priority first, then oldest), a backoff queue for pods that failed recently
// (1s doubling to 10s per attempt), and the unschedulable pods, which wait for a cluster
// change (a node added or changed, a pod deleted, ...) that might let them fit; they are
// also retried after 5 minutes regardless, in case a change was missed.
package queue

import (
	"container/heap"
	"context"
	"sync"
	"time"

	corev1 "kube5/proto/api/core/v1"
)

// Defaults, as upstream's.
const (
	DefaultInitialBackoff     = time.Second
	DefaultMaxBackoff         = 10 * time.Second
	DefaultMaxInUnschedulable = 5 * time.Minute
	backoffFlushInterval      = time.Second
)

// QueuedPod is a pod waiting to be scheduled, with its attempt history.
type QueuedPod struct {
	Pod *corev1.Pod
	Key string
	// Timestamp is when the pod last entered the queue (or was last tried).
	Timestamp time.Time
	// InitialAttempt is when the pod was first tried; Attempts counts tries.
	InitialAttempt time.Time
	Attempts       int

	index int // in the active or backoff heap
}

func priority(p *corev1.Pod) int32 {
	if pr := p.GetSpec().Priority; pr != nil {
		return *pr
	}
	return 0
}

// Stats are the queue lengths, for scheduler_pending_pods.
type Stats struct{ Active, Backoff, Unschedulable int }

// Queue is the scheduling queue. It is safe for concurrent use.
type Queue struct {
	InitialBackoff, MaxBackoff, MaxInUnschedulable time.Duration
	now                                            func() time.Time
	// OnChange, when set, is called after the lengths may have changed (with the queue's
	// lock held: it must be quick and must not call the queue).
	OnChange func(Stats)

	mu            sync.Mutex
	cond          *sync.Cond
	active        podHeap // ordered by priority, then Timestamp
	backoff       podHeap // ordered by backoff expiry
	unschedulable map[string]*QueuedPod
	// inFlight holds popped pods being scheduled, with the latest object the informer
	// reported for them meanwhile, so a failure re-queues the current state.
	inFlight map[string]*QueuedPod
	// schedulingCycle counts Pops; moveCycle is the cycle of the last cluster event. A pod
	// that fails in a cycle that started before that event goes to backoff, not to the
	// unschedulable pods: the event may be the one it waits for.
	schedulingCycle, moveCycle int64
	closed                     bool
}

// New returns an empty queue with upstream's default timings.
func New() *Queue {
	q := &Queue{
		InitialBackoff: DefaultInitialBackoff, MaxBackoff: DefaultMaxBackoff, MaxInUnschedulable: DefaultMaxInUnschedulable,
		now: time.Now, unschedulable: map[string]*QueuedPod{}, inFlight: map[string]*QueuedPod{},
	}
	q.active.less = func(a, b *QueuedPod) bool {
		pa, pb := priority(a.Pod), priority(b.Pod)
		if pa != pb {
			return pa > pb
		}
		return a.Timestamp.Before(b.Timestamp)
	}
	q.backoff.less = func(a, b *QueuedPod) bool { return q.backoffExpiry(a).Before(q.backoffExpiry(b)) }
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Key is a pod's queue key.
func Key(p *corev1.Pod) string {
	return p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
}

func (q *Queue) backoffDuration(p *QueuedPod) time.Duration {
	d := q.InitialBackoff
	for i := 1; i < p.Attempts; i++ {
		d *= 2
		if d >= q.MaxBackoff {
			return q.MaxBackoff
		}
	}
	return min(d, q.MaxBackoff)
}

func (q *Queue) backoffExpiry(p *QueuedPod) time.Time { return p.Timestamp.Add(q.backoffDuration(p)) }

func (q *Queue) stats() Stats {
	return Stats{Active: q.active.Len(), Backoff: q.backoff.Len(), Unschedulable: len(q.unschedulable)}
}

// notify reports the lengths to OnChange. Caller holds mu, so reports arrive in order;
// OnChange must not call back into the queue.
func (q *Queue) notify() {
	if q.OnChange != nil {
		q.OnChange(q.stats())
	}
}

// Add queues a new pod (or updates a queued one).
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(pod)
	q.notify()
}

func (q *Queue) addLocked(pod *corev1.Pod) {
	key := Key(pod)
	if p := q.inFlight[key]; p != nil {
		p.Pod = pod
		return
	}
	if p := q.find(key); p != nil {
		q.updateLocked(p, pod)
		return
	}
	now := q.now()
	heap.Push(&q.active, &QueuedPod{Pod: pod, Key: key, Timestamp: now})
	q.cond.Broadcast()
}

// find returns the queued pod with key, wherever it waits. Caller holds mu.
func (q *Queue) find(key string) *QueuedPod {
	if p := q.unschedulable[key]; p != nil {
		return p
	}
	for _, h := range []*podHeap{&q.active, &q.backoff} {
		if p := h.byKey(key); p != nil {
			return p
		}
	}
	return nil
}

// updateLocked stores the new state of a queued pod; an unschedulable pod whose spec
// changed is worth another try.
func (q *Queue) updateLocked(p *QueuedPod, pod *corev1.Pod) {
	specChanged := p.Pod.GetMetadata().GetGeneration() != pod.GetMetadata().GetGeneration() ||
		!sameLabels(p.Pod, pod)
	p.Pod = pod
	if _, ok := q.unschedulable[p.Key]; ok && specChanged {
		delete(q.unschedulable, p.Key)
		q.requeueLocked(p)
	}
}

func sameLabels(a, b *corev1.Pod) bool {
	la, lb := a.GetMetadata().GetLabels(), b.GetMetadata().GetLabels()
	if len(la) != len(lb) {
		return false
	}
	for k, v := range la {
		if lb[k] != v {
			return false
		}
	}
	return true
}

// requeueLocked puts a pod taken out of the unschedulable set into backoff or active,
// depending on whether its backoff has expired.
func (q *Queue) requeueLocked(p *QueuedPod) {
	if q.now().Before(q.backoffExpiry(p)) {
		heap.Push(&q.backoff, p)
		return
	}
	heap.Push(&q.active, p)
	q.cond.Broadcast()
}

// Update is Add with the new state of a pod.
func (q *Queue) Update(pod *corev1.Pod) { q.Add(pod) }

// Delete removes a pod (deleted, bound by someone else, or no longer ours).
func (q *Queue) Delete(pod *corev1.Pod) {
	key := Key(pod)
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.unschedulable, key)
	q.active.remove(key)
	q.backoff.remove(key)
	if p := q.inFlight[key]; p != nil {
		p.Pod = nil // the attempt's outcome is not re-queued
	}
	q.notify()
}

// Pop waits for an active pod and returns it with the pod object as of now, or nils once
// the queue is closed. The caller reads the returned pod, never p.Pod (which the queue
// keeps current under its lock), and calls Done(key) when the attempt is over.
func (q *Queue) Pop() (*QueuedPod, *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, nil
	}
	p := heap.Pop(&q.active).(*QueuedPod)
	p.Attempts++
	if p.InitialAttempt.IsZero() {
		p.InitialAttempt = q.now()
	}
	q.schedulingCycle++
	q.inFlight[p.Key] = p
	q.notify()
	return p, p.Pod
}

// SchedulingCycle is the number of the cycle the last Pop started.
func (q *Queue) SchedulingCycle() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.schedulingCycle
}

// Done ends the attempt on a popped pod.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, key)
}

// AddUnschedulable re-queues a popped pod that fit no node in the cycle podCycle: it
// waits among the unschedulable pods for a cluster change, or, if a change happened
// since the cycle began, in backoff.
func (q *Queue) AddUnschedulable(p *QueuedPod, podCycle int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p.Pod == nil || q.find(p.Key) != nil {
		return // deleted meanwhile, or re-added by an update
	}
	p.Timestamp = q.now()
	if q.moveCycle >= podCycle {
		heap.Push(&q.backoff, p)
	} else {
		q.unschedulable[p.Key] = p
	}
	q.notify()
}

// AddBackoff re-queues a popped pod whose attempt failed with an error (a failed
// binding): it is retried once its backoff expires.
func (q *Queue) AddBackoff(p *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p.Pod == nil || q.find(p.Key) != nil {
		return
	}
	p.Timestamp = q.now()
	heap.Push(&q.backoff, p)
	q.notify()
}

// MoveAllToActiveOrBackoff is called on a cluster change that may make unschedulable
// pods fit: they are retried, after their backoff.
func (q *Queue) MoveAllToActiveOrBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for key, p := range q.unschedulable {
		delete(q.unschedulable, key)
		q.requeueLocked(p)
	}
	q.moveCycle = q.schedulingCycle
	q.notify()
}

// Stats returns the current lengths.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats()
}

// Flush moves pods whose backoff expired to active, and pods unschedulable for longer
// than MaxInUnschedulable back to the queues. Run calls it periodically.
func (q *Queue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	moved := false
	for q.backoff.Len() > 0 && !now.Before(q.backoffExpiry(q.backoff.items[0])) {
		heap.Push(&q.active, heap.Pop(&q.backoff))
		moved = true
	}
	for key, p := range q.unschedulable {
		if now.Sub(p.Timestamp) > q.MaxInUnschedulable {
			delete(q.unschedulable, key)
			q.requeueLocked(p)
			moved = true
		}
	}
	if moved {
		q.cond.Broadcast()
		q.notify()
	}
}

// Run flushes the backoff queue every second until ctx ends, then closes the queue.
func (q *Queue) Run(ctx context.Context) {
	t := time.NewTicker(backoffFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-t.C:
			q.Flush()
		}
	}
}

// Close wakes Pop callers, which return nil.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// podHeap is a heap of pods with an index by key.
type podHeap struct {
	items []*QueuedPod
	keys  map[string]*QueuedPod
	less  func(a, b *QueuedPod) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}

func (h *podHeap) Push(x any) {
	p := x.(*QueuedPod)
	if h.keys == nil {
		h.keys = map[string]*QueuedPod{}
	}
	p.index = len(h.items)
	h.items = append(h.items, p)
	h.keys[p.Key] = p
}

func (h *podHeap) Pop() any {
	n := len(h.items) - 1
	p := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	delete(h.keys, p.Key)
	return p
}

func (h *podHeap) byKey(key string) *QueuedPod { return h.keys[key] }

func (h *podHeap) remove(key string) {
	if p := h.keys[key]; p != nil {
		heap.Remove(h, p.index)
	}
}

// MoveIf is MoveAllToActiveOrBackoff for the unschedulable pods pred selects (an
// assigned pod was added: only pods waiting for pods may fit now).
func (q *Queue) MoveIf(pred func(*corev1.Pod) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.unschedulable) == 0 {
		return
	}
	moved := false
	for key, p := range q.unschedulable {
		if pred(p.Pod) {
			delete(q.unschedulable, key)
			q.requeueLocked(p)
			moved = true
		}
	}
	if moved {
		q.notify()
	}
}
