// Package allocator hands out ClusterIPs and NodePorts without duplicates, also across
// several apiservers: every allocated item is an etcd key created in a transaction that
// succeeds only when the key does not exist yet (design.md §6). An in-memory view of the
// used items picks candidates without a round trip per try; etcd has the last word.
package allocator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrFull is returned when every item of the range is taken.
var ErrFull = errors.New("range is full")

// ErrAllocated is returned when a requested item is already taken.
var ErrAllocated = errors.New("provided item is already allocated")

// ErrNotInRange is returned when a requested item lies outside the range.
var ErrNotInRange = errors.New("provided item is not in the valid range")

// rangeAllocator is the shared core: items are offsets 0..size-1 of a range, each kept as
// the key prefix+name(offset) in etcd with the owner as value.
type rangeAllocator struct {
	client *clientv3.Client
	prefix string
	size   int
	name   func(offset int) string
	parse  func(name string) (int, bool)

	mu   sync.Mutex
	used map[int]bool
}

// load reads the items already allocated (at start, and after a conflict shows the view
// is stale).
func (r *rangeAllocator) load(ctx context.Context) error {
	resp, err := r.client.Get(ctx, r.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return fmt.Errorf("loading allocations under %s: %w", r.prefix, err)
	}
	used := make(map[int]bool, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if off, ok := r.parse(strings.TrimPrefix(string(kv.Key), r.prefix)); ok {
			used[off] = true
		}
	}
	r.mu.Lock()
	r.used = used
	r.mu.Unlock()
	return nil
}

// claim creates the key of offset atomically; false when someone holds it.
func (r *rangeAllocator) claim(ctx context.Context, offset int, owner string) (bool, error) {
	key := r.prefix + r.name(offset)
	resp, err := r.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, owner)).
		Commit()
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	r.used[offset] = true
	r.mu.Unlock()
	return resp.Succeeded, nil
}

func (r *rangeAllocator) allocate(ctx context.Context, offset int, owner string) error {
	ok, err := r.claim(ctx, offset, owner)
	if err != nil {
		return err
	}
	if !ok {
		return ErrAllocated
	}
	return nil
}

// allocateNext picks a random free offset, walking forward from a random start so
// concurrent creates rarely race for the same item.
func (r *rangeAllocator) allocateNext(ctx context.Context, owner string) (int, error) {
	for attempt := 0; attempt < 3; attempt++ {
		start := rand.IntN(r.size)
		for i := 0; i < r.size; i++ {
			off := (start + i) % r.size
			r.mu.Lock()
			taken := r.used[off]
			if !taken {
				// Reserve in memory so concurrent callers in this process skip it.
				r.used[off] = true
			}
			r.mu.Unlock()
			if taken {
				continue
			}
			ok, err := r.claim(ctx, off, owner)
			if err != nil {
				r.forget(off)
				return 0, err
			}
			if ok {
				return off, nil
			}
		}
		// The in-memory view said full: another apiserver may have released items.
		if err := r.load(ctx); err != nil {
			return 0, err
		}
	}
	return 0, ErrFull
}

func (r *rangeAllocator) forget(offset int) {
	r.mu.Lock()
	delete(r.used, offset)
	r.mu.Unlock()
}

func (r *rangeAllocator) release(ctx context.Context, offset int) error {
	_, err := r.client.Delete(ctx, r.prefix+r.name(offset))
	if err == nil {
		r.forget(offset)
	}
	return err
}

func (r *rangeAllocator) isUsed(offset int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.used[offset]
}
