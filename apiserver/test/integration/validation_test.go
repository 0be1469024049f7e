package integration

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

// TestValidation: bad requests are refused with upstream's errors — 422 Invalid naming
// every bad field in details.causes, 400 for what cannot be decoded or does not belong to
// the path, 413 for an oversized body — and none of them changes what is stored.
func TestValidation(t *testing.T) {
	ts := start(t)
	ns := newNamespace(t, ts.Client, "valid")
	ctx := ctxFor(t)
	podsPath := "/api/v1/namespaces/" + ns + "/pods"

	t.Run("invalid objects", func(t *testing.T) {
		noContainers := newPod(ns, "no-containers", nil)
		noContainers.Spec.Containers = nil
		badPod := newPod(ns, "Bad_Name", nil)
		badPod.Spec.Containers[0].Image = ""
		badPod.Spec.RestartPolicy = "Sometimes"
		badPod.Spec.Containers[0].Ports = []*corev1.ContainerPort{{ContainerPort: 70000}}
		badSvc := newService(ns, "svc")
		badSvc.Spec.Ports[0].Port = 0
		badSvc.Spec.Type = "Weird"
		badDeploy := newDeployment(ns, "deploy", -1)
		badDeploy.Spec.Template.Metadata.Labels = map[string]string{"app": "something-else"}
		cases := []struct {
			path   string
			obj    scheme.Object
			kind   string
			fields []string
		}{
			{podsPath, noContainers, "Pod", []string{"spec.containers"}},
			{podsPath, badPod, "Pod", []string{"metadata.name", "spec.containers[0].image", "spec.restartPolicy", "spec.containers[0].ports[0].containerPort"}},
			{"/api/v1/namespaces/" + ns + "/services", badSvc, "Service", []string{"spec.ports[0].port", "spec.type"}},
			{"/apis/apps/v1/namespaces/" + ns + "/deployments", badDeploy, "Deployment", []string{"spec.replicas", "spec.template.metadata.labels"}},
			{"/api/v1/namespaces/" + ns + "/configmaps", newConfigMap(ns, "cm", map[string]string{"bad key!": "x"}), "ConfigMap", []string{"data[bad key!]"}},
			{"/api/v1/namespaces", &corev1.Namespace{Metadata: meta("", "UPPER", nil)}, "Namespace", []string{"metadata.name"}},
		}
		for _, c := range cases {
			name := c.obj.GetMetadata().GetName()
			st := do(t, ts, "POST", c.path, c.obj).expectStatus(t, http.StatusUnprocessableEntity, "Invalid", name+`" is invalid`)
			if st.GetDetails().GetKind() != c.kind || st.GetDetails().GetName() != name {
				t.Errorf("%s %s: details name %q kind %q", c.kind, name, st.GetDetails().GetName(), st.GetDetails().GetKind())
			}
			for _, f := range c.fields {
				if !hasCause(st, f) {
					t.Errorf("%s %s: REST causes %v lack %s", c.kind, name, causeFields(st), f)
				}
			}
			// The same over gRPC: the Status travels unchanged.
			_, err := ts.Client.Resource(mustResource(t, c.obj), ns).Create(ctx, c.obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("%s %s over gRPC: want Invalid, got %v", c.kind, name, err)
			}
			for _, f := range c.fields {
				if !hasCause(apierrors.StatusFor(err), f) {
					t.Errorf("%s %s: gRPC causes %v lack %s", c.kind, name, causeFields(apierrors.StatusFor(err)), f)
				}
			}
		}
	})

	t.Run("invalid update", func(t *testing.T) {
		p := mustCreate(t, ts.Client.Pods(ns), newPod(ns, "running", nil))
		bad := proto.Clone(p).(*corev1.Pod)
		bad.Spec.Containers[0].Name = "renamed" // a pod's spec is immutable but for images
		st := do(t, ts, "PUT", podsPath+"/running", bad).expectStatus(t, http.StatusUnprocessableEntity, "Invalid")
		if !hasCause(st, "spec") {
			t.Errorf("causes %v lack spec", causeFields(st))
		}
		if _, err := ts.Client.Pods(ns).Update(ctx, bad); !apierrors.IsInvalid(err) {
			t.Fatalf("gRPC: want Invalid, got %v", err)
		}
		got, err := ts.Client.Pods(ns).Get(ctx, "running")
		if err != nil || got.Metadata.ResourceVersion != p.Metadata.ResourceVersion {
			t.Fatalf("the refused update changed the pod: %v %v", err, got)
		}
		if err := ts.Client.Pods(ns).Delete(ctx, "running", nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("undecodable bodies", func(t *testing.T) {
		good := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`
		cases := []struct {
			what, path, body, contentType string
			code                          int
			reason                        string
			mentions                      []string
		}{
			{"unknown field", podsPath, strings.Replace(good, `"image"`, `"imagee"`, 1), "application/json", 400, "BadRequest", []string{"spec.containers[0].imagee"}},
			{"unknown field in YAML", podsPath, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    imagee: i\n", "application/yaml", 400, "BadRequest", []string{"spec.containers[0].imagee"}},
			{"wrong type", podsPath, strings.Replace(good, `"name":"c"`, `"name":7`, 1), "application/json", 400, "BadRequest", []string{"spec.containers[0].name"}},
			{"malformed JSON", podsPath, good[:len(good)-3], "application/json", 400, "BadRequest", nil},
			{"malformed YAML", podsPath, "apiVersion: v1\nkind: Pod\nmetadata: {name: [p\n", "application/yaml", 400, "BadRequest", nil},
			{"not an object", podsPath, `["a"]`, "application/json", 400, "BadRequest", nil},
			{"empty body", podsPath, "", "application/json", 400, "BadRequest", nil},
			{"wrong kind", podsPath, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"p"}}`, "application/json", 400, "BadRequest", []string{"Service", "Pod"}},
			{"wrong apiVersion", podsPath, strings.Replace(good, `"v1"`, `"apps/v1"`, 1), "application/json", 400, "BadRequest", []string{"apps/v1"}},
			{"namespace mismatch", podsPath, strings.Replace(good, `"name":"p"`, `"name":"p","namespace":"default"`, 1), "application/json", 400, "BadRequest", []string{"namespace"}},
			{"body over 3 MiB", "/api/v1/namespaces/" + ns + "/configmaps",
				`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"` + strings.Repeat("x", 3<<20) + `"}}`,
				"application/json", 413, "RequestEntityTooLarge", nil},
		}
		for _, c := range cases {
			var body any = []byte(c.body)
			r := do(t, ts, "POST", c.path, body, c.contentType)
			if r.Code != c.code {
				t.Errorf("%s: got %d, want %d: %.300s", c.what, r.Code, c.code, r.Body)
				continue
			}
			st := r.status(t)
			if st.Reason != c.reason || st.Code != int32(c.code) {
				t.Errorf("%s: Status %s %d, want %s %d", c.what, st.Reason, st.Code, c.reason, c.code)
			}
			for _, m := range c.mentions {
				if !strings.Contains(st.Message, m) {
					t.Errorf("%s: message %q does not mention %q", c.what, st.Message, m)
				}
			}
		}
		// A valid YAML body is accepted.
		do(t, ts, "POST", podsPath, []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-yaml\nspec:\n  containers:\n  - name: c\n    image: i\n"), "application/yaml").
			expect(t, http.StatusCreated, "YAML create")
		if err := ts.Client.Pods(ns).Delete(ctx, "from-yaml", nil); err != nil {
			t.Fatal(err)
		}
		// gRPC: an object over the message limit is refused as well.
		big := newConfigMap(ns, "big", map[string]string{"k": strings.Repeat("x", 4<<20)})
		if _, err := ts.Client.ConfigMaps(ns).Create(ctx, big); err == nil {
			t.Fatalf("a 4 MiB ConfigMap was accepted over gRPC")
		}
	})

	// Nothing of the above was stored.
	for _, r := range []*scheme.Resource{
		ts.Client.Pods(ns).Info(), ts.Client.Services(ns).Info(), ts.Client.ConfigMaps(ns).Info(), ts.Client.Deployments(ns).Info(),
	} {
		l, err := ts.Client.Resource(r, ns).List(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 0 {
			t.Errorf("refused requests stored %s: %v", r.Resource, names(l.Items))
		}
	}
	if _, err := ts.Client.Namespaces().Get(ctx, "UPPER"); !apierrors.IsNotFound(err) {
		t.Errorf("the invalid namespace: want NotFound, got %v", err)
	}
}

func mustResource(t *testing.T, obj scheme.Object) *scheme.Resource {
	t.Helper()
	r, ok := scheme.For(obj)
	if !ok {
		t.Fatalf("%T is not in the scheme", obj)
	}
	return r
}
