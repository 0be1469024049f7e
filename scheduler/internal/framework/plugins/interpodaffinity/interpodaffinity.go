// Package interpodaffinity is the InterPodAffinity plugin: required pod affinity and
// anti-affinity by topologyKey (the incoming pod's terms, and existing pods' required
// anti-affinity terms that select the incoming pod) as a filter, and the preferred terms
// (both ways, plus existing pods' required affinity at weight 1) as a score.
package interpodaffinity

import (
	"context"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/labels"
	"kube5/scheduler/internal/framework"
)

// Name is the plugin's name.
const Name = "InterPodAffinity"

// Upstream's reasons.
const (
	ErrReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinity             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinity         = "node(s) didn't match pod anti-affinity rules"
)

// hardPodAffinityWeight is what an existing pod's required affinity term selecting the
// incoming pod adds to the score (upstream's default HardPodAffinityWeight).
const hardPodAffinityWeight = 1

const (
	preFilterKey = Name + "/prefilter"
	preScoreKey  = Name + "/prescore"
)

type pair struct{ key, value string }

type preFilterState struct {
	existingAnti map[pair]int // topology domains where an existing pod forbids the pod
	affinity     map[pair]int // domains holding pods matching all the pod's required affinity terms
	anti         map[pair]int // domains holding pods matching one of its required anti-affinity terms
}

// Plugin is the InterPodAffinity plugin.
type Plugin struct {
	nsLabels func(string) labels.Set
}

// New is the plugin's Factory.
func New(h framework.Handle) (framework.Plugin, error) {
	p := &Plugin{}
	if l := h.Listers.Namespaces; l != nil {
		p.nsLabels = func(ns string) labels.Set {
			n, ok := l.Get("", ns)
			if !ok {
				return nil
			}
			return n.GetMetadata().GetLabels()
		}
	}
	return p, nil
}

// Name returns Name.
func (*Plugin) Name() string { return Name }

func (p *Plugin) matches(t *framework.AffinityTerm, pod *corev1.Pod) bool {
	return t.Matches(pod, p.nsLabels)
}

// PreFilter counts, per topology domain, the pods that bear on the incoming pod's
// required terms. Only nodes holding pods with required anti-affinity are visited unless
// the incoming pod has required terms itself, so the common case costs one pass over
// the node list.
func (p *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo) *framework.Status {
	if pod.ParseErr != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "invalid pod affinity: "+pod.ParseErr.Error())
	}
	s := &preFilterState{existingAnti: map[pair]int{}, affinity: map[pair]int{}, anti: map[pair]int{}}
	own := len(pod.RequiredAffinity)+len(pod.RequiredAntiAffinity) > 0
	for _, n := range nodes {
		if n.PodsWithRequiredAntiAffinity == 0 && !own {
			continue
		}
		lbls := n.Labels()
		for _, existing := range n.Pods {
			for i := range existing.RequiredAntiAffinity {
				t := &existing.RequiredAntiAffinity[i]
				if v, ok := lbls[t.TopologyKey]; ok && p.matches(t, pod.Pod) {
					s.existingAnti[pair{t.TopologyKey, v}]++
				}
			}
			if !own {
				continue
			}
			if len(pod.RequiredAffinity) > 0 && p.matchesAll(pod.RequiredAffinity, existing.Pod) {
				for _, t := range pod.RequiredAffinity {
					if v, ok := lbls[t.TopologyKey]; ok {
						s.affinity[pair{t.TopologyKey, v}]++
					}
				}
			}
			for i := range pod.RequiredAntiAffinity {
				t := &pod.RequiredAntiAffinity[i]
				if v, ok := lbls[t.TopologyKey]; ok && p.matches(t, existing.Pod) {
					s.anti[pair{t.TopologyKey, v}]++
				}
			}
		}
	}
	state.Write(preFilterKey, s)
	return nil
}

func (p *Plugin) matchesAll(terms []framework.AffinityTerm, pod *corev1.Pod) bool {
	for i := range terms {
		if !p.matches(&terms[i], pod) {
			return false
		}
	}
	return true
}

