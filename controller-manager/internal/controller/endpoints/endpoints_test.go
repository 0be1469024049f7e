package endpoints

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

// start runs the controller against a fresh apiserver.
func start(t *testing.T) (*client.Clientset, *Controller) {
	t.Helper()
	s := apiservertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := informer.NewFactory(s.Client, 0)
	cc := &controller.Context{Client: s.Client, Informers: f, Events: func(name string) *events.Recorder {
		r := events.NewRecorder(s.Client, name, "")
		go r.Run(ctx)
		return r
	}}
	c, err := New(cc)
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx)
	go c.Run(ctx, 2)
	return s.Client, c.(*Controller)
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %s", what, last)
}

func pod(name, ip string, ready bool, lbls map[string]string, ports ...*corev1.ContainerPort) *corev1.Pod {
	st := "False"
	if ready {
		st = "True"
	}
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Labels: lbls},
		Spec: &corev1.PodSpec{NodeName: "node-1", Containers: []*corev1.Container{{
			Name: "c", Image: "kube5/httpenv:1.0", Ports: ports,
		}}},
		Status: &corev1.PodStatus{Phase: "Running", PodIp: ip, Conditions: []*corev1.PodCondition{{Type: "Ready", Status: st}}},
	}
}

// createPod creates p and then sets its status, as a kubelet would.
func createPod(t *testing.T, cs *client.Clientset, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	st := p.Status
	out, err := cs.Pods(p.Metadata.Namespace).Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	out.Status = st
	out, err = cs.Pods(p.Metadata.Namespace).UpdateStatus(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func summary(ep *corev1.Endpoints) string {
	s := ""
	for _, ss := range ep.GetSubsets() {
		s += "["
		for _, a := range ss.GetAddresses() {
			s += a.GetIp() + " "
		}
		s += "| "
		for _, a := range ss.GetNotReadyAddresses() {
			s += a.GetIp() + " "
		}
		s += "|"
		for _, p := range ss.GetPorts() {
			s += fmt.Sprintf(" %s:%d", p.GetName(), p.GetPort())
		}
		s += "]"
	}
	return s
}

func waitEndpoints(t *testing.T, cs *client.Clientset, name, want string) *corev1.Endpoints {
	t.Helper()
	var ep *corev1.Endpoints
	eventually(t, 5*time.Second, "endpoints "+want, func() (bool, string) {
		var err error
		ep, err = cs.Endpoints("default").Get(context.Background(), name)
		if err != nil {
			return false, err.Error()
		}
		got := summary(ep)
		return got == want, got
	})
	return ep
}

func TestEndpointsReadyNotReadyAndNamedPorts(t *testing.T) {
	cs, _ := start(t)
	ctx := context.Background()
	app := map[string]string{"app": "web"}
	svc := &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"tier": "front"}},
		Spec: &corev1.ServiceSpec{Selector: app, Ports: []*corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: metav1.FromString("http")},
		}},
	}
	if _, err := cs.Services("default").Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	createPod(t, cs, pod("a", "10.244.0.2", true, app, &corev1.ContainerPort{Name: "http", ContainerPort: 8080}))
	createPod(t, cs, pod("b", "10.244.0.3", false, app, &corev1.ContainerPort{Name: "http", ContainerPort: 8080}))
	// Same name, another number: its own subset.
	createPod(t, cs, pod("c", "10.244.0.4", true, app, &corev1.ContainerPort{Name: "http", ContainerPort: 9090}))
	// No IP yet, other labels, no such named port: left out.
	createPod(t, cs, pod("d", "", true, app, &corev1.ContainerPort{Name: "http", ContainerPort: 8080}))
	createPod(t, cs, pod("e", "10.244.0.9", true, map[string]string{"app": "other"}))
	createPod(t, cs, pod("f", "10.244.0.10", true, app, &corev1.ContainerPort{Name: "web", ContainerPort: 8080}))

	ep := waitEndpoints(t, cs, "web", "[10.244.0.2 | 10.244.0.3 | http:8080][10.244.0.4 | | http:9090]")
	a := ep.Subsets[0].Addresses[0]
	if a.GetNodeName() != "node-1" || a.GetTargetRef().GetKind() != "Pod" || a.GetTargetRef().GetName() != "a" || a.GetTargetRef().GetUid() == "" {
		t.Errorf("address = %v", a)
	}
	if ep.GetMetadata().GetLabels()["tier"] != "front" {
		t.Errorf("labels = %v, want the service's", ep.GetMetadata().GetLabels())
	}

	// b becomes ready: it moves to addresses within a second.
	b, _ := cs.Pods("default").Get(ctx, "b")
	b.Status.Conditions[0].Status = "True"
	if _, err := cs.Pods("default").UpdateStatus(ctx, b); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	waitEndpoints(t, cs, "web", "[10.244.0.2 10.244.0.3 | | http:8080][10.244.0.4 | | http:9090]")
	// The contract is a second; the margin is for -race on a loaded shared machine.
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("endpoints took %v to follow a pod change", d)
	} else {
		t.Logf("endpoints followed the pod change in %v", d)
	}

	// c is deleted (unbound pods go at once... this one is bound: graceful, so terminating).
	if err := cs.Pods("default").Delete(ctx, "c", nil); err != nil {
		t.Fatal(err)
	}
	cur := waitEndpoints(t, cs, "web", "[10.244.0.2 10.244.0.3 | | http:8080]")

	// Nothing changes: no write. An unrelated pod update must not touch the object.
	e, _ := cs.Pods("default").Get(ctx, "e")
	e.Metadata.Labels["x"] = "y"
	if _, err := cs.Pods("default").Update(ctx, e); err != nil {
		t.Fatal(err)
	}
	a2, _ := cs.Pods("default").Get(ctx, "a")
	a2.Metadata.Annotations = map[string]string{"touched": "1"}
	if _, err := cs.Pods("default").Update(ctx, a2); err != nil {
		t.Fatal(err)
	}
	// A service without selector: its endpoints are the user's, left as they are.
	manual := &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Name: "external", Namespace: "default"},
		Subsets: []*corev1.EndpointSubset{{Addresses: []*corev1.EndpointAddress{{Ip: "192.0.2.7"}}, Ports: []*corev1.EndpointPort{{Port: 5000, Protocol: "TCP"}}}}}
	if _, err := cs.Endpoints("default").Create(ctx, manual); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Services("default").Create(ctx, &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "external", Namespace: "default"},
		Spec: &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 5000}}}}); err != nil {
		t.Fatal(err)
	}
	// Wait for a marker change to pass through the controller, then compare versions.
	createPod(t, cs, pod("g", "10.244.0.1", true, app, &corev1.ContainerPort{Name: "http", ContainerPort: 8080}))
	after := waitEndpoints(t, cs, "web", "[10.244.0.1 10.244.0.2 10.244.0.3 | | http:8080]")
	if v1, v2 := rvInt(cur), rvInt(after); v2 <= v1 {
		t.Fatalf("resourceVersion did not move: %d -> %d", v1, v2)
	}
	got, _ := cs.Endpoints("default").Get(ctx, "web")
	if got.Metadata.ResourceVersion != after.Metadata.ResourceVersion {
		t.Errorf("endpoints written again without a change")
	}
	if ext, err := cs.Endpoints("default").Get(ctx, "external"); err != nil || summary(ext) != "[192.0.2.7 | | :5000]" {
		t.Errorf("endpoints of a selector-less service touched: %v %s", err, summary(ext))
	}

	// Deleting the endpoints object: it comes back.
	if err := cs.Endpoints("default").Delete(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(t, cs, "web", "[10.244.0.1 10.244.0.2 10.244.0.3 | | http:8080]")

	// Deleting the service deletes its endpoints.
	if err := cs.Services("default").Delete(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "endpoints deleted", func() (bool, string) {
		_, err := cs.Endpoints("default").Get(ctx, "web")
		return err != nil, "still there"
	})
}

