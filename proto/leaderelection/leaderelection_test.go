package leaderelection_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	coordinationv1 "kube5/proto/api/coordination/v1"
	"kube5/proto/client"
	"kube5/proto/client/testserver"
	"kube5/proto/leaderelection"
)

// candidate runs one elector and records what it sees.
type candidate struct {
	id       string
	cancel   context.CancelFunc
	leading  atomic.Bool
	stopped  atomic.Bool
	done     chan struct{}
	mu       sync.Mutex
	newLeads []string
}

// leaders counts the candidates inside OnStartedLeading; it must never exceed one.
type election struct {
	t       *testing.T
	c       *client.Clientset
	leaders atomic.Int32
	release bool
}

func (e *election) start(id string) *candidate {
	ctx, cancel := context.WithCancel(context.Background())
	cand := &candidate{id: id, cancel: cancel, done: make(chan struct{})}
	cfg := leaderelection.Config{
		Client: e.c, Namespace: "kube-system", Name: "test-lock", Identity: id,
		LeaseDuration: time.Second, RenewDeadline: 500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond,
		ReleaseOnCancel: e.release,
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: func(ctx context.Context) {
				if n := e.leaders.Add(1); n > 1 {
					e.t.Errorf("%s: %d leaders at once", id, n)
				}
				cand.leading.Store(true)
				<-ctx.Done()
				cand.leading.Store(false)
				e.leaders.Add(-1)
			},
			OnStoppedLeading: func() { cand.stopped.Store(true) },
			OnNewLeader: func(l string) {
				cand.mu.Lock()
				cand.newLeads = append(cand.newLeads, l)
				cand.mu.Unlock()
			},
		},
	}
	go func() {
		defer close(cand.done)
		if err := leaderelection.Run(ctx, cfg); err != nil {
			e.t.Error(err)
		}
	}()
	e.t.Cleanup(func() { cancel(); <-cand.done })
	return cand
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func setup(t *testing.T, release bool) (*testserver.Server, *election) {
	srv := testserver.Start(t)
	c, err := client.New(client.Config{Server: srv.Addr(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return srv, &election{t: t, c: c, release: release}
}

func lease(t *testing.T, c *client.Clientset) *coordinationv1.Lease {
	t.Helper()
	l, err := c.Leases("kube-system").Get(context.Background(), "test-lock")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTwoCandidatesTakeoverAfterExpiry(t *testing.T) {
	_, e := setup(t, false)
	a := e.start("a")
	waitFor(t, "a leads", 5*time.Second, a.leading.Load)
	b := e.start("b")
	// b must see a as leader and stay standby while a renews.
	waitFor(t, "b observes a", 5*time.Second, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.newLeads) > 0 && b.newLeads[0] == "a"
	})
	l := lease(t, e.c)
	if l.Spec.GetHolderIdentity() != "a" || l.Spec.GetLeaseDurationSeconds() != 1 || l.Spec.GetLeaseTransitions() != 0 ||
		l.Spec.AcquireTime == nil || l.Spec.RenewTime == nil {
		t.Fatalf("lease %v", l.Spec)
	}
	// a keeps renewing: renewTime moves, acquireTime stays.
	first := proto.Clone(l.Spec).(*coordinationv1.LeaseSpec)
	waitFor(t, "renewal", 5*time.Second, func() bool {
		return !proto.Equal(lease(t, e.c).Spec.RenewTime, first.RenewTime)
	})
	if !proto.Equal(lease(t, e.c).Spec.AcquireTime, first.AcquireTime) {
		t.Error("acquireTime changed on renewal")
	}
	if b.leading.Load() {
		t.Fatal("b leads while a renews")
	}

	// a stops renewing (crash without release): b takes over once the lease expires.
	a.cancel()
	<-a.done
	if !a.stopped.Load() {
		t.Error("OnStoppedLeading not called for a")
	}
	took := waitFor(t, "b leads", 5*time.Second, b.leading.Load)
	if took > 2*time.Second {
		t.Errorf("takeover took %v, lease duration is 1s", took)
	}
	l = lease(t, e.c)
	if l.Spec.GetHolderIdentity() != "b" || l.Spec.GetLeaseTransitions() != 1 {
		t.Fatalf("lease after takeover %v", l.Spec)
	}
}

func TestReleaseOnCancel(t *testing.T) {
	_, e := setup(t, true)
	a := e.start("a")
	waitFor(t, "a leads", 5*time.Second, a.leading.Load)
	b := e.start("b")
	waitFor(t, "b standby", 5*time.Second, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.newLeads) > 0 })
	a.cancel()
	<-a.done
	if h := lease(t, e.c).Spec.GetHolderIdentity(); h != "" && h != "b" {
		t.Fatalf("holder after release: %q", h)
	}
	// Released: b need not wait out the lease duration.
	if took := waitFor(t, "b leads", 5*time.Second, b.leading.Load); took > 900*time.Millisecond {
		t.Errorf("takeover after release took %v", took)
	}
}

func TestLeaderLosesLeaseToAnother(t *testing.T) {
	_, e := setup(t, false)
	a := e.start("a")
	waitFor(t, "a leads", 5*time.Second, a.leading.Load)
	// Someone else writes the lease (an operator, a buggy peer): a must step down.
	l := lease(t, e.c)
	l.Spec.HolderIdentity = proto.String("intruder")
	if _, err := e.c.Leases("kube-system").Update(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a stops", 5*time.Second, func() bool {
		select {
		case <-a.done:
			return true
		default:
			return false
		}
	})
	if !a.stopped.Load() {
		t.Fatal("OnStoppedLeading not called after losing the lease")
	}
}

func TestManyCandidatesOneLeader(t *testing.T) {
	_, e := setup(t, false)
	var cands []*candidate
	for _, id := range []string{"a", "b", "c", "d"} {
		cands = append(cands, e.start(id))
	}
	waitFor(t, "a leader", 5*time.Second, func() bool { return e.leaders.Load() == 1 })
	// Watch for a while that exactly one stays leader (the callback checks for >1).
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, c := range cands {
			if c.leading.Load() {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("%d leaders", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConfigValidation(t *testing.T) {
	_, e := setup(t, false)
	base := leaderelection.Config{Client: e.c, Namespace: "ns", Name: "n", Identity: "x",
		Callbacks: leaderelection.Callbacks{OnStartedLeading: func(context.Context) {}}}
	if _, err := leaderelection.NewLeaderElector(base); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := base
	bad.Identity = ""
	if _, err := leaderelection.NewLeaderElector(bad); err == nil {
		t.Error("empty identity accepted")
	}
	bad = base
	bad.LeaseDuration, bad.RenewDeadline = 5*time.Second, 5*time.Second
	if _, err := leaderelection.NewLeaderElector(bad); err == nil {
		t.Error("renewDeadline >= leaseDuration accepted")
	}
}
