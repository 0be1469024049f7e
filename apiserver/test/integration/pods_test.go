package integration

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
)

// TestServerSideFields: the server owns uid, creationTimestamp, resourceVersion and
// generation (1 on create, bumped on spec changes only), and generateName appends 5
// random characters.
func TestServerSideFields(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "meta")
	ctx := ctxFor(t)
	deps := ts.Client.Deployments(ns)

	in := newDeployment(ns, "d", 1)
	in.Metadata.Uid = "client-chosen"
	in.Metadata.CreationTimestamp = metav1.NewTime(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	in.Metadata.Generation = 7
	in.Metadata.ResourceVersion = "12345"
	before := time.Now().Add(-2 * time.Second)
	d, err := deps.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	m := d.Metadata
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(m.Uid) {
		t.Errorf("uid %q is not a server-generated UUID", m.Uid)
	}
	if ct := m.CreationTimestamp.AsTime(); ct.Before(before) || ct.After(time.Now().Add(2*time.Second)) {
		t.Errorf("creationTimestamp %v is not now", ct)
	}
	if m.Generation != 1 {
		t.Errorf("generation %d on create, want 1", m.Generation)
	}
	if m.ResourceVersion == "12345" || m.ResourceVersion == "" {
		t.Errorf("resourceVersion %q", m.ResourceVersion)
	}

	update := func(change func(*appsv1.Deployment)) *appsv1.Deployment {
		t.Helper()
		cur, err := deps.Get(ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		change(cur)
		out, err := deps.Update(ctx, cur)
		if err != nil {
			t.Fatal(err)
		}
		if out.Metadata.Uid != m.Uid || !proto.Equal(out.Metadata.CreationTimestamp, m.CreationTimestamp) {
			t.Fatalf("an update changed uid or creationTimestamp: %v", out.Metadata)
		}
		return out
	}
	if g := update(func(d *appsv1.Deployment) { d.Metadata.Labels = map[string]string{"x": "y"} }).Metadata.Generation; g != 1 {
		t.Errorf("a label change bumped generation to %d", g)
	}
	if g := update(func(d *appsv1.Deployment) { d.Metadata.Annotations = map[string]string{"x": "y"} }).Metadata.Generation; g != 1 {
		t.Errorf("an annotation change bumped generation to %d", g)
	}
	if g := update(func(d *appsv1.Deployment) { d.Spec.Replicas = proto.Int32(3) }).Metadata.Generation; g != 2 {
		t.Errorf("a spec change: generation %d, want 2", g)
	}
	if g := update(func(d *appsv1.Deployment) { d.Metadata.Uid = "other"; d.Metadata.Generation = 40 }).Metadata.Generation; g != 2 {
		t.Errorf("a client-set generation was stored: %d", g)
	}
	cur, _ := deps.Get(ctx, "d")
	cur.Status = &appsv1.DeploymentStatus{Replicas: 3, ObservedGeneration: 2}
	st, err := deps.UpdateStatus(ctx, cur)
	if err != nil || st.Metadata.Generation != 2 {
		t.Fatalf("a status change: %v, generation %d, want 2", err, st.GetMetadata().GetGeneration())
	}

	t.Run("generateName", func(t *testing.T) {
		re := regexp.MustCompile(`^web-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
		p := newPod(ns, "", nil)
		p.Metadata.GenerateName = "web-"
		a, err := ts.Client.Pods(ns).Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, ts, "POST", "/api/v1/namespaces/"+ns+"/pods", p).expect(t, http.StatusCreated, "generateName over REST")
		b := &corev1.Pod{}
		r.object(t, b)
		for _, got := range []*corev1.Pod{a, b} {
			if !re.MatchString(got.Metadata.Name) || got.Metadata.GenerateName != "web-" {
				t.Errorf("generated name %q (generateName %q), want web- and 5 random characters", got.Metadata.Name, got.Metadata.GenerateName)
			}
		}
		if a.Metadata.Name == b.Metadata.Name {
			t.Errorf("two creates generated the same name %s", a.Metadata.Name)
		}
		if _, err := ts.Client.Pods(ns).Get(ctx, b.Metadata.Name); err != nil {
			t.Errorf("the generated name is not stored: %v", err)
		}
	})
}

// TestStatusSubresource: an update of the object ignores its status; an update of the
// status ignores the rest — over gRPC and REST.
func TestStatusSubresource(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "status")
	ctx := ctxFor(t)
	deps := ts.Client.Deployments(ns)
	d := mustCreate(t, deps, newDeployment(ns, "d", 1))

	// Main resource: status is ignored, spec applied.
	d.Status = &appsv1.DeploymentStatus{Replicas: 9}
	d.Spec.Replicas = proto.Int32(2)
	d, err := deps.Update(ctx, d)
	if err != nil || d.GetStatus().GetReplicas() != 0 || d.GetSpec().GetReplicas() != 2 {
		t.Fatalf("update: %v, status.replicas %d (want 0), spec.replicas %d (want 2)", err, d.GetStatus().GetReplicas(), d.GetSpec().GetReplicas())
	}
	// Status subresource: spec and labels are ignored, status applied.
	d.Status = &appsv1.DeploymentStatus{Replicas: 2, ReadyReplicas: 1}
	d.Spec.Replicas = proto.Int32(5)
	d.Metadata.Labels = map[string]string{"sneaked": "in"}
	d, err = deps.UpdateStatus(ctx, d)
	if err != nil || d.GetStatus().GetReadyReplicas() != 1 || d.GetSpec().GetReplicas() != 2 || d.Metadata.Labels["sneaked"] != "" {
		t.Fatalf("update status: %v, %v %v %v", err, d.GetStatus(), d.GetSpec().GetReplicas(), d.Metadata.Labels)
	}
	// REST: PUT .../status, and GET .../status.
	path := "/apis/apps/v1/namespaces/" + ns + "/deployments/d"
	d.Status.ReadyReplicas = 2
	d.Spec.Replicas = proto.Int32(7)
	out := &appsv1.Deployment{}
	do(t, ts, "PUT", path+"/status", d).expect(t, http.StatusOK, "PUT status").object(t, out)
	if out.GetStatus().GetReadyReplicas() != 2 || out.GetSpec().GetReplicas() != 2 {
		t.Fatalf("REST status update: ready %d spec.replicas %d", out.GetStatus().GetReadyReplicas(), out.GetSpec().GetReplicas())
	}
	out.Status.ReadyReplicas = 0
	do(t, ts, "PUT", path, out).expect(t, http.StatusOK, "PUT")
	got := &appsv1.Deployment{}
	do(t, ts, "GET", path+"/status", nil).expect(t, http.StatusOK, "GET status").object(t, got)
	if got.GetStatus().GetReadyReplicas() != 2 {
		t.Fatalf("a PUT of the object changed its status: %v", got.GetStatus())
	}
	// Pods: the kubelet's status update keeps the spec.
	p := mustCreate(t, ts.Client.Pods(ns), newPod(ns, "p", nil))
	p.Status.Phase = "Running"
	p.Status.PodIp = "10.244.0.5"
	p, err = ts.Client.Pods(ns).UpdateStatus(ctx, p)
	if err != nil || p.Status.Phase != "Running" || len(p.Status.PodIps) != 1 || p.Status.PodIps[0].Ip != "10.244.0.5" {
		t.Fatalf("pod status update: %v %v", err, p.GetStatus())
	}
	if p.Status.QosClass != "BestEffort" {
		t.Errorf("the status update lost qosClass: %v", p.Status)
	}
}

// TestBinding: pods/binding sets spec.nodeName once; a second bind is 409 Conflict.
func TestBinding(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "bind")
	ctx := ctxFor(t)
	pods := ts.Client.Pods(ns)
	binding := func(name, node string) *corev1.Binding {
		return &corev1.Binding{Metadata: meta(ns, name, nil), Target: &corev1.ObjectReference{Kind: "Node", Name: node}}
	}
	mustCreate(t, pods, newPod(ns, "g", nil))
	if err := pods.CreateSubresource(ctx, "g", "binding", binding("g", "node-1"), nil); err != nil {
		t.Fatalf("bind: %v", err)
	}
	p, err := pods.Get(ctx, "g")
	if err != nil || p.Spec.NodeName != "node-1" {
		t.Fatalf("after bind: %v nodeName %q", err, p.GetSpec().GetNodeName())
	}
	scheduled := false
	for _, c := range p.Status.Conditions {
		scheduled = scheduled || (c.Type == "PodScheduled" && c.Status == "True")
	}
	if !scheduled {
		t.Errorf("no PodScheduled=True condition after bind: %v", p.Status.Conditions)
	}
	err = pods.CreateSubresource(ctx, "g", "binding", binding("g", "node-2"), nil)
	if !apierrors.IsConflict(err) {
		t.Fatalf("second bind: want Conflict, got %v", err)
	}
	if p, _ := pods.Get(ctx, "g"); p.Spec.NodeName != "node-1" {
		t.Fatalf("the second bind moved the pod to %s", p.Spec.NodeName)
	}

	// REST: POST pods/{name}/binding, and the older POST namespaces/{ns}/bindings.
	mustCreate(t, pods, newPod(ns, "r", nil))
	mustCreate(t, pods, newPod(ns, "r2", nil))
	base := "/api/v1/namespaces/" + ns
	st := do(t, ts, "POST", base+"/pods/r/binding", binding("r", "node-3")).expect(t, http.StatusCreated, "REST bind").status(t)
	if st.Status != "Success" {
		t.Errorf("bind answered %v", st)
	}
	do(t, ts, "POST", base+"/pods/r/binding", binding("r", "node-4")).expectStatus(t, http.StatusConflict, "Conflict", "already assigned")
	do(t, ts, "POST", base+"/bindings", binding("r2", "node-5")).expect(t, http.StatusCreated, "POST bindings")
	for name, node := range map[string]string{"r": "node-3", "r2": "node-5"} {
		if p, err := pods.Get(ctx, name); err != nil || p.Spec.NodeName != node {
			t.Errorf("%s: nodeName %q, want %s (%v)", name, p.GetSpec().GetNodeName(), node, err)
		}
	}
	do(t, ts, "POST", base+"/pods/missing/binding", binding("missing", "n")).expectStatus(t, http.StatusNotFound, "NotFound")
	// gRPC on the bindings resource.
	mustCreate(t, pods, newPod(ns, "g2", nil))
	if _, err := ts.Client.Resource(mustResource(t, &corev1.Binding{}), ns).Create(ctx, binding("g2", "node-6")); err != nil {
		t.Fatalf("gRPC create of a Binding: %v", err)
	}
	if p, err := pods.Get(ctx, "g2"); err != nil || p.Spec.NodeName != "node-6" {
		t.Errorf("g2: nodeName %q, want node-6 (%v)", p.GetSpec().GetNodeName(), err)
	}
}

// TestGracefulPodDeletion: a bound pod is deleted gracefully (deletionTimestamp and
// deletionGracePeriodSeconds set, the pod stays) until a delete with grace period 0; an
// unbound pod goes at once.
func TestGracefulPodDeletion(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "grace")
	ctx := ctxFor(t)
	pods := ts.Client.Pods(ns)
	bound := func(name string, grace *int64) {
		p := newPod(ns, name, nil)
		p.Spec.NodeName = "node-1"
		p.Spec.TerminationGracePeriodSeconds = grace
		mustCreate(t, pods, p)
	}

	bound("default-grace", nil)
	before := time.Now()
	if err := pods.Delete(ctx, "default-grace", nil); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "default-grace")
	if err != nil {
		t.Fatalf("a bound pod vanished on a graceful delete: %v", err)
	}
	if p.Metadata.DeletionTimestamp == nil || p.Metadata.GetDeletionGracePeriodSeconds() != 30 {
		t.Fatalf("deletionTimestamp %v, deletionGracePeriodSeconds %d; want set and 30", p.Metadata.DeletionTimestamp, p.Metadata.GetDeletionGracePeriodSeconds())
	}
	if dt := p.Metadata.DeletionTimestamp.AsTime(); dt.Before(before.Add(28*time.Second)) || dt.After(time.Now().Add(32*time.Second)) {
		t.Errorf("deletionTimestamp %v is not now + 30s", dt)
	}
	// A second delete with a longer period changes nothing; a shorter one shortens.
	if err := pods.Delete(ctx, "default-grace", &metav1.DeleteOptions{GracePeriodSeconds: proto.Int64(60)}); err != nil {
		t.Fatal(err)
	}
	if p2, _ := pods.Get(ctx, "default-grace"); p2.Metadata.GetDeletionGracePeriodSeconds() != 30 {
		t.Errorf("a longer grace period replaced 30: %d", p2.Metadata.GetDeletionGracePeriodSeconds())
	}
	if err := pods.Delete(ctx, "default-grace", &metav1.DeleteOptions{GracePeriodSeconds: proto.Int64(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "default-grace"); !apierrors.IsNotFound(err) {
		t.Fatalf("after a delete with gracePeriodSeconds=0: want NotFound, got %v", err)
	}

	// REST: DELETE answers the pod with its deletion fields; ?gracePeriodSeconds=0 removes.
	bound("custom-grace", proto.Int64(7))
	path := "/api/v1/namespaces/" + ns + "/pods/custom-grace"
	out := &corev1.Pod{}
	do(t, ts, "DELETE", path, nil).expect(t, http.StatusOK, "REST graceful delete").object(t, out)
	if out.Metadata.DeletionTimestamp == nil || out.Metadata.GetDeletionGracePeriodSeconds() != 7 {
		t.Fatalf("REST delete answered deletionGracePeriodSeconds %d, want 7 (the pod's terminationGracePeriodSeconds)", out.Metadata.GetDeletionGracePeriodSeconds())
	}
	do(t, ts, "GET", path, nil).expect(t, http.StatusOK, "GET a terminating pod")
	do(t, ts, "DELETE", path+"?gracePeriodSeconds=0", nil).expect(t, http.StatusOK, "REST delete now")
	do(t, ts, "GET", path, nil).expectStatus(t, http.StatusNotFound, "NotFound")

	// DeleteOptions in the body work as well.
	bound("body-options", nil)
	do(t, ts, "DELETE", "/api/v1/namespaces/"+ns+"/pods/body-options", `{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}`).expect(t, http.StatusOK, "DELETE with body")
	if _, err := pods.Get(ctx, "body-options"); !apierrors.IsNotFound(err) {
		t.Fatalf("DeleteOptions body with gracePeriodSeconds 0: want NotFound, got %v", err)
	}

	// Unbound pods have no kubelet to wait for.
	mustCreate(t, pods, newPod(ns, "unbound", nil))
	if err := pods.Delete(ctx, "unbound", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "unbound"); !apierrors.IsNotFound(err) {
		t.Fatalf("unbound pod after delete: want NotFound, got %v", err)
	}
}

// TestDefaults: upstream's defaults are filled in on create.
func TestDefaults(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "defaults")
	p := newPod(ns, "p", nil)
	p.Spec.Containers = []*corev1.Container{
		{Name: "untagged", Image: "nginx", Ports: []*corev1.ContainerPort{{ContainerPort: 80}}},
		{Name: "latest", Image: "nginx:latest"},
		{Name: "tagged", Image: "kube5/httpenv:1.0"},
		{Name: "digest", Image: "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"},
		{Name: "explicit", Image: "nginx", ImagePullPolicy: "Never"},
	}
	p = mustCreate(t, ts.Client.Pods(ns), p)
	s := p.Spec
	if s.RestartPolicy != "Always" || s.GetTerminationGracePeriodSeconds() != 30 || s.DnsPolicy != "ClusterFirst" || s.SchedulerName != "default-scheduler" {
		t.Errorf("pod spec defaults: restartPolicy %q terminationGracePeriodSeconds %d dnsPolicy %q schedulerName %q",
			s.RestartPolicy, s.GetTerminationGracePeriodSeconds(), s.DnsPolicy, s.SchedulerName)
	}
	want := map[string]string{"untagged": "Always", "latest": "Always", "tagged": "IfNotPresent", "digest": "IfNotPresent", "explicit": "Never"}
	for _, c := range s.Containers {
		if c.ImagePullPolicy != want[c.Name] {
			t.Errorf("container %s (%s): imagePullPolicy %q, want %q", c.Name, c.Image, c.ImagePullPolicy, want[c.Name])
		}
		if c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != "File" {
			t.Errorf("container %s: termination message defaults %q %q", c.Name, c.TerminationMessagePath, c.TerminationMessagePolicy)
		}
	}
	if pr := s.Containers[0].Ports[0].Protocol; pr != "TCP" {
		t.Errorf("container port protocol %q, want TCP", pr)
	}
	if p.Status.Phase != "Pending" || p.Status.QosClass != "BestEffort" {
		t.Errorf("new pod status %v", p.Status)
	}

	svc := newService(ns, "s")
	svc.Spec.Ports[0].TargetPort = nil
	svc = mustCreate(t, ts.Client.Services(ns), svc)
	sp := svc.Spec.Ports[0]
	if sp.Protocol != "TCP" || sp.GetTargetPort().IntValue() != 80 || svc.Spec.Type != "ClusterIP" || svc.Spec.SessionAffinity != "None" {
		t.Errorf("service defaults: protocol %q targetPort %v type %q sessionAffinity %q", sp.Protocol, sp.TargetPort, svc.Spec.Type, svc.Spec.SessionAffinity)
	}

	d := newDeployment(ns, "d", 1)
	d.Spec.Replicas = nil
	d = mustCreate(t, ts.Client.Deployments(ns), d)
	ds := d.Spec
	ru := ds.GetStrategy().GetRollingUpdate()
	if ds.GetReplicas() != 1 || ds.GetStrategy().GetType() != "RollingUpdate" || ru.GetMaxSurge().AsString() != "25%" || ru.GetMaxUnavailable().AsString() != "25%" {
		t.Errorf("deployment defaults: replicas %d strategy %v", ds.GetReplicas(), ds.GetStrategy())
	}
	if ds.GetRevisionHistoryLimit() != 10 || ds.GetProgressDeadlineSeconds() != 600 {
		t.Errorf("deployment defaults: revisionHistoryLimit %d progressDeadlineSeconds %d", ds.GetRevisionHistoryLimit(), ds.GetProgressDeadlineSeconds())
	}
	// The defaults show in REST JSON with upstream's names and encodings.
	m := do(t, ts, "GET", "/apis/apps/v1/namespaces/"+ns+"/deployments/d", nil).expect(t, http.StatusOK, "GET").generic(t)
	rolling := m["spec"].(map[string]any)["strategy"].(map[string]any)["rollingUpdate"].(map[string]any)
	if rolling["maxSurge"] != "25%" || rolling["maxUnavailable"] != "25%" {
		t.Errorf("REST rollingUpdate %v", rolling)
	}
}
