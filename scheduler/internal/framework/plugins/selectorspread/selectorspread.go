// Package selectorspread is the SelectorSpread score, upstream's default spreading before
// topology spread constraints: pods selected by the same Services, ReplicationControllers
// and ReplicaSets as the incoming pod count against a node (and, when nodes carry zone
// labels, against its zone), so 3 replicas on 2 nodes land 2+1, never 3+0. A pod that
// none of those select but that has a controller ownerReference spreads with the pods of
// the same controller, so spreading holds before the informers have seen the owner.
package selectorspread

import (
	"context"
	"math"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/labels"
	"kube5/scheduler/internal/framework"
)

// Name is the plugin's name.
const Name = "SelectorSpread"

// zoneWeighting is the share of the score given to zone spreading when nodes have zones.
const zoneWeighting = 2.0 / 3.0

const stateKey = Name + "/prescore"

// Zone labels, the current one and the deprecated beta one.
var zoneLabels = []string{"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}

type preScoreState struct {
	selectors []labels.Selector
	ownerUID  string
}

// Plugin is the SelectorSpread plugin.
type Plugin struct {
	listers framework.Listers
}

// New is the plugin's Factory.
func New(h framework.Handle) (framework.Plugin, error) { return &Plugin{listers: h.Listers}, nil }

// Name returns Name.
func (*Plugin) Name() string { return Name }

// PreScore finds the selectors of the pod's Services, RCs and ReplicaSets.
func (p *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, _, _ []*framework.NodeInfo) *framework.Status {
	state.Write(stateKey, &preScoreState{selectors: p.selectors(pod.Pod), ownerUID: pod.ControllerUID})
	return nil
}

func (p *Plugin) selectors(pod *corev1.Pod) []labels.Selector {
	ns := pod.GetMetadata().GetNamespace()
	set := labels.Set(pod.GetMetadata().GetLabels())
	var out []labels.Selector
	if l := p.listers.Services; l != nil {
		for _, svc := range l.ByNamespace(ns, nil) {
			if sel := svc.GetSpec().GetSelector(); len(sel) > 0 {
				if s := labels.SelectorFromSet(sel); s.Matches(set) {
					out = append(out, s)
				}
			}
		}
	}
	if l := p.listers.ReplicationControllers; l != nil {
		for _, rc := range l.ByNamespace(ns, nil) {
			if sel := rc.GetSpec().GetSelector(); len(sel) > 0 {
				if s := labels.SelectorFromSet(sel); s.Matches(set) {
					out = append(out, s)
				}
			}
		}
	}
	if l := p.listers.ReplicaSets; l != nil {
		for _, rs := range l.ByNamespace(ns, nil) {
			s, err := labels.SelectorFromLabelSelector(rs.GetSpec().GetSelector())
			if err == nil && !s.Empty() && s.Matches(set) {
				out = append(out, s)
			}
		}
	}
	return out
}

func (s *preScoreState) matches(ns string, other *framework.PodInfo) bool {
	if other.Namespace != ns {
		return false
	}
	if len(s.selectors) == 0 {
		if s.ownerUID == "" || other.ControllerUID != s.ownerUID {
			return false
		}
	}
	om := other.Pod.GetMetadata()
	if om.GetDeletionTimestamp() != nil {
		return false
	}
	if len(s.selectors) == 0 {
		return true
	}
	set := labels.Set(om.GetLabels())
	for _, sel := range s.selectors {
		if !sel.Matches(set) {
			return false
		}
	}
	return true
}

// Score counts the matching pods on the node.
func (p *Plugin) Score(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	s, _ := state.Read(stateKey).(*preScoreState)
	if s == nil || (len(s.selectors) == 0 && s.ownerUID == "") {
		return 0, nil
	}
	var n int64
	for _, other := range node.Pods {
		if other.Key != pod.Key && s.matches(pod.Namespace, other) {
			n++
		}
	}
	return n, nil
}

func zoneOf(n *framework.NodeInfo) string {
	lbls := n.Labels()
	for _, k := range zoneLabels {
		if z := lbls[k]; z != "" {
			return z
		}
	}
	return ""
}

// NormalizeScore turns counts into 100 * (max - count) / max, blended with the same by
// zone when the nodes have zones.
func (p *Plugin) NormalizeScore(_ context.Context, state *framework.CycleState, _ *framework.PodInfo, nodes []*framework.NodeInfo, scores []int64) *framework.Status {
	s, _ := state.Read(stateKey).(*preScoreState)
	if s == nil || (len(s.selectors) == 0 && s.ownerUID == "") {
		return nil
	}
	var maxNode, maxZone int64
	zones := map[string]int64{}
	nodeZone := make([]string, len(nodes))
	for i, n := range nodes {
		maxNode = max(maxNode, scores[i])
		if z := zoneOf(n); z != "" {
			nodeZone[i] = z
			zones[z] += scores[i]
		}
	}
	for _, c := range zones {
		maxZone = max(maxZone, c)
	}
	for i := range nodes {
		f := float64(framework.MaxNodeScore)
		if maxNode > 0 {
			f = float64(framework.MaxNodeScore) * float64(maxNode-scores[i]) / float64(maxNode)
		}
		if len(zones) > 0 {
			zf := float64(framework.MaxNodeScore)
			if z := nodeZone[i]; z != "" && maxZone > 0 {
				zf = float64(framework.MaxNodeScore) * float64(maxZone-zones[z]) / float64(maxZone)
			}
			f = f*(1-zoneWeighting) + zf*zoneWeighting
		}
		scores[i] = int64(math.Round(f))
	}
	return nil
}
