package integration

import (
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/codec"
)

// TestServiceClusterIPs: ClusterIPs come from --service-cluster-ip-range (10.0.0.0/24)
// without duplicates under 200 concurrent creates (over gRPC and REST); a requested IP is
// honoured; an out-of-range or taken one is refused naming spec.clusterIPs; a delete (or
// a failed create) gives the IP back; headless services get none.
func TestServiceClusterIPs(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "svc")
	ctx := ctxFor(t)
	svcs := ts.Client.Services(ns)
	svcPath := "/api/v1/namespaces/" + ns + "/services"
	cidr := netip.MustParsePrefix("10.0.0.0/24")

	const n = 200
	ips := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newService(ns, fmt.Sprintf("s-%d", i))
			if i%4 == 0 { // a quarter over REST
				r, err := tryDo(ts, "POST", svcPath, s)
				if err == nil && r.Code != http.StatusCreated {
					err = fmt.Errorf("%d %s", r.Code, r.Body)
				}
				if err != nil {
					errs <- fmt.Errorf("REST create %d: %v", i, err)
					return
				}
				s = &corev1.Service{}
				if _, _, err := codec.DecodeObject(r.Body, s); err != nil {
					errs <- err
					return
				}
			} else {
				var err error
				if s, err = svcs.Create(ctx, s); err != nil {
					errs <- fmt.Errorf("create %d: %v", i, err)
					return
				}
			}
			if ip := s.Spec.ClusterIp; len(s.Spec.ClusterIps) != 1 || s.Spec.ClusterIps[0] != ip {
				errs <- fmt.Errorf("service %d: clusterIP %q, clusterIPs %v", i, ip, s.Spec.ClusterIps)
			}
			ips[i] = s.Spec.ClusterIp
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The kubernetes service (default namespace) holds the first address.
	kube := waitService(t, ts)
	used := map[string]int{kube.Spec.ClusterIp: -1}
	for i, ip := range ips {
		a, err := netip.ParseAddr(ip)
		if err != nil || !cidr.Contains(a) || a == cidr.Addr() || a.String() == "10.0.0.255" {
			t.Fatalf("service %d got %q, not a usable address of %s", i, ip, cidr)
		}
		if j, dup := used[ip]; dup {
			t.Fatalf("services %d and %d share ClusterIP %s", i, j, ip)
		}
		used[ip] = i
	}
	l, err := svcs.List(ctx, client.ListOptions{})
	if err != nil || len(l.Items) != n {
		t.Fatalf("list: %v, %d services", err, len(l.Items))
	}
	for _, s := range l.Items {
		if i := used[s.Spec.ClusterIp]; fmt.Sprintf("s-%d", i) != s.Metadata.Name {
			t.Fatalf("stored %s has %s, but the create answered it to s-%d", s.Metadata.Name, s.Spec.ClusterIp, i)
		}
	}
	free := func() string {
		for a := cidr.Addr().Next(); cidr.Contains(a); a = a.Next() {
			if _, ok := used[a.String()]; !ok && a.String() != "10.0.0.255" {
				used[a.String()] = -1
				return a.String()
			}
		}
		t.Fatal("no free address left")
		return ""
	}
	withIP := func(name, ip string) *corev1.Service {
		s := newService(ns, name)
		s.Spec.ClusterIp = ip
		return s
	}

	t.Run("requested IP honoured", func(t *testing.T) {
		ip := free()
		s, err := svcs.Create(ctx, withIP("requested", ip))
		if err != nil || s.Spec.ClusterIp != ip || !sameStrings(s.Spec.ClusterIps, []string{ip}) {
			t.Fatalf("requested %s: %v %v", ip, err, s.GetSpec())
		}
		// An update that leaves clusterIP empty keeps it.
		s.Spec.ClusterIp, s.Spec.ClusterIps = "", nil
		s.Metadata.Labels = map[string]string{"updated": "yes"}
		if s, err = svcs.Update(ctx, s); err != nil || s.Spec.ClusterIp != ip {
			t.Fatalf("update without clusterIP: %v %v", err, s.GetSpec())
		}
	})

	t.Run("refused IPs", func(t *testing.T) {
		for _, c := range []struct{ ip, mentions string }{
			{"10.0.1.5", "not in the valid range"},
			{"192.168.0.1", "not in the valid range"},
			{ips[0], "already allocated"},
			{ips[7], "already allocated"},
		} {
			st := do(t, ts, "POST", svcPath, withIP("refused", c.ip)).expectStatus(t, http.StatusUnprocessableEntity, "Invalid", c.mentions)
			if !hasCause(st, "spec.clusterIPs") {
				t.Errorf("%s: causes %v do not name spec.clusterIPs", c.ip, causeFields(st))
			}
			_, err := svcs.Create(ctx, withIP("refused", c.ip))
			if !apierrors.IsInvalid(err) || !hasCause(apierrors.StatusFor(err), "spec.clusterIPs") {
				t.Errorf("%s over gRPC: want Invalid naming spec.clusterIPs, got %v", c.ip, err)
			}
		}
		st := do(t, ts, "POST", svcPath, withIP("refused", "not-an-ip")).expectStatus(t, http.StatusUnprocessableEntity, "Invalid")
		if f := causeFields(st); len(f) == 0 || !strings.HasPrefix(f[0], "spec.clusterIP") {
			t.Errorf("not-an-ip: causes %v", f)
		}
		if _, err := svcs.Get(ctx, "refused"); !apierrors.IsNotFound(err) {
			t.Fatalf("a refused service was stored: %v", err)
		}
	})

	t.Run("delete releases", func(t *testing.T) {
		ip := ips[3]
		if err := svcs.Delete(ctx, "s-3", nil); err != nil {
			t.Fatal(err)
		}
		s, err := svcs.Create(ctx, withIP("reuses-ip", ip))
		if err != nil || s.Spec.ClusterIp != ip {
			t.Fatalf("reusing the deleted service's %s: %v", ip, err)
		}
		// REST delete releases too.
		ip = ips[4]
		do(t, ts, "DELETE", svcPath+"/s-4", nil).expect(t, http.StatusOK, "REST delete")
		do(t, ts, "POST", svcPath, withIP("reuses-ip-2", ip)).expect(t, http.StatusCreated, "reusing "+ip)
	})

	t.Run("failed create releases", func(t *testing.T) {
		ip := free()
		// The name is taken: the create fails after the IP was claimed.
		_, err := svcs.Create(ctx, withIP("s-5", ip))
		if !apierrors.IsAlreadyExists(err) {
			t.Fatalf("want AlreadyExists, got %v", err)
		}
		if s, err := svcs.Create(ctx, withIP("gets-freed-ip", ip)); err != nil || s.Spec.ClusterIp != ip {
			t.Fatalf("the IP of a failed create stayed allocated: %v", err)
		}
	})

	t.Run("headless and ExternalName", func(t *testing.T) {
		h, err := svcs.Create(ctx, withIP("headless", "None"))
		if err != nil || h.Spec.ClusterIp != "None" {
			t.Fatalf("headless: %v %v", err, h.GetSpec())
		}
		for _, ip := range h.Spec.ClusterIps {
			if ip != "None" {
				t.Fatalf("headless service got clusterIPs %v", h.Spec.ClusterIps)
			}
		}
		ext := newService(ns, "external")
		ext.Spec.Type, ext.Spec.ExternalName, ext.Spec.Selector = "ExternalName", "example.com", nil
		e, err := svcs.Create(ctx, ext)
		if err != nil || e.Spec.ClusterIp != "" || len(e.Spec.ClusterIps) != 0 {
			t.Fatalf("ExternalName: %v %v", err, e.GetSpec())
		}
	})

	// What etcd holds as allocated is exactly what the stored services use: nothing
	// leaked by the refused and failed creates, nothing lost by the deletes.
	l, err = ts.Client.Services("").List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var inUse []string
	for _, s := range l.Items {
		if ip := s.Spec.ClusterIp; ip != "" && ip != "None" {
			inUse = append(inUse, ip)
		}
	}
	sort.Strings(inUse)
	if got := etcdKeys(t, ts, "/registry/ranges/serviceips/"); !sameStrings(got, inUse) {
		t.Fatalf("allocated IPs %v\ndiffer from the IPs of the stored services %v", got, inUse)
	}
}

