package workqueue

import (
	"container/heap"
	"sync"
	"time"
)

// delayer holds items added with AddAfter until their time comes, then Adds them to the
// queue. One goroutine (loop) does the waiting; add registers under a lock, so once
// AddAfter returns the item is known to the delayer, whatever the loop is doing.
type delayer[T comparable] struct {
	q     *Queue[T]
	clock Clock

	mu      sync.Mutex
	waiting waitHeap[T]
	index   map[T]*waitEntry[T]
	stopped bool
	seq     uint64

	// wake tells the loop the earliest ready time may have changed; one pending wake is
	// enough, so it is buffered and sends never block.
	wake     chan struct{}
	stopCh   chan struct{}
	stopOnce sync.Once
}

type waitEntry[T comparable] struct {
	item    T
	readyAt time.Time
	seq     uint64 // ties broken by insertion order, so equal delays keep FIFO order
	pos     int
}

func newDelayer[T comparable](q *Queue[T], c Clock) *delayer[T] {
	return &delayer[T]{
		q:      q,
		clock:  c,
		index:  map[T]*waitEntry[T]{},
		wake:   make(chan struct{}, 1),
		stopCh: make(chan struct{}),
	}
}

func (d *delayer[T]) add(item T, readyAt time.Time) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	if e, ok := d.index[item]; ok {
		// Keep the earlier time: an item must never wait longer because it was added twice.
		if readyAt.Before(e.readyAt) {
			e.readyAt = readyAt
			heap.Fix(&d.waiting, e.pos)
		}
	} else {
		d.seq++
		e := &waitEntry[T]{item: item, readyAt: readyAt, seq: d.seq}
		heap.Push(&d.waiting, e)
		d.index[item] = e
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *delayer[T]) stop() {
	d.stopOnce.Do(func() {
		d.mu.Lock()
		d.stopped = true
		d.mu.Unlock()
		close(d.stopCh)
	})
}

// loop moves ready items to the queue and sleeps until the next one is due or add
// wakes it.
func (d *delayer[T]) loop() {
	for {
		d.mu.Lock()
		if d.stopped {
			d.mu.Unlock()
			return
		}
		now := d.clock.Now()
		var ready []T
		for len(d.waiting) > 0 && !d.waiting[0].readyAt.After(now) {
			e := heap.Pop(&d.waiting).(*waitEntry[T])
			delete(d.index, e.item)
			ready = append(ready, e.item)
		}
		var timer <-chan time.Time
		if len(d.waiting) > 0 {
			timer = d.clock.At(d.waiting[0].readyAt)
		}
		d.mu.Unlock()

		// Added outside d.mu so AddAfter callers are never held up behind the queue's lock.
		for _, item := range ready {
			d.q.Add(item)
		}

		select {
		case <-d.stopCh:
			return
		case <-timer:
		case <-d.wake:
		}
	}
}

// waitHeap orders entries by ready time, then by insertion.
type waitHeap[T comparable] []*waitEntry[T]

func (h waitHeap[T]) Len() int { return len(h) }
func (h waitHeap[T]) Less(i, j int) bool {
	if h[i].readyAt.Equal(h[j].readyAt) {
		return h[i].seq < h[j].seq
	}
	return h[i].readyAt.Before(h[j].readyAt)
}
func (h waitHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos = i
	h[j].pos = j
}
func (h *waitHeap[T]) Push(x any) {
	e := x.(*waitEntry[T])
	e.pos = len(*h)
	*h = append(*h, e)
}
func (h *waitHeap[T]) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}
