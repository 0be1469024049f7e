package framework

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Framework runs a profile's plugins for one scheduling cycle at a time.
type Framework struct {
	preFilter []PreFilterPlugin
	filter    []FilterPlugin
	preScore  []PreScorePlugin
	score     []ScorePlugin
	weights   []int64
	// Parallelism is how many goroutines filter and score nodes (default GOMAXPROCS).
	Parallelism int
}

// New builds the plugins of profile from registry. A plugin takes part in every
// extension point it implements; Weight applies to its score.
func New(registry Registry, profile []PluginConfig, h Handle) (*Framework, error) {
	f := &Framework{Parallelism: runtime.GOMAXPROCS(0)}
	for _, pc := range profile {
		factory, ok := registry[pc.Name]
		if !ok {
			return nil, fmt.Errorf("plugin %q is not registered", pc.Name)
		}
		p, err := factory(h)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: %w", pc.Name, err)
		}
		if x, ok := p.(PreFilterPlugin); ok {
			f.preFilter = append(f.preFilter, x)
		}
		if x, ok := p.(FilterPlugin); ok {
			f.filter = append(f.filter, x)
		}
		if x, ok := p.(PreScorePlugin); ok {
			f.preScore = append(f.preScore, x)
		}
		if x, ok := p.(ScorePlugin); ok {
			w := pc.Weight
			if w == 0 {
				w = 1
			}
			f.score = append(f.score, x)
			f.weights = append(f.weights, w)
		}
	}
	return f, nil
}

// RunPreFilter runs the PreFilter plugins; the first failure stops.
func (f *Framework) RunPreFilter(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status {
	for _, p := range f.preFilter {
		if s := p.PreFilter(ctx, state, pod, nodes); !s.IsSuccess() {
			s.Plugin = p.Name()
			return s
		}
	}
	return nil
}

// RunFilter runs the filters on one node; the first failure stops, as upstream, so a
// node reports one plugin's reasons.
func (f *Framework) RunFilter(ctx context.Context, state *CycleState, pod *PodInfo, node *NodeInfo) *Status {
	for _, p := range f.filter {
		if s := p.Filter(ctx, state, pod, node); !s.IsSuccess() {
			s.Plugin = p.Name()
			return s
		}
	}
	return nil
}

// RunPreScore runs the PreScore plugins.
func (f *Framework) RunPreScore(ctx context.Context, state *CycleState, pod *PodInfo, feasible, all []*NodeInfo) *Status {
	for _, p := range f.preScore {
		if s := p.PreScore(ctx, state, pod, feasible, all); !s.IsSuccess() {
			s.Plugin = p.Name()
			return s
		}
	}
	return nil
}

// RunScore scores nodes with every score plugin, normalises, weighs and sums:
// totals[i] belongs to nodes[i].
func (f *Framework) RunScore(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo) ([]int64, *Status) {
	perPlugin := make([][]int64, len(f.score))
	for i := range perPlugin {
		perPlugin[i] = make([]int64, len(nodes))
	}
	var failed atomic.Pointer[Status]
	Parallelize(f.Parallelism, len(nodes), func(n int) {
		for i, p := range f.score {
			v, s := p.Score(ctx, state, pod, nodes[n])
			if !s.IsSuccess() {
				s.Plugin = p.Name()
				failed.CompareAndSwap(nil, s)
				return
			}
			perPlugin[i][n] = v
		}
	})
	if s := failed.Load(); s != nil {
		return nil, s
	}
	totals := make([]int64, len(nodes))
	for i, p := range f.score {
		if np, ok := p.(NormalizeScorePlugin); ok {
			if s := np.NormalizeScore(ctx, state, pod, nodes, perPlugin[i]); !s.IsSuccess() {
				s.Plugin = p.Name()
				return nil, s
			}
		}
		for n, v := range perPlugin[i] {
			totals[n] += v * f.weights[i]
		}
	}
	return totals, nil
}

// Parallelize calls fn(i) for i in [0, n) from up to workers goroutines, in chunks so
// cheap calls are not dominated by synchronisation.
func Parallelize(workers, n int, fn func(i int)) {
	if workers <= 1 || n < 32 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	chunk := max(1, min(64, n/(workers*4)))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					fn(i)
				}
			}
		}()
	}
	wg.Wait()
}
