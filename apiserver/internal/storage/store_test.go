package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"kube5/apiserver/internal/etcdserver/etcdtest"
	"kube5/apiserver/internal/storage"
	coordinationv1 "kube5/proto/api/coordination/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/scheme"
)

func lease(ns, name, holder string) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name, Uid: "uid-" + name},
		Spec:     &coordinationv1.LeaseSpec{HolderIdentity: proto.String(holder)},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func rvOf(t *testing.T, o scheme.Object) int64 {
	t.Helper()
	n, err := strconv.ParseInt(o.GetMetadata().GetResourceVersion(), 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("bad resourceVersion %q", o.GetMetadata().GetResourceVersion())
	}
	return n
}

func setHolder(h string) storage.UpdateFunc {
	return func(cur scheme.Object) (scheme.Object, error) {
		l := cur.(*coordinationv1.Lease)
		l.Spec.HolderIdentity = proto.String(h)
		return l, nil
	}
}

func TestKey(t *testing.T) {
	if got := storage.Key("pods", "default", "web"); got != "/registry/pods/default/web" {
		t.Error(got)
	}
	if got := storage.Key("nodes", "", "n1"); got != "/registry/nodes/n1" {
		t.Error(got)
	}
	if got := storage.KeyPrefix("pods", "default"); got != "/registry/pods/default/" {
		t.Error(got)
	}
}

func TestCRUD(t *testing.T) {
	client, _ := etcdtest.Start(t)
	s := storage.New(client)
	ctx := ctxT(t)
	key := storage.Key("leases", "default", "a")

	obj := lease("default", "a", "x")
	obj.Metadata.ResourceVersion = "999" // never stored
	if err := s.Create(ctx, key, obj); err != nil {
		t.Fatal(err)
	}
	rv1 := rvOf(t, obj)
	raw, err := client.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Kvs[0].ModRevision != rv1 {
		t.Fatalf("rv %d != mod revision %d", rv1, raw.Kvs[0].ModRevision)
	}
	var stored coordinationv1.Lease
	if err := proto.Unmarshal(raw.Kvs[0].Value, &stored); err != nil || stored.Metadata.ResourceVersion != "" {
		t.Fatalf("stored value carries resourceVersion %q (%v)", stored.Metadata.GetResourceVersion(), err)
	}

	if err := s.Create(ctx, key, lease("default", "a", "y")); !storage.IsAlreadyExists(err) {
		t.Fatalf("second create: %v", err)
	}

	var got coordinationv1.Lease
	if err := s.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if rvOf(t, &got) != rv1 || got.Spec.GetHolderIdentity() != "x" {
		t.Fatalf("get = %v", &got)
	}
	if err := s.Get(ctx, storage.Key("leases", "default", "missing"), &got); !storage.IsNotFound(err) {
		t.Fatalf("get missing: %v", err)
	}

	// Update.
	var out coordinationv1.Lease
	if err := s.GuaranteedUpdate(ctx, key, &out, nil, setHolder("y"), nil); err != nil {
		t.Fatal(err)
	}
	rv2 := rvOf(t, &out)
	if rv2 <= rv1 || out.Spec.GetHolderIdentity() != "y" {
		t.Fatalf("update: rv %d -> %d, %v", rv1, rv2, &out)
	}
	// A no-op update writes nothing.
	if err := s.GuaranteedUpdate(ctx, key, &out, nil, setHolder("y"), nil); err != nil {
		t.Fatal(err)
	}
	if rvOf(t, &out) != rv2 {
		t.Fatalf("no-op update changed rv %d -> %d", rv2, rvOf(t, &out))
	}
	// Stale resourceVersion precondition: Conflict, with upstream's message.
	err = s.GuaranteedUpdate(ctx, key, &out, &storage.Preconditions{ResourceVersion: strconv.FormatInt(rv1, 10)}, setHolder("z"), nil)
	if !storage.IsConflict(err) {
		t.Fatalf("stale rv: %v", err)
	}
	var se *storage.Error
	if !errors.As(err, &se) || se.Message != storage.ConflictMessage {
		t.Fatalf("conflict message: %v", err)
	}
	// Fresh precondition passes; wrong UID conflicts.
	if err := s.GuaranteedUpdate(ctx, key, &out, &storage.Preconditions{ResourceVersion: strconv.FormatInt(rv2, 10), UID: "uid-a"}, setHolder("z"), nil); err != nil {
		t.Fatal(err)
	}
	rv3 := rvOf(t, &out)
	if err := s.GuaranteedUpdate(ctx, key, &out, &storage.Preconditions{UID: "other"}, setHolder("w"), nil); !storage.IsConflict(err) {
		t.Fatalf("uid precondition: %v", err)
	}
	// tryUpdate errors pass through.
	boom := errors.New("boom")
	if err := s.GuaranteedUpdate(ctx, key, &out, nil, func(scheme.Object) (scheme.Object, error) { return nil, boom }, nil); !errors.Is(err, boom) {
		t.Fatalf("tryUpdate error: %v", err)
	}
	// Absent key: NotFound, or a create with IgnoreNotFound.
	k2 := storage.Key("leases", "default", "b")
	if err := s.GuaranteedUpdate(ctx, k2, &out, nil, setHolder("q"), nil); !storage.IsNotFound(err) {
		t.Fatalf("update missing: %v", err)
	}
	err = s.GuaranteedUpdate(ctx, k2, &out, nil, func(cur scheme.Object) (scheme.Object, error) {
		if cur.GetMetadata().GetResourceVersion() != "" {
			return nil, fmt.Errorf("not empty: %v", cur)
		}
		return lease("default", "b", "q"), nil
	}, nil, storage.IgnoreNotFound())
	if err != nil || out.Metadata.GetName() != "b" {
		t.Fatalf("create on update: %v %v", err, &out)
	}

	// Delete: preconditions and validation are checked, the last state is returned with the
	// deletion revision.
	if err := s.Delete(ctx, key, &out, &storage.Preconditions{ResourceVersion: strconv.FormatInt(rv2, 10)}, nil); !storage.IsConflict(err) {
		t.Fatalf("delete stale rv: %v", err)
	}
	if err := s.Delete(ctx, key, &out, nil, func(scheme.Object) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("delete validate: %v", err)
	}
	if err := s.Delete(ctx, key, &out, &storage.Preconditions{ResourceVersion: strconv.FormatInt(rv3, 10), UID: "uid-a"}, nil); err != nil {
		t.Fatal(err)
	}
	if out.Spec.GetHolderIdentity() != "z" || rvOf(t, &out) <= rv3 {
		t.Fatalf("deleted object %v", &out)
	}
	if err := s.Get(ctx, key, &got); !storage.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := s.Delete(ctx, key, &out, nil, nil); !storage.IsNotFound(err) {
		t.Fatalf("delete missing: %v", err)
	}
	if n, err := s.Count(ctx, storage.KeyPrefix("leases", "")); err != nil || n != 1 {
		t.Fatalf("count = %d %v", n, err)
	}
}

