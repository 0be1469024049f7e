package fake

import (
	"context"
	"slices"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
)

// FilterCase is one row of a filter plugin's table: WantReason "" means the node fits.
type FilterCase struct {
	Name       string
	Pod        *corev1.Pod
	Node       *framework.NodeInfo
	WantReason string
}

// RunFilterTable runs p's PreFilter (if it has one, over the case's node) and Filter for
// every case.
func RunFilterTable(t *testing.T, p framework.Plugin, cases []FilterCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := Filter(t, p, c.Pod, c.Node)[0]
			if got != c.WantReason {
				t.Errorf("Filter = %q, want %q", got, c.WantReason)
			}
		})
	}
}

// Filter runs p's PreFilter (if any) over nodes, then Filter on each node, and returns
// each node's reasons ("" when it fits).
func Filter(t testing.TB, p framework.Plugin, pod *corev1.Pod, nodes ...*framework.NodeInfo) []string {
	t.Helper()
	ctx, state, pi := context.Background(), framework.NewCycleState(), framework.NewPodInfo(pod)
	if pf, ok := p.(framework.PreFilterPlugin); ok {
		if st := pf.PreFilter(ctx, state, pi, nodes); !st.IsSuccess() {
			t.Fatal(st.AsError())
		}
	}
	out := make([]string, len(nodes))
	for i, n := range nodes {
		st := p.(framework.FilterPlugin).Filter(ctx, state, pi, n)
		if !st.IsSuccess() && st.Message() == "" {
			t.Fatalf("node %s rejected without a reason", n.Name)
		}
		out[i] = st.Message()
	}
	return out
}

// Scores runs p's PreScore (if any), Score on each node and NormalizeScore (if any).
func Scores(t testing.TB, p framework.Plugin, pod *corev1.Pod, nodes ...*framework.NodeInfo) []int64 {
	t.Helper()
	ctx, state, pi := context.Background(), framework.NewCycleState(), framework.NewPodInfo(pod)
	if ps, ok := p.(framework.PreScorePlugin); ok {
		if st := ps.PreScore(ctx, state, pi, nodes, nodes); !st.IsSuccess() {
			t.Fatal(st.AsError())
		}
	}
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		v, st := p.(framework.ScorePlugin).Score(ctx, state, pi, n)
		if !st.IsSuccess() {
			t.Fatal(st.AsError())
		}
		out[i] = v
	}
	if np, ok := p.(framework.NormalizeScorePlugin); ok {
		if st := np.NormalizeScore(ctx, state, pi, nodes, out); !st.IsSuccess() {
			t.Fatal(st.AsError())
		}
	}
	return out
}

// ScoreCase is one row of a score plugin's table.
type ScoreCase struct {
	Name  string
	Pod   *corev1.Pod
	Nodes []*framework.NodeInfo
	Want  []int64
}

// RunScoreTable runs Scores for every case.
func RunScoreTable(t *testing.T, p framework.Plugin, cases []ScoreCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if got := Scores(t, p, c.Pod, c.Nodes...); !slices.Equal(got, c.Want) {
				t.Errorf("scores %v, want %v", got, c.Want)
			}
		})
	}
}

// Tolerate adds a toleration.
func Tolerate(key, op, value, effect string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, &corev1.Toleration{Key: key, Operator: op, Value: value, Effect: effect})
	}
}
