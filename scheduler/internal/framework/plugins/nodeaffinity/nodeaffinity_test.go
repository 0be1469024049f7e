package nodeaffinity_test

import (
	"slices"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/nodeaffinity"
)

func req(key, op string, vals ...string) *corev1.NodeSelectorRequirement {
	return &corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: vals}
}

// required sets required node affinity: terms ORed, each the given requirements ANDed.
func required(terms ...[]*corev1.NodeSelectorRequirement) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		ns := &corev1.NodeSelector{}
		for _, reqs := range terms {
			ns.NodeSelectorTerms = append(ns.NodeSelectorTerms, &corev1.NodeSelectorTerm{MatchExpressions: reqs})
		}
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: ns}}
	}
}

func terms(r ...*corev1.NodeSelectorRequirement) []*corev1.NodeSelectorRequirement { return r }

func TestNodeAffinityFilter(t *testing.T) {
	p, _ := nodeaffinity.New(framework.Handle{})
	n := fake.NodeInfo(fake.Node("node-1", "1", "1Gi", fake.Labels("disk", "ssd", "zone", "a", "cores", "8")))
	bad := nodeaffinity.ErrReason
	selector := func(kv ...string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				p.Spec.NodeSelector[kv[i]] = kv[i+1]
			}
		}
	}
	byName := func(name string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchFields: []*corev1.NodeSelectorRequirement{req("metadata.name", "In", name)}}}}}}
		}
	}
	fake.RunFilterTable(t, p, []fake.FilterCase{
		{Name: "nothing asked", Pod: fake.Pod("p", "", ""), Node: n, WantReason: ""},
		{Name: "nodeSelector matches", Pod: fake.Pod("p", "", "", selector("disk", "ssd")), Node: n, WantReason: ""},
		{Name: "nodeSelector value differs", Pod: fake.Pod("p", "", "", selector("disk", "hdd")), Node: n, WantReason: bad},
		{Name: "nodeSelector key missing", Pod: fake.Pod("p", "", "", selector("gpu", "yes")), Node: n, WantReason: bad},
		{Name: "In", Pod: fake.Pod("p", "", "", required(terms(req("zone", "In", "a", "b")))), Node: n, WantReason: ""},
		{Name: "In, no match", Pod: fake.Pod("p", "", "", required(terms(req("zone", "In", "b")))), Node: n, WantReason: bad},
		{Name: "NotIn", Pod: fake.Pod("p", "", "", required(terms(req("zone", "NotIn", "b")))), Node: n, WantReason: ""},
		{Name: "NotIn, excluded", Pod: fake.Pod("p", "", "", required(terms(req("zone", "NotIn", "a")))), Node: n, WantReason: bad},
		{Name: "NotIn, key absent", Pod: fake.Pod("p", "", "", required(terms(req("gpu", "NotIn", "x")))), Node: n, WantReason: ""},
		{Name: "Exists", Pod: fake.Pod("p", "", "", required(terms(req("disk", "Exists")))), Node: n, WantReason: ""},
		{Name: "Exists, absent", Pod: fake.Pod("p", "", "", required(terms(req("gpu", "Exists")))), Node: n, WantReason: bad},
		{Name: "DoesNotExist", Pod: fake.Pod("p", "", "", required(terms(req("gpu", "DoesNotExist")))), Node: n, WantReason: ""},
		{Name: "DoesNotExist, present", Pod: fake.Pod("p", "", "", required(terms(req("disk", "DoesNotExist")))), Node: n, WantReason: bad},
		{Name: "Gt", Pod: fake.Pod("p", "", "", required(terms(req("cores", "Gt", "4")))), Node: n, WantReason: ""},
		{Name: "Gt, not greater", Pod: fake.Pod("p", "", "", required(terms(req("cores", "Gt", "8")))), Node: n, WantReason: bad},
		{Name: "Lt", Pod: fake.Pod("p", "", "", required(terms(req("cores", "Lt", "16")))), Node: n, WantReason: ""},
		{Name: "Lt, not a number", Pod: fake.Pod("p", "", "", required(terms(req("zone", "Lt", "16")))), Node: n, WantReason: bad},
		{Name: "requirements ANDed", Pod: fake.Pod("p", "", "", required(terms(req("zone", "In", "a"), req("disk", "In", "hdd")))), Node: n, WantReason: bad},
		{Name: "terms ORed", Pod: fake.Pod("p", "", "", required(terms(req("zone", "In", "b")), terms(req("disk", "In", "ssd")))), Node: n, WantReason: ""},
		{Name: "empty term matches nothing", Pod: fake.Pod("p", "", "", required(terms())), Node: n, WantReason: bad},
		{Name: "matchFields metadata.name", Pod: fake.Pod("p", "", "", byName("node-1")), Node: n, WantReason: ""},
		{Name: "matchFields other name", Pod: fake.Pod("p", "", "", byName("node-2")), Node: n, WantReason: bad},
		{Name: "nodeSelector and affinity both required", Pod: fake.Pod("p", "", "", selector("disk", "hdd"), required(terms(req("zone", "In", "a")))), Node: n, WantReason: bad},
	})
}

func TestNodeAffinityScore(t *testing.T) {
	p, _ := nodeaffinity.New(framework.Handle{})
	preferred := func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.PreferredSchedulingTerm{
			{Weight: 80, Preference: &corev1.NodeSelectorTerm{MatchExpressions: terms(req("zone", "In", "a"))}},
			{Weight: 20, Preference: &corev1.NodeSelectorTerm{MatchExpressions: terms(req("disk", "In", "ssd"))}},
		}}}
	}
	nodes := []*framework.NodeInfo{
		fake.NodeInfo(fake.Node("both", "1", "1Gi", fake.Labels("zone", "a", "disk", "ssd"))),
		fake.NodeInfo(fake.Node("zone", "1", "1Gi", fake.Labels("zone", "a"))),
		fake.NodeInfo(fake.Node("disk", "1", "1Gi", fake.Labels("disk", "ssd"))),
		fake.NodeInfo(fake.Node("none", "1", "1Gi")),
	}
	for _, c := range []struct {
		name string
		pod  *corev1.Pod
		want []int64
	}{
		{"weights summed and normalised", fake.Pod("p", "", "", preferred), []int64{100, 80, 20, 0}},
		{"no preferences", fake.Pod("p", "", ""), []int64{0, 0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fake.Scores(t, p, c.pod, nodes...); !slices.Equal(got, c.want) {
				t.Errorf("scores %v, want %v", got, c.want)
			}
		})
	}
}
