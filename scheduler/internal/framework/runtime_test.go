package framework

import (
	"slices"
	"sync/atomic"
	"testing"
)

func TestParallelizeVisitsEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 1000, 5001} {
		seen := make([]atomic.Int32, n)
		Parallelize(4, n, func(i int) { seen[i].Add(1) })
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, seen[i].Load())
			}
		}
	}
}

func TestMinMaxNormalize(t *testing.T) {
	for _, c := range []struct {
		in      []int64
		reverse bool
		want    []int64
	}{
		{[]int64{0, 5, 10}, false, []int64{0, 50, 100}},
		{[]int64{0, 5, 10}, true, []int64{100, 50, 0}},
		{[]int64{0, 0}, false, []int64{0, 0}},
		{[]int64{0, 0}, true, []int64{100, 100}},
	} {
		got := slices.Clone(c.in)
		MinMaxNormalize(got, c.reverse)
		if !slices.Equal(got, c.want) {
			t.Errorf("%v reverse=%v: %v, want %v", c.in, c.reverse, got, c.want)
		}
	}
}

func TestPodRequests(t *testing.T) {
	// Effective request: max(sum of containers, largest init container), per resource;
	// scoring counts 100m/200Mi for containers that request nothing.
	pi := NewPodInfo(podWith([]string{"100m", ""}, []string{"300m"}))
	if pi.Requests.MilliCPU != 300 || pi.NonZero.MilliCPU != 300 || pi.NonZero.Memory != 2*DefaultMemoryRequest {
		t.Errorf("requests %+v nonzero %+v", pi.Requests, pi.NonZero)
	}
}
