package replicaset_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"

	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/controllertest"
	"kube5/controller-manager/internal/controller/replicaset"
)

// failingPods is the apiserver with pod creation failing while fail is set; it records
// how many pod creations were in flight at most.
type failingPods struct {
	rpcv1.ResourcesClient
	fail              atomic.Bool
	mu                sync.Mutex
	inFlight, maxSeen int
}

func (f *failingPods) Create(ctx context.Context, req *rpcv1.CreateRequest, opts ...grpc.CallOption) (*rpcv1.ObjectResponse, error) {
	if req.GetRef().GetResource() != "pods" || req.GetSubresource() != "" {
		return f.ResourcesClient.Create(ctx, req, opts...)
	}
	f.mu.Lock()
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.fail.Load() {
		time.Sleep(5 * time.Millisecond) // long enough for parallel calls to overlap
		return nil, apierrors.NewForbidden(apierrors.GroupResource{Resource: "pods"}, "", fmt.Errorf("exceeded quota"))
	}
	return f.ResourcesClient.Create(ctx, req, opts...)
}

// Failing creations stop after the first call of a sync (slow start), are reported by
// FailedCreate events and the ReplicaFailure condition, which clears once pods can be
// created again.
func TestReplicaSetFailedCreate(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &failingPods{ResourcesClient: s.Client.RPC()}
	f.fail.Store(true)
	cs := client.NewForRPC(f, 30*time.Second)
	controllertest.Start(t, cs, []controller.Constructor{replicaset.NewReplicaSet}, 5)
	if _, err := s.Client.ReplicaSets("default").Create(ctx, newRS("q", 10)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "ReplicaFailure and FailedCreate", func() (bool, string) {
		rs, err := s.Client.ReplicaSets("default").Get(ctx, "q")
		if err != nil {
			return false, err.Error()
		}
		var failure string
		for _, c := range rs.GetStatus().GetConditions() {
			if c.GetType() == "ReplicaFailure" && c.GetStatus() == "True" && c.GetReason() == "FailedCreate" {
				failure = c.GetMessage()
			}
		}
		evs, _ := s.Client.Events("default").List(ctx, client.ListOptions{})
		event := false
		for _, e := range evs.Items {
			event = event || (e.GetReason() == "FailedCreate" && e.GetType() == "Warning")
		}
		return failure != "" && event, fmt.Sprint(rs.GetStatus(), " event ", event)
	})
	f.mu.Lock()
	maxSeen := f.maxSeen
	f.mu.Unlock()
	if maxSeen != 1 {
		t.Fatalf("%d pod creations in flight at once while they fail; slow start allows 1", maxSeen)
	}
	f.fail.Store(false)
	waitFor(t, 30*time.Second, "pods created and the condition cleared", func() (bool, string) {
		rs, _ := s.Client.ReplicaSets("default").Get(ctx, "q")
		for _, c := range rs.GetStatus().GetConditions() {
			if c.GetType() == "ReplicaFailure" {
				return false, "condition still there"
			}
		}
		return rs.GetStatus().GetReplicas() == 10, fmt.Sprint(rs.GetStatus())
	})
}
