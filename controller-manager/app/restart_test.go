package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/controller-manager/app/options"
	cmtesting "kube5/controller-manager/app/testing"
	"kube5/controller-manager/internal/controller/controllertest"

	"google.golang.org/protobuf/proto"
)

// Killing the controller-manager mid-rollout, several times, and starting a new one
// converges to the same end state: one new ReplicaSet with every pod, no duplicate
// ReplicaSets or pods, and never more than replicas+maxSurge pods.
func TestRestartMidRollout(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	controllertest.FakeKubelet(ctx, cs, "default", 100*time.Millisecond, nil)
	startCM := func() *cmtesting.TestServer {
		return cmtesting.Start(t, s.URL, func(o *options.Options) { o.Controllers = []string{"deployment", "replicaset"} })
	}
	cm := startCM()
	d := &appsv1.Deployment{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &appsv1.DeploymentSpec{
			Replicas: proto.Int32(6),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "kube5/httpenv:1.0"}}},
			},
			Strategy: &appsv1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: metav1.FromInt(2), MaxUnavailable: metav1.FromInt(1),
			}},
		},
	}
	if _, err := cs.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	complete := func(image string) (bool, string) {
		d, err := cs.Deployments("default").Get(ctx, "web")
		if err != nil {
			return false, err.Error()
		}
		st := d.GetStatus()
		pods, _ := cs.Pods("default").List(ctx, client.ListOptions{LabelSelector: "app=web"})
		for _, p := range pods.Items {
			if p.GetSpec().GetContainers()[0].GetImage() != image {
				return false, "old pod " + p.GetMetadata().GetName()
			}
		}
		return st.GetObservedGeneration() == d.GetMetadata().GetGeneration() && st.GetUpdatedReplicas() == 6 &&
			st.GetAvailableReplicas() == 6 && st.GetReplicas() == 6 && len(pods.Items) == 6, fmt.Sprint(st, " pods ", len(pods.Items))
	}
	waitFor(t, 30*time.Second, "first rollout", func() (bool, string) { return complete("kube5/httpenv:1.0") })

	// Watch pods for the surge bound through every restart.
	w, err := cs.Pods("default").Watch(ctx, client.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	peak := make(chan int, 1)
	go func() {
		live, most := 0, 0
		for ev := range w.ResultChan() {
			switch ev.Type {
			case client.Added:
				live++
			case client.Deleted:
				live--
			}
			if live > 8 && live > most {
				rss, _ := cs.ReplicaSets("default").List(context.Background(), client.ListOptions{LabelSelector: "app=web"})
				for _, rs := range rss.Items {
					t.Logf("at %d pods (%s %s): rs %s spec %d status %d", live, ev.Type, ev.Object.GetMetadata().GetName(), rs.GetMetadata().GetName(), rs.GetSpec().GetReplicas(), rs.GetStatus().GetReplicas())
				}
			}
			most = max(most, live)
		}
		peak <- most
	}()

	for attempt := 0; ; attempt++ {
		cur, err := cs.Deployments("default").Get(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		cur.Spec.Template.Spec.Containers[0].Image = "kube5/httpenv:2.0"
		if _, err = cs.Deployments("default").Update(ctx, cur); err == nil {
			break
		}
		if !apierrors.IsConflict(err) || attempt > 20 {
			t.Fatal(err)
		}
	}
	// Kill at three points of the rollout: after the new ReplicaSet reached 1, 3, 5 pods.
	for _, at := range []int32{1, 3, 5} {
		waitFor(t, 30*time.Second, fmt.Sprintf("new replica set at %d", at), func() (bool, string) {
			rss, _ := cs.ReplicaSets("default").List(ctx, client.ListOptions{LabelSelector: "app=web"})
			for _, rs := range rss.Items {
				if rs.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage() == "kube5/httpenv:2.0" {
					return rs.GetStatus().GetReplicas() >= at, fmt.Sprint(rs.GetStatus())
				}
			}
			return false, "no new replica set yet"
		})
		if err := cm.Stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		cm = startCM()
	}
	waitFor(t, 60*time.Second, "rollout after restarts", func() (bool, string) { return complete("kube5/httpenv:2.0") })
	rss, _ := cs.ReplicaSets("default").List(ctx, client.ListOptions{LabelSelector: "app=web"})
	if len(rss.Items) != 2 {
		t.Fatalf("%d replica sets, want 2 (no duplicates)", len(rss.Items))
	}
	w.Stop()
	if most := <-peak; most > 8 {
		t.Fatalf("peak %d pods > replicas+maxSurge = 8", most)
	}
}
