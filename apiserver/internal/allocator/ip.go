package allocator

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
)

// IPs allocates ClusterIPs out of --service-cluster-ip-range. As upstream, the network
// address and (for IPv4) the broadcast address are never handed out.
type IPs struct {
	r      *rangeAllocator
	prefix netip.Prefix
	base   netip.Addr // first allocatable address
}

// NewIPs loads the allocations of cidr kept in etcd.
func NewIPs(ctx context.Context, client clientV3, cidr string) (*IPs, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("invalid --service-cluster-ip-range %q: %v", cidr, err)
	}
	p = p.Masked()
	bits := p.Addr().BitLen() - p.Bits()
	if bits < 2 {
		return nil, fmt.Errorf("--service-cluster-ip-range %s is too small: it needs at least 2 usable addresses", cidr)
	}
	size := 1 << min(bits, 20) // cap the range at ~1M addresses, as upstream caps the bitmap
	size -= 2                  // network and broadcast
	a := &IPs{prefix: p, base: p.Addr().Next()}
	a.r = &rangeAllocator{
		client: client, prefix: "/registry/ranges/serviceips/", size: size,
		name: func(off int) string { return a.addr(off).String() },
		parse: func(name string) (int, bool) {
			ip, err := netip.ParseAddr(name)
			if err != nil {
				return 0, false
			}
			return a.offset(ip)
		},
	}
	return a, a.r.load(ctx)
}

// CIDR is the range, as configured.
func (a *IPs) CIDR() netip.Prefix { return a.prefix }

func (a *IPs) addr(off int) netip.Addr {
	v := new(big.Int).SetBytes(a.base.AsSlice())
	v.Add(v, big.NewInt(int64(off)))
	b := v.FillBytes(make([]byte, a.base.BitLen()/8))
	ip, _ := netip.AddrFromSlice(b)
	return ip
}

func (a *IPs) offset(ip netip.Addr) (int, bool) {
	if !a.prefix.Contains(ip) || ip.BitLen() != a.base.BitLen() {
		return 0, false
	}
	d := new(big.Int).Sub(new(big.Int).SetBytes(ip.AsSlice()), new(big.Int).SetBytes(a.base.AsSlice()))
	if d.Sign() < 0 || d.Cmp(big.NewInt(int64(a.r.size))) >= 0 {
		return 0, false
	}
	return int(d.Int64()), true
}

// Allocate claims a requested IP for owner ("namespace/name").
func (a *IPs) Allocate(ctx context.Context, ip string, owner string) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ErrNotInRange
	}
	off, ok := a.offset(addr)
	if !ok {
		return ErrNotInRange
	}
	return a.r.allocate(ctx, off, owner)
}

// AllocateNext claims any free IP.
func (a *IPs) AllocateNext(ctx context.Context, owner string) (string, error) {
	off, err := a.r.allocateNext(ctx, owner)
	if err != nil {
		return "", err
	}
	return a.addr(off).String(), nil
}

// Release frees ip; an IP outside the range (or "None") is ignored.
func (a *IPs) Release(ctx context.Context, ip string) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	off, ok := a.offset(addr)
	if !ok {
		return nil
	}
	return a.r.release(ctx, off)
}

// Has reports whether ip is allocated (as far as this apiserver knows).
func (a *IPs) Has(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	off, ok := a.offset(addr)
	return ok && a.r.isUsed(off)
}
