package integration

import (
	"fmt"
	"testing"
	"time"

	"kube5/proto/apiservertest"
	"kube5/scheduler/app/options"
)

// TestLeaderElection: of two schedulers only the leader binds; when it stops, the other
// takes over and binds the pods that follow.
func TestLeaderElection(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	createNodes(t, cs, node("node-1", "4", "8Gi"), node("node-2", "4", "8Gi"))
	short := func(o *options.Options) {
		o.LeaderElect = true
		o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 2*time.Second, 1500*time.Millisecond, 250*time.Millisecond
	}
	a := startScheduler(t, s, short)
	b := startScheduler(t, s, short)
	var leader, standby *runningScheduler
	waitFor(t, 20*time.Second, "a leader", func() (bool, string) {
		switch {
		case a.Leading() && b.Leading():
			t.Fatal("both schedulers lead")
		case a.Leading():
			leader, standby = a, b
		case b.Leading():
			leader, standby = b, a
		}
		return leader != nil, "none leading"
	})
	for i := 0; i < 4; i++ {
		createPods(t, cs, pod(fmt.Sprintf("first-%d", i), "100m"))
	}
	waitBound(t, cs, "first-0", "first-1", "first-2", "first-3")
	scheduled := map[string]string{"result": "scheduled", "profile": "default-scheduler"}
	if n := counter(t, standby, "scheduler_schedule_attempts_total", scheduled); n != 0 {
		t.Errorf("standby scheduled %v pods", n)
	}
	waitFor(t, 10*time.Second, "the leader's count", func() (bool, string) {
		n := counter(t, leader, "scheduler_schedule_attempts_total", scheduled)
		return n == 4, fmt.Sprint(n)
	})

	leader.stop(t)
	waitFor(t, 20*time.Second, "the standby to take over", func() (bool, string) { return standby.Leading(), "standby not leading" })
	for i := 0; i < 3; i++ {
		createPods(t, cs, pod(fmt.Sprintf("second-%d", i), "100m"))
	}
	waitBound(t, cs, "second-0", "second-1", "second-2")
	waitFor(t, 10*time.Second, "the new leader's count", func() (bool, string) {
		n := counter(t, standby, "scheduler_schedule_attempts_total", scheduled)
		return n == 3, fmt.Sprint(n)
	})
}
