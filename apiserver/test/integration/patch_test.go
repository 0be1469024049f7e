package integration

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	appsv1 "kube5/proto/api/apps/v1"
	autoscalingv1 "kube5/proto/api/autoscaling/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
)

const mergePatch = "application/merge-patch+json"

// TestPatch: PATCH with a JSON merge patch adds and removes labels, merges into specs,
// and refuses what it should.
func TestPatch(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "patch")
	ctx := ctxFor(t)
	p := mustCreate(t, ts.Client.Pods(ns), newPod(ns, "p", map[string]string{"keep": "1", "drop": "2"}))
	path := "/api/v1/namespaces/" + ns + "/pods/p"

	out := &corev1.Pod{}
	do(t, ts, "PATCH", path, `{"metadata":{"labels":{"added":"3","drop":null}}}`, mergePatch).expect(t, http.StatusOK, "PATCH labels").object(t, out)
	want := map[string]string{"keep": "1", "added": "3"}
	if len(out.Metadata.Labels) != 2 || out.Metadata.Labels["keep"] != "1" || out.Metadata.Labels["added"] != "3" {
		t.Fatalf("labels after the patch %v, want %v", out.Metadata.Labels, want)
	}
	if out.Metadata.ResourceVersion == p.Metadata.ResourceVersion || out.Spec.Containers[0].Image != p.Spec.Containers[0].Image {
		t.Fatalf("the patch did not write, or touched the spec: %v", out)
	}
	got, err := ts.Client.Pods(ns).Get(ctx, "p")
	if err != nil || len(got.Metadata.Labels) != 2 || got.Metadata.Labels["added"] != "3" {
		t.Fatalf("stored labels %v (%v)", got.GetMetadata().GetLabels(), err)
	}
	// The image is the one field of a pod's spec that may change.
	do(t, ts, "PATCH", path, `{"spec":{"containers":[{"name":"app","image":"kube5/httpenv:2.0"}]}}`, mergePatch).expect(t, http.StatusOK, "PATCH image")
	if got, _ := ts.Client.Pods(ns).Get(ctx, "p"); got.Spec.Containers[0].Image != "kube5/httpenv:2.0" {
		t.Fatalf("image after the patch: %s", got.Spec.Containers[0].Image)
	}
	// A resourceVersion in the patch is a precondition.
	do(t, ts, "PATCH", path, `{"metadata":{"resourceVersion":"`+p.Metadata.ResourceVersion+`","labels":{"x":"y"}}}`, mergePatch).
		expectStatus(t, http.StatusConflict, "Conflict")
	// A patch that makes the object invalid is refused with the field.
	st := do(t, ts, "PATCH", path, `{"spec":{"containers":[{"name":"app","image":""}]}}`, mergePatch).expectStatus(t, http.StatusUnprocessableEntity, "Invalid")
	if !hasCause(st, "spec.containers[0].image") {
		t.Errorf("invalid patch causes %v", causeFields(st))
	}
	do(t, ts, "PATCH", path, `{"spec":{"containerz":[]}}`, mergePatch).expectStatus(t, http.StatusBadRequest, "BadRequest", "spec.containerz")
	do(t, ts, "PATCH", path, `{"metadata":`, mergePatch).expectStatus(t, http.StatusBadRequest, "BadRequest")
	do(t, ts, "PATCH", path, `[{"op":"add","path":"/metadata/labels/a","value":"b"}]`, "application/json-patch+json").
		expectStatus(t, http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	do(t, ts, "PATCH", "/api/v1/namespaces/"+ns+"/pods/missing", `{"metadata":{"labels":{"a":"b"}}}`, mergePatch).
		expectStatus(t, http.StatusNotFound, "NotFound")
	// kubectl's default flavour is applied with merge semantics.
	do(t, ts, "PATCH", path, `{"metadata":{"labels":{"smp":"yes"}}}`, "application/strategic-merge-patch+json").expect(t, http.StatusOK, "strategic merge patch")
	if got, _ := ts.Client.Pods(ns).Get(ctx, "p"); got.Metadata.Labels["smp"] != "yes" || got.Metadata.Labels["keep"] != "1" {
		t.Fatalf("labels after the strategic merge patch: %v", got.Metadata.Labels)
	}
	// Status through the status subresource.
	do(t, ts, "PATCH", path+"/status", `{"status":{"phase":"Running"}}`, mergePatch).expect(t, http.StatusOK, "PATCH status")
	if got, _ := ts.Client.Pods(ns).Get(ctx, "p"); got.Status.Phase != "Running" {
		t.Fatalf("phase after the status patch: %s", got.Status.Phase)
	}
}

