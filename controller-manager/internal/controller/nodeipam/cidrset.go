package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net"
)

// ErrFull means every subnet of the cluster CIDR is taken.
var ErrFull = errors.New("no remaining CIDRs in the cluster CIDR")

// CIDRSet hands out the subnets of size /maskSize of a cluster CIDR, lowest free first
// after the last one given (upstream's cidrset), so a released subnet is not reused at
// once while its old node's routes may linger. Not safe for concurrent use.
type CIDRSet struct {
	base     *big.Int // the cluster network's first address
	bits     int      // 32 or 128
	maskSize int
	max      int // number of subnets
	used     map[int]bool
	next     int
}

// NewCIDRSet splits cluster into /maskSize subnets.
func NewCIDRSet(cluster *net.IPNet, maskSize int) (*CIDRSet, error) {
	ones, bits := cluster.Mask.Size()
	if maskSize < ones || maskSize > bits {
		return nil, fmt.Errorf("node CIDR mask size %d must be between the cluster CIDR's prefix %d and %d", maskSize, ones, bits)
	}
	if maskSize-ones > 20 {
		return nil, fmt.Errorf("node CIDR mask size %d is too large for the cluster CIDR /%d (at most %d subnets)", maskSize, ones, 1<<20)
	}
	ip := cluster.IP.To4()
	if ip == nil {
		ip = cluster.IP.To16()
	}
	return &CIDRSet{
		base: new(big.Int).SetBytes(ip.Mask(cluster.Mask)), bits: bits, maskSize: maskSize,
		max: 1 << (maskSize - ones), used: map[int]bool{},
	}, nil
}

func (s *CIDRSet) subnet(i int) *net.IPNet {
	off := new(big.Int).Lsh(big.NewInt(int64(i)), uint(s.bits-s.maskSize))
	v := new(big.Int).Add(s.base, off).Bytes()
	ip := make(net.IP, s.bits/8)
	copy(ip[len(ip)-len(v):], v)
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(s.maskSize, s.bits)}
}

// index returns the subnet number of cidr, or an error when it is not one of the set's.
func (s *CIDRSet) index(cidr *net.IPNet) (int, error) {
	ones, bits := cidr.Mask.Size()
	ip := cidr.IP.To4()
	if bits == 128 {
		ip = cidr.IP.To16()
	}
	if ones != s.maskSize || bits != s.bits || ip == nil {
		return 0, fmt.Errorf("%s is not a /%d of the cluster CIDR", cidr, s.maskSize)
	}
	off := new(big.Int).Sub(new(big.Int).SetBytes(ip), s.base)
	off.Rsh(off, uint(s.bits-s.maskSize))
	if off.Sign() < 0 || !off.IsInt64() || off.Int64() >= int64(s.max) {
		return 0, fmt.Errorf("%s is outside the cluster CIDR", cidr)
	}
	i := int(off.Int64())
	if !s.subnet(i).IP.Equal(ip) {
		return 0, fmt.Errorf("%s is not aligned to a /%d", cidr, s.maskSize)
	}
	return i, nil
}

// Allocate takes the next free subnet.
func (s *CIDRSet) Allocate() (*net.IPNet, error) {
	for k := 0; k < s.max; k++ {
		i := (s.next + k) % s.max
		if !s.used[i] {
			s.used[i] = true
			s.next = (i + 1) % s.max
			return s.subnet(i), nil
		}
	}
	return nil, ErrFull
}

// Occupy marks cidr as taken (a node that already has it).
func (s *CIDRSet) Occupy(cidr *net.IPNet) error {
	i, err := s.index(cidr)
	if err != nil {
		return err
	}
	s.used[i] = true
	return nil
}

// Release frees cidr.
func (s *CIDRSet) Release(cidr *net.IPNet) error {
	i, err := s.index(cidr)
	if err != nil {
		return err
	}
	delete(s.used, i)
	return nil
}
