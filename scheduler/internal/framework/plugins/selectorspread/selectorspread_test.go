package selectorspread_test

import (
	"slices"
	"testing"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/informer"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/selectorspread"
)

func TestSelectorSpreadScore(t *testing.T) {
	svcs := informer.NewStore[*corev1.Service]()
	svcs.Add(&corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: &corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}})
	rss := informer.NewStore[*appsv1.ReplicaSet]()
	rss.Add(&appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Name: "api", Namespace: "default"},
		Spec: &appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}}})
	rcs := informer.NewStore[*corev1.ReplicationController]()
	rcs.Add(&corev1.ReplicationController{Metadata: &metav1.ObjectMeta{Name: "old", Namespace: "default"},
		Spec: &corev1.ReplicationControllerSpec{Selector: map[string]string{"app": "old"}}})
	p, _ := selectorspread.New(framework.Handle{Listers: framework.Listers{Services: svcs, ReplicaSets: rss, ReplicationControllers: rcs}})
	truth := true
	owner := func(uid string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Metadata.OwnerReferences = []*metav1.OwnerReference{{Kind: "ReplicaSet", Name: "x", Uid: uid, Controller: &truth}}
		}
	}
	web := func(name string) *corev1.Pod { return fake.Pod(name, "", "", fake.PodLabels("app", "web")) }
	api := func(name string) *corev1.Pod { return fake.Pod(name, "", "", fake.PodLabels("app", "api")) }
	old := func(name string) *corev1.Pod { return fake.Pod(name, "", "", fake.PodLabels("app", "old")) }
	zoned := func(name, z string, pods ...*corev1.Pod) *framework.NodeInfo {
		return fake.NodeInfo(fake.Node(name, "1", "1Gi", fake.Labels("topology.kubernetes.io/zone", z)), pods...)
	}
	for _, c := range []struct {
		name  string
		pod   *corev1.Pod
		nodes []*framework.NodeInfo
		want  []int64
	}{
		{"no selectors, no owner", fake.Pod("p", "", ""), []*framework.NodeInfo{
			fake.NodeInfo(fake.Node("a", "1", "1Gi"), web("w1")), fake.NodeInfo(fake.Node("b", "1", "1Gi"))}, []int64{0, 0}},
		{"service: fewer matching pods score higher", web("new"), []*framework.NodeInfo{
			fake.NodeInfo(fake.Node("a", "1", "1Gi"), web("w1"), web("w2")), fake.NodeInfo(fake.Node("b", "1", "1Gi"), web("w3")),
			fake.NodeInfo(fake.Node("c", "1", "1Gi"), api("a1"))}, []int64{0, 50, 100}},
		{"replicaset selector", api("new"), []*framework.NodeInfo{
			fake.NodeInfo(fake.Node("a", "1", "1Gi"), api("a1")), fake.NodeInfo(fake.Node("b", "1", "1Gi"), web("w1"))}, []int64{0, 100}},
		{"replication controller selector", old("new"), []*framework.NodeInfo{
			fake.NodeInfo(fake.Node("a", "1", "1Gi"), old("o1")), fake.NodeInfo(fake.Node("b", "1", "1Gi"))}, []int64{0, 100}},
		{"other namespace does not count", web("new"), []*framework.NodeInfo{
			fake.NodeInfo(fake.Node("a", "1", "1Gi"), fake.Pod("w1", "", "", fake.PodLabels("app", "web"), func(p *corev1.Pod) { p.Metadata.Namespace = "x" })),
			fake.NodeInfo(fake.Node("b", "1", "1Gi"))}, []int64{100, 100}},
		{"same controller without a known owner object", fake.Pod("new", "", "", owner("u1")), []*framework.NodeInfo{
			fake.NodeInfo(fake.Node("a", "1", "1Gi"), fake.Pod("s1", "", "", owner("u1"))),
			fake.NodeInfo(fake.Node("b", "1", "1Gi"), fake.Pod("s2", "", "", owner("u2")))}, []int64{0, 100}},
		{"zones weigh 2/3", web("new"), []*framework.NodeInfo{
			zoned("a", "z1", web("w1")), zoned("b", "z1"), zoned("c", "z2")},
			// a: node 0, zone 0 -> 0; b: node 100, zone 0 -> 33; c: node 100, zone 100 -> 100.
			[]int64{0, 33, 100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fake.Scores(t, p, c.pod, c.nodes...); !slices.Equal(got, c.want) {
				t.Errorf("scores %v, want %v", got, c.want)
			}
		})
	}
}