// TestGuaranteedUpdateConcurrent has 8 updaters increment one counter; a lost update
// would show as a total below 8*n.
func TestGuaranteedUpdateConcurrent(t *testing.T) {
	client, _ := etcdtest.Start(t)
	s := storage.New(client)
	ctx := ctxT(t)
	key := storage.Key("leases", "default", "counter")
	if err := s.Create(ctx, key, lease("default", "counter", "")); err != nil {
		t.Fatal(err)
	}
	// Every updater passes the same, soon stale, hint: the store must detect that.
	var hint coordinationv1.Lease
	if err := s.Get(ctx, key, &hint); err != nil {
		t.Fatal(err)
	}
	const writers, n = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				var out coordinationv1.Lease
				var h scheme.Object
				if w%2 == 0 {
					h = &hint
				}
				err := s.GuaranteedUpdate(ctx, key, &out, nil, func(cur scheme.Object) (scheme.Object, error) {
					l := cur.(*coordinationv1.Lease)
					l.Spec.LeaseTransitions = proto.Int32(l.Spec.GetLeaseTransitions() + 1)
					return l, nil
				}, h)
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var got coordinationv1.Lease
	if err := s.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.GetLeaseTransitions() != writers*n {
		t.Fatalf("counter = %d, want %d", got.Spec.GetLeaseTransitions(), writers*n)
	}
}

func TestCompactAndTTL(t *testing.T) {
	client, _ := etcdtest.Start(t)
	s := storage.New(client)
	ctx := ctxT(t)
	key := storage.Key("leases", "default", "a")
	if err := s.Create(ctx, key, lease("default", "a", "x"), storage.WithTTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(ctx, key)
	if err != nil || resp.Kvs[0].Lease == 0 {
		t.Fatalf("no lease attached: %v", err)
	}
	// A second TTL write right after reuses the lease.
	key2 := storage.Key("leases", "default", "b")
	if err := s.Create(ctx, key2, lease("default", "b", "x"), storage.WithTTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	resp2, _ := client.Get(ctx, key2)
	if resp2.Kvs[0].Lease != resp.Kvs[0].Lease {
		t.Errorf("lease not reused: %x vs %x", resp2.Kvs[0].Lease, resp.Kvs[0].Lease)
	}

	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out coordinationv1.Lease
	if err := s.GuaranteedUpdate(ctx, key, &out, nil, setHolder("y"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx, rev); err != nil {
		t.Fatalf("compacting twice: %v", err)
	}
	if _, err := client.Get(ctx, key, clientv3.WithRev(rev-1)); !storage.IsGone(storage.InterpretEtcdError(err, key)) {
		t.Fatalf("read below compaction: %v", err)
	}

	// The compactor compacts, one interval late, at the revision it saw the round before.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.StartCompactor(cctx, 50*time.Millisecond)
	target, _ := s.CurrentRevision(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := client.Get(ctx, key, clientv3.WithRev(target))
		if storage.IsGone(storage.InterpretEtcdError(err, key)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compactor did not compact past %d", target)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := storage.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := storage.RegisterMetrics(reg); err != nil {
		t.Fatalf("second registration: %v", err)
	}
	client, _ := etcdtest.Start(t)
	s := storage.New(client)
	var l coordinationv1.Lease
	_ = s.Get(ctxT(t), storage.Key("leases", "default", "x"), &l)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "type" && lp.GetValue() == "leases" {
					found[mf.GetName()] = true
				}
			}
		}
	}
	if !found["etcd_request_duration_seconds"] || !found["etcd_requests_total"] {
		t.Fatalf("metrics missing: %v", found)
	}
}
