package nodeipam

import (
	"net"
	"testing"
)

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCIDRSet(t *testing.T) {
	s, err := NewCIDRSet(mustCIDR(t, "10.244.0.0/16"), 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Occupy(mustCIDR(t, "10.244.1.0/24")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 3; i++ {
		c, err := s.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.String())
	}
	want := []string{"10.244.0.0/24", "10.244.2.0/24", "10.244.3.0/24"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"10.245.0.0/24", "10.244.0.0/25", "10.244.0.128/25"} {
		if err := s.Occupy(mustCIDR(t, bad)); err == nil {
			t.Errorf("Occupy(%s) accepted", bad)
		}
	}
	// Full, then a release makes room again.
	small, _ := NewCIDRSet(mustCIDR(t, "10.0.0.0/23"), 24)
	a, _ := small.Allocate()
	if _, err := small.Allocate(); err != nil {
		t.Fatal(err)
	}
	if _, err := small.Allocate(); err != ErrFull {
		t.Fatalf("err = %v, want ErrFull", err)
	}
	if err := small.Release(a); err != nil {
		t.Fatal(err)
	}
	if c, err := small.Allocate(); err != nil || c.String() != a.String() {
		t.Fatalf("after release got %v %v", c, err)
	}
	if _, err := NewCIDRSet(mustCIDR(t, "10.244.0.0/16"), 8); err == nil {
		t.Error("mask smaller than the cluster's accepted")
	}
	v6, err := NewCIDRSet(mustCIDR(t, "fd00::/48"), 64)
	if err != nil {
		t.Fatal(err)
	}
	v6.Allocate()
	if c, _ := v6.Allocate(); c.String() != "fd00:0:0:1::/64" {
		t.Errorf("v6 second = %s", c)
	}
}
