package interpodaffinity_test

import (
	"slices"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/interpodaffinity"
)

func term(topologyKey string, kv ...string) *corev1.PodAffinityTerm {
	ml := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		ml[kv[i]] = kv[i+1]
	}
	return &corev1.PodAffinityTerm{TopologyKey: topologyKey, LabelSelector: &metav1.LabelSelector{MatchLabels: ml}}
}

func podAffinity(t *corev1.PodAffinityTerm) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{t}}}
	}
}

func podAntiAffinity(t *corev1.PodAffinityTerm) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{t}}}
	}
}

func TestInterPodAffinityFilter(t *testing.T) {
	p, _ := interpodaffinity.New(framework.Handle{})
	zone := func(z string) func(*corev1.Node) { return fake.Labels("zone", z) }
	db := fake.Pod("db", "", "", fake.PodLabels("app", "db"))
	otherNS := fake.Pod("db2", "", "", fake.PodLabels("app", "db"), func(p *corev1.Pod) { p.Metadata.Namespace = "other" })
	antiWeb := fake.Pod("lonely", "", "", fake.PodLabels("app", "cache"), podAntiAffinity(term("kubernetes.io/hostname", "app", "web")))
	nodes := func(onA ...*corev1.Pod) []*framework.NodeInfo {
		return []*framework.NodeInfo{
			fake.NodeInfo(fake.Node("a", "1", "1Gi", zone("z1")), onA...),
			fake.NodeInfo(fake.Node("b", "1", "1Gi", zone("z1"))),
			fake.NodeInfo(fake.Node("c", "1", "1Gi", zone("z2"))),
		}
	}
	const (
		aff      = interpodaffinity.ErrReasonAffinity
		anti     = interpodaffinity.ErrReasonAntiAffinity
		existing = interpodaffinity.ErrReasonExistingAntiAffinity
	)
	for _, c := range []struct {
		name  string
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []string
	}{
		{"no affinity", fake.Pod("p", "", ""), nodes(db), []string{"", "", ""}},
		{"affinity by hostname", fake.Pod("p", "", "", podAffinity(term("kubernetes.io/hostname", "app", "db"))), nodes(db), []string{"", aff, aff}},
		{"affinity by zone", fake.Pod("p", "", "", podAffinity(term("zone", "app", "db"))), nodes(db), []string{"", "", aff}},
		{"affinity, no matching pod anywhere", fake.Pod("p", "", "", podAffinity(term("zone", "app", "db"))), nodes(), []string{aff, aff, aff}},
		{"affinity selecting itself, first of its group", fake.Pod("p", "", "", fake.PodLabels("app", "db"), podAffinity(term("zone", "app", "db"))), nodes(), []string{"", "", ""}},
		{"affinity, matching pod in another namespace", fake.Pod("p", "", "", podAffinity(term("zone", "app", "db"))), nodes(otherNS), []string{aff, aff, aff}},
		{"affinity, namespaces listed", fake.Pod("p", "", "", podAffinity(func() *corev1.PodAffinityTerm {
			t := term("zone", "app", "db")
			t.Namespaces = []string{"other"}
			return t
		}())), nodes(otherNS), []string{"", "", aff}},
		{"affinity, all namespaces", fake.Pod("p", "", "", podAffinity(func() *corev1.PodAffinityTerm {
			t := term("kubernetes.io/hostname", "app", "db")
			t.NamespaceSelector = &metav1.LabelSelector{}
			return t
		}())), nodes(otherNS), []string{"", aff, aff}},
		{"anti-affinity by hostname", fake.Pod("p", "", "", podAntiAffinity(term("kubernetes.io/hostname", "app", "db"))), nodes(db), []string{anti, "", ""}},
		{"anti-affinity by zone", fake.Pod("p", "", "", podAntiAffinity(term("zone", "app", "db"))), nodes(db), []string{anti, anti, ""}},
		{"anti-affinity, nothing matches", fake.Pod("p", "", "", podAntiAffinity(term("zone", "app", "other"))), nodes(db), []string{"", "", ""}},
		{"existing pod's anti-affinity selects us", fake.Pod("p", "", "", fake.PodLabels("app", "web")), nodes(antiWeb), []string{existing, "", ""}},
		{"existing pod's anti-affinity does not select us", fake.Pod("p", "", "", fake.PodLabels("app", "api")), nodes(antiWeb), []string{"", "", ""}},
		{"topology key missing on nodes", fake.Pod("p", "", "", podAffinity(term("rack", "app", "db"))), nodes(db), []string{aff, aff, aff}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := fake.Filter(t, p, c.pod, c.nodes...)
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("reasons %q, want %q", got, c.want)
					break
				}
			}
		})
	}
}

func TestInterPodAffinityScore(t *testing.T) {
	p, _ := interpodaffinity.New(framework.Handle{})
	preferred := func(anti bool, weight int32, tm *corev1.PodAffinityTerm) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			w := []*corev1.WeightedPodAffinityTerm{{Weight: weight, PodAffinityTerm: tm}}
			if anti {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: w}}
			} else {
				p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: w}}
			}
		}
	}
	db := fake.Pod("db", "", "", fake.PodLabels("app", "db"))
	likesWeb := fake.Pod("fan", "", "", fake.PodLabels("app", "fan"), preferred(false, 50, term("kubernetes.io/hostname", "app", "web")))
	nodes := func(onA ...*corev1.Pod) []*framework.NodeInfo {
		return []*framework.NodeInfo{
			fake.NodeInfo(fake.Node("a", "1", "1Gi"), onA...),
			fake.NodeInfo(fake.Node("b", "1", "1Gi")),
		}
	}
	for _, c := range []struct {
		name  string
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		{"nothing preferred", fake.Pod("p", "", ""), nodes(db), []int64{0, 0}},
		{"preferred affinity", fake.Pod("p", "", "", preferred(false, 10, term("kubernetes.io/hostname", "app", "db"))), nodes(db), []int64{100, 0}},
		{"preferred anti-affinity", fake.Pod("p", "", "", preferred(true, 10, term("kubernetes.io/hostname", "app", "db"))), nodes(db), []int64{0, 100}},
		{"existing pod prefers us (symmetry)", fake.Pod("p", "", "", fake.PodLabels("app", "web")), nodes(likesWeb), []int64{100, 0}},
		{"existing pod prefers others", fake.Pod("p", "", "", fake.PodLabels("app", "api")), nodes(likesWeb), []int64{0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fake.Scores(t, p, c.pod, c.nodes...); !slices.Equal(got, c.want) {
				t.Errorf("scores %v, want %v", got, c.want)
			}
		})
	}
}