// Filter applies the counts to one node.
func (p *Plugin) Filter(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	s, _ := state.Read(preFilterKey).(*preFilterState)
	if s == nil {
		return framework.AsStatus(errNoPreFilter)
	}
	lbls := node.Labels()
	for pr := range s.existingAnti {
		if v, ok := lbls[pr.key]; ok && v == pr.value {
			return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinity)
		}
	}
	for _, t := range pod.RequiredAntiAffinity {
		if v, ok := lbls[t.TopologyKey]; ok && s.anti[pair{t.TopologyKey, v}] > 0 {
			return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinity)
		}
	}
	if len(pod.RequiredAffinity) > 0 {
		ok := true
		for _, t := range pod.RequiredAffinity {
			v, has := lbls[t.TopologyKey]
			if !has || s.affinity[pair{t.TopologyKey, v}] == 0 {
				ok = false
				break
			}
		}
		// The first pod of a group that selects itself may go anywhere with the topology
		// keys, as upstream: otherwise no such pod could ever be scheduled.
		if !ok && len(s.affinity) == 0 && p.matchesAll(pod.RequiredAffinity, pod.Pod) && hasKeys(lbls, pod.RequiredAffinity) {
			ok = true
		}
		if !ok {
			return framework.NewStatus(framework.Unschedulable, ErrReasonAffinity)
		}
	}
	return nil
}

func hasKeys(lbls map[string]string, terms []framework.AffinityTerm) bool {
	for _, t := range terms {
		if _, ok := lbls[t.TopologyKey]; !ok {
			return false
		}
	}
	return true
}

// PreScore sums, per topology domain, the weights of preferred terms: the incoming
// pod's terms over existing pods, and existing pods' terms over the incoming pod.
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, _, all []*framework.NodeInfo) *framework.Status {
	scores := map[pair]int64{}
	own := len(pod.PreferredAffinity)+len(pod.PreferredAntiAffinity) > 0
	add := func(lbls map[string]string, t *framework.AffinityTerm, w int64) {
		if v, ok := lbls[t.TopologyKey]; ok {
			scores[pair{t.TopologyKey, v}] += w
		}
	}
	for _, n := range all {
		if n.PodsWithAffinity == 0 && !own {
			continue
		}
		lbls := n.Labels()
		for _, existing := range n.Pods {
			if own {
				for i := range pod.PreferredAffinity {
					if t := &pod.PreferredAffinity[i]; p.matches(t, existing.Pod) {
						add(lbls, t, int64(t.Weight))
					}
				}
				for i := range pod.PreferredAntiAffinity {
					if t := &pod.PreferredAntiAffinity[i]; p.matches(t, existing.Pod) {
						add(lbls, t, -int64(t.Weight))
					}
				}
			}
			if !existing.HasAffinity() {
				continue
			}
			for i := range existing.PreferredAffinity {
				if t := &existing.PreferredAffinity[i]; p.matches(t, pod.Pod) {
					add(lbls, t, int64(t.Weight))
				}
			}
			for i := range existing.PreferredAntiAffinity {
				if t := &existing.PreferredAntiAffinity[i]; p.matches(t, pod.Pod) {
					add(lbls, t, -int64(t.Weight))
				}
			}
			for i := range existing.RequiredAffinity {
				if t := &existing.RequiredAffinity[i]; p.matches(t, pod.Pod) {
					add(lbls, t, hardPodAffinityWeight)
				}
			}
		}
	}
	state.Write(preScoreKey, scores)
	return nil
}

// Score sums the weights of the domains the node belongs to.
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	scores, _ := state.Read(preScoreKey).(map[pair]int64)
	if len(scores) == 0 {
		return 0, nil
	}
	lbls := node.Labels()
	var sum int64
	for pr, w := range scores {
		if v, ok := lbls[pr.key]; ok && v == pr.value {
			sum += w
		}
	}
	return sum, nil
}

// NormalizeScore maps [min, max] onto [0, 100] (all equal: 0), as upstream.
func (p *Plugin) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *framework.PodInfo, _ []*framework.NodeInfo, scores []int64) *framework.Status {
	if len(scores) == 0 {
		return nil
	}
	lo, hi := scores[0], scores[0]
	for _, s := range scores {
		lo, hi = min(lo, s), max(hi, s)
	}
	for i, s := range scores {
		if hi > lo {
			scores[i] = framework.MaxNodeScore * (s - lo) / (hi - lo)
		} else {
			scores[i] = 0
		}
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoPreFilter = errString("InterPodAffinity: Filter called without PreFilter")
