package integration

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"kube5/apiserver/app/options"
	apptesting "kube5/apiserver/app/testing"
	corev1 "kube5/proto/api/core/v1"
)

// TestKubernetesService: every cluster has the service "kubernetes" in default, at the
// first address of the service range, whose endpoints are the running apiservers (their
// --advertise-address and port). A deleted service comes back; an apiserver that stops
// leaves the endpoints at once; two apiservers on one etcd are both listed.
func TestKubernetesService(t *testing.T) {
	ts := start(t, func(o *options.Options) { o.AdvertiseAddress = "192.0.2.10" })
	ctx := context.Background()
	port := serverPort(t, ts)

	svc := waitService(t, ts)
	spec := svc.GetSpec()
	if spec.GetClusterIp() != "10.0.0.1" || spec.GetType() != "ClusterIP" || len(spec.GetSelector()) != 0 {
		t.Fatalf("service kubernetes: clusterIP %q type %q selector %v; want 10.0.0.1, ClusterIP, no selector", spec.GetClusterIp(), spec.GetType(), spec.GetSelector())
	}
	if p := spec.GetPorts(); len(p) != 1 || p[0].GetName() != "http" || p[0].GetPort() != 80 || p[0].GetTargetPort().GetIntVal() != int32(port) {
		t.Fatalf("service kubernetes ports: %v; want one port http 80 -> %d", p, port)
	}
	if l := svc.GetMetadata().GetLabels(); l["component"] != "apiserver" || l["provider"] != "kubernetes" {
		t.Fatalf("service kubernetes labels %v; want component=apiserver provider=kubernetes (as upstream)", l)
	}
	waitEndpoints(t, ts, fmt.Sprintf("192.0.2.10:%d", port))

	// A second apiserver on the same etcd joins the endpoints.
	two := apptesting.Start(t, func(o *options.Options) {
		o.EtcdServers = ts.EtcdEndpoints
		o.AdvertiseAddress = "192.0.2.11"
	})
	waitEndpointIPs(t, two, "192.0.2.10,192.0.2.11")

	// The service deleted by a user is recreated, at the same address.
	if err := ts.Client.Services("default").Delete(ctx, "kubernetes", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for {
		s, err := ts.Client.Services("default").Get(ctx, "kubernetes")
		if err == nil && s.GetMetadata().GetUid() != svc.GetMetadata().GetUid() {
			if s.GetSpec().GetClusterIp() != "10.0.0.1" {
				t.Fatalf("recreated service kubernetes has clusterIP %s, want 10.0.0.1", s.GetSpec().GetClusterIp())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service kubernetes not recreated within %v (last error %v)", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// An apiserver that shuts down leaves the endpoints without waiting for its lease.
	ts.Stop()
	waitEndpointIPs(t, two, "192.0.2.11")
}

// TestKubernetesServiceNone: --endpoint-reconciler-type=none leaves the service alone.
func TestKubernetesServiceNone(t *testing.T) {
	ts := start(t, func(o *options.Options) { o.EndpointReconcilerType = "none" })
	// Nothing to wait for: the service would be made at start. A write that goes through
	// after start shows the reconciler had its chance.
	if _, err := ts.Client.Namespaces().Get(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Client.Services("default").Get(context.Background(), "kubernetes"); err == nil {
		t.Fatal("service kubernetes exists with --endpoint-reconciler-type=none")
	}
}

func serverPort(t *testing.T, ts *apptesting.TestServer) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return port
}

func waitService(t *testing.T, ts *apptesting.TestServer) *corev1.Service {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		svc, err := ts.Client.Services("default").Get(context.Background(), "kubernetes")
		if err == nil {
			return svc
		}
		if time.Now().After(deadline) {
			t.Fatalf("service default/kubernetes not created within %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// endpointsSummary is "ip:port,ip:port" of the kubernetes endpoints.
func endpointsSummary(ep *corev1.Endpoints, withPort bool) string {
	var out []string
	for _, s := range ep.GetSubsets() {
		for _, a := range s.GetAddresses() {
			for _, p := range s.GetPorts() {
				if withPort {
					out = append(out, fmt.Sprintf("%s:%d", a.GetIp(), p.GetPort()))
				} else {
					out = append(out, a.GetIp())
				}
			}
		}
	}
	return strings.Join(out, ",")
}

func waitEndpoints(t *testing.T, ts *apptesting.TestServer, want string) {
	t.Helper()
	waitEndpointsBy(t, ts, want, true)
}

func waitEndpointIPs(t *testing.T, ts *apptesting.TestServer, want string) {
	t.Helper()
	waitEndpointsBy(t, ts, want, false)
}

func waitEndpointsBy(t *testing.T, ts *apptesting.TestServer, want string, withPort bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := ""
	for {
		ep, err := ts.Client.Endpoints("default").Get(context.Background(), "kubernetes")
		if err == nil {
			if got = endpointsSummary(ep, withPort); got == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoints default/kubernetes: got %q, want %q (last error %v)", got, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
