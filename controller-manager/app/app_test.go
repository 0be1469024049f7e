package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/controller-manager/app"
	"kube5/controller-manager/app/options"
	cmtesting "kube5/controller-manager/app/testing"
)

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func replicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &appsv1.ReplicaSetSpec{
			Replicas: proto.Int32(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: &corev1.PodTemplateSpec{
				Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}},
			},
		},
	}
}

func countPods(t *testing.T, cs *client.Clientset, sel string) int {
	t.Helper()
	l, err := cs.Pods("default").List(context.Background(), client.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

func TestIsEnabled(t *testing.T) {
	for _, tt := range []struct {
		list []string
		name string
		want bool
	}{
		{[]string{"*"}, "deployment", true},
		{[]string{"*", "-deployment"}, "deployment", false},
		{[]string{"*", "-deployment"}, "replicaset", true},
		{[]string{"replicaset"}, "deployment", false},
		{[]string{"replicaset"}, "replicaset", true},
		{nil, "replicaset", false},
	} {
		if got := app.IsEnabled(tt.name, tt.list); got != tt.want {
			t.Errorf("IsEnabled(%q, %v) = %v, want %v", tt.name, tt.list, got, tt.want)
		}
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	o := options.New()
	o.LeaseDuration = time.Second
	o.RenewDeadline = 2 * time.Second
	o.Controllers = []string{"*", "-nosuch"}
	o.Port = 70000
	o.Config.ClusterCIDR = "10.244.0.0/33"
	o.Complete()
	var msgs []string
	for _, err := range o.Validate(app.KnownControllers()) {
		msgs = append(msgs, err.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, flag := range []string{"--leader-elect-lease-duration", "--controllers", "--port", "--cluster-cidr"} {
		if !strings.Contains(all, flag) {
			t.Errorf("no error names %s:\n%s", flag, all)
		}
	}
	if errs := options.New().Validate(app.KnownControllers()); len(errs) > 0 {
		t.Errorf("defaults invalid: %v", errs)
	}
}

// Bad flags exit with 2 before anything starts.
func TestMainRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--master=http://127.0.0.1:1", "--controllers=nosuch"},
		{"--master=http://127.0.0.1:1", "--leader-elect-lease-duration=1s", "--leader-elect-renew-deadline=2s"},
		{"--no-such-flag"},
		{"--master=http://127.0.0.1:1", "--concurrent_rc_syncs=0"}, // upstream's spelling is accepted, and validated
	} {
		if code := app.Main(args); code != 2 {
			t.Errorf("Main(%v) = %d, want 2", args, code)
		}
	}
}

// Started while the apiserver is down, the controller-manager waits for it (serving
// /healthz meanwhile) and then works.
func TestWaitsForAPIServer(t *testing.T) {
	s := apiservertest.Start(t)
	s.Stop()
	port := apiservertest.FreePort(t)
	ts := cmtesting.Start(t, s.URL, func(o *options.Options) {
		o.Controllers = []string{"replicaset"}
		o.BindAddress, o.Port = "127.0.0.1", port
	})
	waitFor(t, 10*time.Second, "/healthz while the apiserver is down", func() (bool, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	select {
	case <-ts.Done():
		t.Fatalf("controller-manager exited while the apiserver was down: %v", ts.Err())
	default:
	}
	s.Restart(t)
	if _, err := s.Client.ReplicaSets("default").Create(context.Background(), replicaSet("late", 2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "pods once the apiserver is up", func() (bool, string) {
		n := countPods(t, s.Client, "app=late")
		return n == 2, fmt.Sprint(n)
	})
	if err := ts.Stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
}

// Two controller-managers with leader election: exactly one runs the controllers; when it
// dies without releasing the lease, the other takes over within the lease duration.
func TestLeaderElectionHandOver(t *testing.T) {
	s := apiservertest.Start(t)
	const lease = 2 * time.Second
	start := func(id string) *cmtesting.TestServer {
		return cmtesting.Start(t, s.URL, func(o *options.Options) {
			o.Controllers = []string{"replicaset"}
			o.LeaderElect = true
			o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = lease, time.Second, 200*time.Millisecond
			o.LeaderElectReleaseOnCancel = false // a crash does not release
			o.LeaderElectIdentity = id
		})
	}
	a, b := start("cm-a"), start("cm-b")
	var both atomic.Bool
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if a.Server.IsLeading() && b.Server.IsLeading() {
				both.Store(true)
			}
		}
	}()
	defer func() {
		close(stopSampling)
		<-sampled
		if both.Load() {
			t.Error("both controller-managers ran controllers at the same time")
		}
	}()
	var leader, standby *cmtesting.TestServer
	var standbyID string
	waitFor(t, 15*time.Second, "a leader", func() (bool, string) {
		switch {
		case a.Server.IsLeading():
			leader, standby, standbyID = a, b, "cm-b"
		case b.Server.IsLeading():
			leader, standby, standbyID = b, a, "cm-a"
		}
		return leader != nil, "none leading"
	})
	ctx := context.Background()
	if _, err := s.Client.ReplicaSets("default").Create(ctx, replicaSet("le", 2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the leader's pods", func() (bool, string) {
		n := countPods(t, s.Client, "app=le")
		return n == 2, fmt.Sprint(n)
	})
	if standby.Server.IsLeading() {
		t.Fatal("the standby leads too")
	}
	killed := time.Now()
	if err := leader.Stop(); err != nil {
		t.Fatalf("leader stop: %v", err)
	}
	waitFor(t, lease+5*time.Second, "the standby taking over", func() (bool, string) {
		return standby.Server.IsLeading(), "standby not leading"
	})
	t.Logf("hand-over took %v (lease %v)", time.Since(killed), lease)
	l, err := s.Client.Leases("kube-system").Get(ctx, "kube-controller-manager")
	if err != nil {
		t.Fatal(err)
	}
	if h := l.GetSpec().GetHolderIdentity(); h != standbyID {
		t.Fatalf("lease holder %q, want %q", h, standbyID)
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.Client.ReplicaSets("default").Get(ctx, "le")
		if err != nil {
			t.Fatal(err)
		}
		cur.Spec.Replicas = proto.Int32(3)
		if _, err = s.Client.ReplicaSets("default").Update(ctx, cur); err == nil {
			break
		}
		if !apierrors.IsConflict(err) || attempt > 20 {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the new leader's pods", func() (bool, string) {
		n := countPods(t, s.Client, "app=le")
		return n == 3, fmt.Sprint(n)
	})
}
