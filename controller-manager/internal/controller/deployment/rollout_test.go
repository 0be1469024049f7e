package deployment

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

func tmpl(image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: image}}},
	}
}

func dep(replicas int32, surge, unavailable *metav1.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{
		Metadata: &metav1.ObjectMeta{Name: "web"},
		Spec: &appsv1.DeploymentSpec{
			Replicas: proto.Int32(replicas), Template: tmpl("a"),
			Strategy: &appsv1.DeploymentStrategy{Type: RollingUpdateStrategy, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavailable}},
		},
	}
}

func rs(spec, status, available int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: "rs"},
		Spec:     &appsv1.ReplicaSetSpec{Replicas: proto.Int32(spec)},
		Status:   &appsv1.ReplicaSetStatus{Replicas: status, AvailableReplicas: available},
	}
}

func TestComputeHash(t *testing.T) {
	a, b := ComputeHash(tmpl("a"), nil), ComputeHash(tmpl("a"), nil)
	if a != b {
		t.Fatalf("hash not stable: %s %s", a, b)
	}
	if a == ComputeHash(tmpl("b"), nil) {
		t.Fatal("different templates, same hash")
	}
	if a == ComputeHash(tmpl("a"), proto.Int32(1)) {
		t.Fatal("collisionCount does not change the hash")
	}
	for _, c := range a {
		if !strings.ContainsRune(safeAlphabet, c) {
			t.Fatalf("hash %q has %q outside the safe alphabet", a, c)
		}
	}
}

func TestEqualIgnoreHash(t *testing.T) {
	withHash := tmpl("a")
	withHash.Metadata.Labels[PodTemplateHashLabel] = "abc"
	if !EqualIgnoreHash(withHash, tmpl("a")) {
		t.Fatal("templates differing only in the hash label must be equal")
	}
	if EqualIgnoreHash(withHash, tmpl("b")) {
		t.Fatal("different images must differ")
	}
	if withHash.Metadata.Labels[PodTemplateHashLabel] != "abc" {
		t.Fatal("EqualIgnoreHash modified its argument")
	}
}

func TestFenceposts(t *testing.T) {
	for _, tt := range []struct {
		replicas               int32
		surge, unavail         *metav1.IntOrString
		wantSurge, wantUnavail int32
	}{
		{4, nil, nil, 1, 1},                                         // 25%/25% defaults
		{10, nil, nil, 3, 2},                                        // surge rounds up, unavailable down
		{1, metav1.FromInt(0), metav1.FromInt(0), 0, 1},             // both zero would deadlock
		{3, metav1.FromString("0%"), metav1.FromString("0%"), 0, 1}, // likewise in percent
		{2, metav1.FromInt(5), metav1.FromInt(5), 5, 2},             // unavailable capped at replicas
	} {
		d := dep(tt.replicas, tt.surge, tt.unavail)
		if s, u := maxSurge(d), maxUnavailable(d); s != tt.wantSurge || u != tt.wantUnavail {
			t.Errorf("replicas %d surge %v unavailable %v: got %d/%d, want %d/%d", tt.replicas, tt.surge.AsString(), tt.unavail.AsString(), s, u, tt.wantSurge, tt.wantUnavail)
		}
	}
}

func TestNewRSNewReplicas(t *testing.T) {
	d := dep(4, metav1.FromInt(1), metav1.FromInt(1))
	for _, tt := range []struct {
		name     string
		old, new *appsv1.ReplicaSet
		want     int32
	}{
		{"surge room", rs(4, 4, 4), rs(0, 0, 0), 1},
		{"at the surge bound", rs(4, 4, 4), rs(1, 1, 0), 1},
		{"old scaled down but its pods not gone yet", rs(2, 4, 2), rs(1, 1, 1), 1},
		{"old pods gone", rs(2, 2, 2), rs(1, 1, 1), 3},
		{"never past replicas", rs(0, 0, 0), rs(3, 3, 3), 4},
	} {
		got, _ := newRSNewReplicas(d, []*appsv1.ReplicaSet{tt.old, tt.new}, tt.new)
		if got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestProportion(t *testing.T) {
	// An old ReplicaSet of 6, last sized for 10+3 surge = 13 pods, when the Deployment
	// goes to 20+3 = 23: it grows to round(6*23/13) = 11, i.e. by 5.
	d := dep(20, metav1.FromInt(3), metav1.FromInt(2))
	old := rs(6, 6, 6)
	old.Metadata.Annotations = map[string]string{MaxReplicasAnnotation: "13"}
	if p := proportion(old, d, 10, 0); p != 5 {
		t.Errorf("old share %d, want 5 (6*23/13 = 10.6 -> 11)", p)
	}
	if p := proportion(old, d, 3, 0); p != 3 {
		t.Errorf("share capped by what is left to add: %d, want 3", p)
	}
}