// TestServiceNodePorts: NodePort services get distinct nodePorts from
// --service-node-port-range (30000-32767); a requested port is honoured, a taken or
// out-of-range one refused naming the port's path; delete and a change of type release.
func TestServiceNodePorts(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "np")
	ctx := ctxFor(t)
	svcs := ts.Client.Services(ns)
	nodePort := func(name string, ports ...int32) *corev1.Service {
		s := newService(ns, name)
		s.Spec.Type = "NodePort"
		s.Spec.Ports = nil
		for i, p := range ports {
			s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Name: fmt.Sprint("p", i), Port: int32(80 + i), NodePort: p})
		}
		return s
	}
	const n = 20
	used := map[int32]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := svcs.Create(ctx, nodePort(fmt.Sprint("np-", i), 0, 0))
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range s.Spec.Ports {
				if p.NodePort < 30000 || p.NodePort > 32767 {
					errs <- fmt.Errorf("%s got nodePort %d, outside 30000-32767", s.Metadata.Name, p.NodePort)
				}
				if other, dup := used[p.NodePort]; dup {
					errs <- fmt.Errorf("%s and %s share nodePort %d", s.Metadata.Name, other, p.NodePort)
				}
				used[p.NodePort] = s.Metadata.Name
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(used) != 2*n {
		t.Fatalf("%d distinct nodePorts, want %d", len(used), 2*n)
	}
	var want int32 = 30000
	for used[want] != "" {
		want++
	}
	s, err := svcs.Create(ctx, nodePort("requested", want))
	if err != nil || s.Spec.Ports[0].NodePort != want {
		t.Fatalf("requested nodePort %d: %v %v", want, err, s.GetSpec())
	}
	path := "/api/v1/namespaces/" + ns + "/services"
	st := do(t, ts, "POST", path, nodePort("taken", 0, want)).expectStatus(t, http.StatusUnprocessableEntity, "Invalid", "provided port is already allocated")
	if !hasCause(st, "spec.ports[1].nodePort") {
		t.Errorf("taken nodePort: causes %v", causeFields(st))
	}
	st = do(t, ts, "POST", path, nodePort("out-of-range", 8080)).expectStatus(t, http.StatusUnprocessableEntity, "Invalid")
	if !hasCause(st, "spec.ports[0].nodePort") {
		t.Errorf("out-of-range nodePort: causes %v", causeFields(st))
	}
	if _, err := svcs.Get(ctx, "taken"); !apierrors.IsNotFound(err) {
		t.Fatalf("refused service stored: %v", err)
	}

	// Delete releases.
	if err := svcs.Delete(ctx, "requested", nil); err != nil {
		t.Fatal(err)
	}
	if s, err := svcs.Create(ctx, nodePort("requested-again", want)); err != nil || s.Spec.Ports[0].NodePort != want {
		t.Fatalf("nodePort %d after delete: %v", want, err)
	}
	// Turning a NodePort service into a ClusterIP one releases its nodePorts.
	s, err = svcs.Get(ctx, "requested-again")
	if err != nil {
		t.Fatal(err)
	}
	s = proto.Clone(s).(*corev1.Service)
	s.Spec.Type = "ClusterIP"
	s.Spec.Ports[0].NodePort = 0
	if s, err = svcs.Update(ctx, s); err != nil || s.Spec.Ports[0].NodePort != 0 {
		t.Fatalf("to ClusterIP: %v %v", err, s.GetSpec())
	}
	if s, err := svcs.Create(ctx, nodePort("third", want)); err != nil || s.Spec.Ports[0].NodePort != want {
		t.Fatalf("nodePort %d after the type change: %v", want, err)
	}
	// Allocated nodePorts in etcd are exactly those of the stored services.
	l, err := svcs.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var inUse []string
	for _, s := range l.Items {
		for _, p := range s.Spec.Ports {
			if p.NodePort != 0 {
				inUse = append(inUse, fmt.Sprint(p.NodePort))
			}
		}
	}
	sort.Strings(inUse)
	if got := etcdKeys(t, ts, "/registry/ranges/servicenodeports/"); !sameStrings(got, inUse) {
		t.Fatalf("allocated nodePorts %v\ndiffer from those of the stored services %v", got, inUse)
	}
}