// TestConcurrentPatches: merge patches of different fields of one object, sent at the
// same time, all land — none is refused for a conflict it did not ask about; and
// unconditional updates racing on one object all succeed.
func TestConcurrentPatches(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "patches")
	cms := ts.Client.ConfigMaps(ns)
	mustCreate(t, cms, newConfigMap(ns, "cm", map[string]string{"k": "v"}))
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"metadata":{"labels":{"l%d":"x"}}}`, i)
			r, err := tryDo(ts, "PATCH", "/api/v1/namespaces/"+ns+"/configmaps/cm", body, mergePatch)
			if err == nil && r.Code != http.StatusOK {
				err = fmt.Errorf("%d %s", r.Code, r.Body)
			}
			if err != nil {
				errs <- fmt.Errorf("patch %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, err := cms.Get(ctxFor(t), "cm")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Metadata.Labels) != n || got.Data["k"] != "v" {
		t.Errorf("after %d concurrent label patches: labels %v data %v", n, got.Metadata.Labels, got.Data)
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cms.Update(context.Background(), newConfigMap(ns, "cm", map[string]string{"k": fmt.Sprint(i)})); err != nil {
				errs <- fmt.Errorf("unconditional update %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestScale: deployments/scale reads and writes spec.replicas as an autoscaling/v1 Scale,
// over REST (GET, PUT, PATCH) and gRPC.
func TestScale(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "scale")
	ctx := ctxFor(t)
	deps := ts.Client.Deployments(ns)
	d := mustCreate(t, deps, newDeployment(ns, "d", 2))
	path := "/apis/apps/v1/namespaces/" + ns + "/deployments/d/scale"

	r := do(t, ts, "GET", path, nil).expect(t, http.StatusOK, "GET scale")
	m := r.generic(t)
	if m["kind"] != "Scale" || m["apiVersion"] != "autoscaling/v1" {
		t.Fatalf("GET scale: kind %v apiVersion %v", m["kind"], m["apiVersion"])
	}
	sc := &autoscalingv1.Scale{}
	r.object(t, sc)
	if sc.Metadata.Name != "d" || sc.Metadata.Namespace != ns || sc.Spec.Replicas != 2 || sc.Status.Selector != "app=d" || sc.Metadata.Uid != d.Metadata.Uid {
		t.Fatalf("GET scale: %v", sc)
	}

	sc.Spec.Replicas = 3
	out := &autoscalingv1.Scale{}
	do(t, ts, "PUT", path, sc).expect(t, http.StatusOK, "PUT scale").object(t, out)
	if out.Spec.Replicas != 3 {
		t.Fatalf("PUT scale answered %v", out)
	}
	if d, _ := deps.Get(ctx, "d"); d.GetSpec().GetReplicas() != 3 || d.Metadata.Generation != 2 {
		t.Fatalf("after PUT scale: replicas %d generation %d, want 3 and 2", d.GetSpec().GetReplicas(), d.GetMetadata().GetGeneration())
	}
	// The Scale's resourceVersion is a precondition.
	do(t, ts, "PUT", path, sc).expectStatus(t, http.StatusConflict, "Conflict")
	sc.Spec.Replicas = -1
	sc.Metadata.ResourceVersion = ""
	st := do(t, ts, "PUT", path, sc).expectStatus(t, http.StatusUnprocessableEntity, "Invalid")
	if !hasCause(st, "spec.replicas") {
		t.Errorf("negative replicas: causes %v", causeFields(st))
	}
	do(t, ts, "PATCH", path, `{"spec":{"replicas":4}}`, mergePatch).expect(t, http.StatusOK, "PATCH scale").object(t, out)
	if d, _ := deps.Get(ctx, "d"); out.Spec.Replicas != 4 || d.GetSpec().GetReplicas() != 4 {
		t.Fatalf("after PATCH scale: answered %d, stored %d, want 4", out.Spec.Replicas, d.GetSpec().GetReplicas())
	}

	// gRPC.
	g := &autoscalingv1.Scale{}
	if err := deps.GetSubresource(ctx, "d", "scale", g); err != nil || g.Spec.Replicas != 4 {
		t.Fatalf("gRPC get scale: %v %v", err, g)
	}
	g.Spec.Replicas = 6
	if err := deps.UpdateSubresource(ctx, "d", "scale", g, out); err != nil || out.Spec.Replicas != 6 {
		t.Fatalf("gRPC update scale: %v %v", err, out)
	}
	if d, _ := deps.Get(ctx, "d"); d.GetSpec().GetReplicas() != 6 {
		t.Fatalf("after gRPC scale: %d", d.GetSpec().GetReplicas())
	}
	err := deps.UpdateSubresource(ctx, "d", "scale", g, nil) // g still has the old resourceVersion
	if !apierrors.IsConflict(err) {
		t.Fatalf("gRPC scale with a stale resourceVersion: want Conflict, got %v", err)
	}
	// Scale ignores the rest of the object: the deployment's template is untouched.
	if d, _ := deps.Get(ctx, "d"); d.Spec.Template.Spec.Containers[0].Image != "kube5/httpenv:1.0" {
		t.Fatalf("scale changed the template")
	}
	if err := deps.GetSubresource(ctx, "missing", "scale", g); !apierrors.IsNotFound(err) {
		t.Fatalf("scale of a missing deployment: want NotFound, got %v", err)
	}
	do(t, ts, "GET", "/api/v1/namespaces/"+ns+"/pods/x/scale", nil).expectStatus(t, http.StatusNotFound, "NotFound")
	// ReplicaSets scale the same way.
	rs := &appsv1.ReplicaSet{Metadata: meta(ns, "rs", nil), Spec: &appsv1.ReplicaSetSpec{
		Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template}}
	mustCreate(t, ts.Client.ReplicaSets(ns), rs)
	do(t, ts, "PUT", "/apis/apps/v1/namespaces/"+ns+"/replicasets/rs/scale",
		&autoscalingv1.Scale{Metadata: &metav1.ObjectMeta{Name: "rs", Namespace: ns}, Spec: &autoscalingv1.ScaleSpec{Replicas: 0}}).
		expect(t, http.StatusOK, "scale a replicaset to 0")
	if got, _ := ts.Client.ReplicaSets(ns).Get(ctx, "rs"); got.GetSpec().GetReplicas() != 0 || got.Spec.Replicas == nil {
		t.Fatalf("replicaset replicas after scaling to 0: %v", got.GetSpec().Replicas)
	}
}
