// Package fake is a conntrack.Interface for unit tests: it records the filters each
// Delete call was given.
package fake

import (
	"sync"

	"kube5/proxy/internal/conntrack"
)

// Conntrack is the fake. Set Err to make Delete fail (after recording).
type Conntrack struct {
	mu    sync.Mutex
	calls [][]conntrack.Filter
	Err   error
}

// Delete records the filters; it reports one deleted entry per filter.
func (c *Conntrack) Delete(filters []conntrack.Filter) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, append([]conntrack.Filter(nil), filters...))
	if c.Err != nil {
		return 0, c.Err
	}
	return len(filters), nil
}

// Calls returns the filters of every Delete call so far and forgets them.
func (c *Conntrack) Calls() [][]conntrack.Filter {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}
