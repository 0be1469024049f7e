package allocator

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

type clientV3 = *clientv3.Client

// Ports allocates NodePorts out of --service-node-port-range.
type Ports struct {
	r          *rangeAllocator
	base, last int
}

// ParsePortRange parses "30000-32767" (or a single port).
func ParsePortRange(s string) (base, last int, err error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		hi = lo
	}
	base, err1 := strconv.Atoi(strings.TrimSpace(lo))
	last, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || base < 1 || last > 65535 || base > last {
		return 0, 0, fmt.Errorf("invalid port range %q: want FROM-TO within 1-65535, e.g. 30000-32767", s)
	}
	return base, last, nil
}

// NewPorts loads the allocations of the range kept in etcd.
func NewPorts(ctx context.Context, client clientV3, portRange string) (*Ports, error) {
	base, last, err := ParsePortRange(portRange)
	if err != nil {
		return nil, fmt.Errorf("--service-node-port-range: %v", err)
	}
	p := &Ports{base: base, last: last}
	p.r = &rangeAllocator{
		client: client, prefix: "/registry/ranges/servicenodeports/", size: last - base + 1,
		name: func(off int) string { return strconv.Itoa(base + off) },
		parse: func(name string) (int, bool) {
			n, err := strconv.Atoi(name)
			return n - base, err == nil && n >= base && n <= last
		},
	}
	return p, p.r.load(ctx)
}

// Range is the configured range as "FROM-TO".
func (p *Ports) Range() string { return fmt.Sprintf("%d-%d", p.base, p.last) }

// Allocate claims a requested port.
func (p *Ports) Allocate(ctx context.Context, port int, owner string) error {
	if port < p.base || port > p.last {
		return ErrNotInRange
	}
	return p.r.allocate(ctx, port-p.base, owner)
}

// AllocateNext claims any free port.
func (p *Ports) AllocateNext(ctx context.Context, owner string) (int, error) {
	off, err := p.r.allocateNext(ctx, owner)
	return p.base + off, err
}

// Release frees port; ports outside the range are ignored.
func (p *Ports) Release(ctx context.Context, port int) error {
	if port < p.base || port > p.last {
		return nil
	}
	return p.r.release(ctx, port-p.base)
}