func rvInt(o *corev1.Endpoints) int {
	var n int
	fmt.Sscan(o.GetMetadata().GetResourceVersion(), &n)
	return n
}

func TestPublishNotReadyAddresses(t *testing.T) {
	cs, _ := start(t)
	ctx := context.Background()
	app := map[string]string{"app": "db"}
	svc := &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: &corev1.ServiceSpec{Selector: app, PublishNotReadyAddresses: true, Ports: []*corev1.ServicePort{
			{Port: 5432, TargetPort: metav1.FromInt(5433)},
		}},
	}
	if _, err := cs.Services("default").Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	createPod(t, cs, pod("db-0", "10.244.1.2", false, app))
	waitEndpoints(t, cs, "db", "[10.244.1.2 | | :5433]")
}

func TestSubsetsUnit(t *testing.T) {
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "s", Namespace: "default"}, Spec: &corev1.ServiceSpec{
		Ports: []*corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 81, TargetPort: metav1.FromString("named"), Protocol: "UDP"}},
	}}
	p1 := pod("p1", "10.0.0.2", true, nil, &corev1.ContainerPort{Name: "named", ContainerPort: 53, Protocol: "UDP"})
	p2 := pod("p2", "10.0.0.1", true, nil, &corev1.ContainerPort{Name: "named", ContainerPort: 53}) // TCP: b unresolved
	p3 := proto.Clone(p1).(*corev1.Pod)
	p3.Metadata.Name, p3.Status.PodIp = "p3", "10.0.0.3"
	p3.Metadata.DeletionTimestamp = metav1.Now()
	p4 := proto.Clone(p1).(*corev1.Pod)
	p4.Metadata.Name, p4.Status.PodIp, p4.Status.Phase = "p4", "10.0.0.4", "Succeeded"
	got := Subsets(svc, []*corev1.Pod{p1, p2, p3, p4})
	if s := summary(&corev1.Endpoints{Subsets: got}); s != "[10.0.0.1 | | a:80][10.0.0.2 | | a:80 b:53]" {
		t.Errorf("subsets = %s", s)
	}
	// Order of input does not matter.
	again := Subsets(svc, []*corev1.Pod{p4, p2, p3, p1})
	if !proto.Equal(&corev1.Endpoints{Subsets: got}, &corev1.Endpoints{Subsets: again}) {
		t.Error("subsets depend on pod order")
	}
}
