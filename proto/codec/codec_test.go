package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/scheme"
)

func ptr[T any](v T) *T { return &v }

var when = time.Date(2026, 11, 22, 4, 15, 0, 0, time.UTC)

func testLease() *coordinationv1.Lease {
	return &coordinationv1.Lease{
		Metadata: &metav1.ObjectMeta{
			Name: "kube-scheduler", Namespace: "kube-system", Uid: "u-1", ResourceVersion: "12",
			Generation:        9007199254740993, // beyond float64 precision: must stay an exact number
			CreationTimestamp: metav1.NewTime(when),
			Labels:            map[string]string{"b": "2", "a": "1", "z<&>": "\u2028"},
			Annotations:       map[string]string{"note": "ünïcødé \"quoted\" \\ \n\t"},
			OwnerReferences: []*metav1.OwnerReference{
				{ApiVersion: "v1", Kind: "Node", Name: "n1", Uid: "u-2", Controller: ptr(false)},
			},
			Finalizers:                 []string{"f1", "f2"},
			DeletionGracePeriodSeconds: ptr(int64(0)),
		},
		Spec: &coordinationv1.LeaseSpec{
			HolderIdentity:       ptr("node-1_abc"),
			LeaseDurationSeconds: ptr(int32(0)),
			AcquireTime:          metav1.NewMicroTime(when.Add(123456789 * time.Nanosecond)),
			RenewTime:            &metav1.MicroTime{Seconds: when.Unix()},
		},
	}
}

func TestEncodeObjectExact(t *testing.T) {
	b, err := EncodeObject(testLease())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"Lease","apiVersion":"coordination.k8s.io/v1",` +
		`"metadata":{"name":"kube-scheduler","namespace":"kube-system","uid":"u-1","resourceVersion":"12",` +
		`"generation":9007199254740993,"creationTimestamp":"2026-11-22T04:15:00Z","deletionGracePeriodSeconds":0,` +
		`"labels":{"a":"1","b":"2","z\u003c\u0026\u003e":"\u2028"},` +
		`"annotations":{"note":"ünïcødé \"quoted\" \\ \n\t"},` +
		`"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":"u-2","controller":false}],` +
		`"finalizers":["f1","f2"]},` +
		`"spec":{"holderIdentity":"node-1_abc","leaseDurationSeconds":0,` +
		`"acquireTime":"2026-11-22T04:15:00.123456Z","renewTime":"2026-11-22T04:15:00.000000Z"}}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	// The item form is the same without kind and apiVersion.
	item, err := EncodeItem(testLease())
	if err != nil {
		t.Fatal(err)
	}
	if want := "{" + want[len(`{"kind":"Lease","apiVersion":"coordination.k8s.io/v1",`):]; string(item) != want {
		t.Errorf("item\n%s\nwant\n%s", item, want)
	}
	// Unset stays unset: an empty lease is just its type.
	b, _ = EncodeObject(&coordinationv1.Lease{})
	if string(b) != `{"kind":"Lease","apiVersion":"coordination.k8s.io/v1"}` {
		t.Errorf("empty lease: %s", b)
	}
}

func TestSpecialScalars(t *testing.T) {
	c := &corev1.Container{
		Name: "web",
		Resources: &corev1.ResourceRequirements{
			Limits:   map[string]*metav1.Quantity{"memory": metav1.MustParseQuantity("1024Mi"), "cpu": metav1.MustParseQuantity("500m")},
			Requests: map[string]*metav1.Quantity{"cpu": {}},
		},
		LivenessProbe:  &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/", Port: metav1.FromInt(8080)}},
		ReadinessProbe: &corev1.Probe{TcpSocket: &corev1.TCPSocketAction{Port: metav1.FromString("http")}},
	}
	b, err := MarshalJSON(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"web","resources":{"limits":{"cpu":"500m","memory":"1Gi"},"requests":{"cpu":"0"}},` +
		`"livenessProbe":{"httpGet":{"path":"/","port":8080}},"readinessProbe":{"tcpSocket":{"port":"http"}}}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}

	// Decoding accepts numbers for quantities and canonicalises.
	var got corev1.Container
	in := `{"resources":{"limits":{"cpu":1,"memory":1.5,"x":"1000m","y":" 2Ki ","z":null}},` +
		`"livenessProbe":{"httpGet":{"port":"8080"}},"readinessProbe":{"tcpSocket":{"port":-1}}}`
	if err := UnmarshalJSON([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	lim := got.Resources.Limits
	for k, v := range map[string]string{"cpu": "1", "memory": "1500m", "x": "1", "y": "2Ki", "z": "0"} {
		if lim[k].AsString() != v {
			t.Errorf("limits[%s] = %q, want %q", k, lim[k].AsString(), v)
		}
	}
	if p := got.LivenessProbe.HttpGet.Port; p.Type != 1 || p.StrVal != "8080" {
		t.Errorf("string port: %v", p)
	}
	if p := got.ReadinessProbe.TcpSocket.Port; p.Type != 0 || p.IntVal != -1 {
		t.Errorf("int port: %v", p)
	}
}

func TestTimes(t *testing.T) {
	var l coordinationv1.Lease
	in := `{"metadata":{"creationTimestamp":"2026-11-22T06:15:00.75+02:00"},` +
		`"spec":{"acquireTime":"2026-11-22T04:15:00Z","renewTime":"2026-11-22T04:15:00.1234567Z"}}`
	if _, _, err := DecodeObject([]byte(in), &l); err != nil {
		t.Fatal(err)
	}
	if ct := l.Metadata.CreationTimestamp; ct.Seconds != when.Unix() || ct.Nanos != 0 {
		t.Errorf("creationTimestamp %v", ct)
	}
	if rt := l.Spec.RenewTime; rt.Seconds != when.Unix() || rt.Nanos != 123456000 {
		t.Errorf("renewTime %v", rt)
	}
	b, _ := EncodeItem(&l)
	want := `{"metadata":{"creationTimestamp":"2026-11-22T04:15:00Z"},"spec":{"acquireTime":"2026-11-22T04:15:00.000000Z","renewTime":"2026-11-22T04:15:00.123456Z"}}`
	if string(b) != want {
		t.Errorf("got %s", b)
	}
	_, err := EncodeItem(&metav1.ObjectMeta{CreationTimestamp: &metav1.Time{Seconds: 1 << 40}})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "creationTimestamp" {
		t.Errorf("out of range time: %v", err)
	}
}

func TestOptionalAndInt64(t *testing.T) {
	d := &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Replicas: ptr(int32(0))}}
	b, _ := EncodeObject(d)
	if want := `{"kind":"Deployment","apiVersion":"apps/v1","spec":{"replicas":0}}`; string(b) != want {
		t.Errorf("got %s", b)
	}
	d.Spec.Replicas = nil
	b, _ = EncodeObject(d)
	if want := `{"kind":"Deployment","apiVersion":"apps/v1","spec":{}}`; string(b) != want {
		t.Errorf("got %s", b)
	}
	var back appsv1.Deployment
	if _, _, err := DecodeObject([]byte(`{"spec":{"replicas":0}}`), &back); err != nil || back.Spec.Replicas == nil || *back.Spec.Replicas != 0 {
		t.Errorf("optional zero lost: %v %v", back.Spec, err)
	}
	var m metav1.ObjectMeta
	if err := UnmarshalJSON([]byte(`{"generation":-9223372036854775808}`), &m); err != nil || m.Generation != -1<<63 {
		t.Errorf("int64: %v %v", m.Generation, err)
	}
}

func TestStatusAndBytes(t *testing.T) {
	st := &metav1.Status{ApiVersion: "v1", Kind: "Status", Metadata: &metav1.ListMeta{}, Status: "Failure",
		Message: `pods "x" not found`, Reason: "NotFound", Code: 404,
		Details: &metav1.StatusDetails{Name: "x", Kind: "pods", Causes: []*metav1.StatusCause{{Reason: "FieldValueInvalid", Field: "spec.replicas"}}}}
	b, _ := MarshalJSON(st)
	want := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"x\" not found",` +
		`"reason":"NotFound","details":{"name":"x","kind":"pods","causes":[{"reason":"FieldValueInvalid","field":"spec.replicas"}]},"code":404}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	var back metav1.Status
	av, k, err := DecodeObject(b, &back)
	if err != nil || av != "v1" || k != "Status" || !proto.Equal(&back, st) {
		t.Errorf("status round trip: %v %q %q %v", err, av, k, &back)
	}

	s := &corev1.Secret{Metadata: &metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"k": []byte("hello\x00\xff"), "e": {}}}
	b, _ = EncodeObject(s)
	if want := `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},"data":{"e":"","k":"aGVsbG8A/w=="}}`; string(b) != want {
		t.Errorf("got %s", b)
	}
	roundTrip(t, s)
}

func roundTrip(t *testing.T, obj scheme.Object) {
	t.Helper()
	b, err := EncodeObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	back := obj.ProtoReflect().New().Interface()
	r, _ := scheme.For(obj)
	av, kind, err := DecodeObject(b, back)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if av != r.GroupVersion() || kind != r.Kind {
		t.Errorf("type meta %q %q", av, kind)
	}
	if !proto.Equal(obj, back) {
		t.Errorf("round trip differs:\n%v\n%v\n%s", obj, back, b)
	}
	y, err := ToYAML(b)
	if err != nil {
		t.Fatal(err)
	}
	back2 := obj.ProtoReflect().New().Interface()
	if _, _, err := DecodeObject(y, back2); err != nil || !proto.Equal(obj, back2) {
		t.Errorf("YAML round trip: %v\n%s", err, y)
	}
}

func testPod() *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{"app": "web"},
			CreationTimestamp: metav1.NewTime(when), DeletionTimestamp: metav1.NewTime(when.Add(time.Hour))},
		Spec: &corev1.PodSpec{
			Containers: []*corev1.Container{{
				Name: "web", Image: "kube5/httpenv:1.0", Command: []string{"/httpenv"},
				Ports: []*corev1.ContainerPort{{ContainerPort: 8888, Protocol: "TCP"}},
				Resources: &corev1.ResourceRequirements{
					Requests: map[string]*metav1.Quantity{"cpu": metav1.MustParseQuantity("250m"), "memory": metav1.MustParseQuantity("128Mi")},
				},
				ReadinessProbe: &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/", Port: metav1.FromString("http")}, PeriodSeconds: 5},
			}},
			TerminationGracePeriodSeconds: ptr(int64(30)),
			NodeSelector:                  map[string]string{"disk": "ssd"},
			Priority:                      ptr(int32(0)),
			EnableServiceLinks:            ptr(false),
		},
		Status: &corev1.PodStatus{Phase: "Running", PodIp: "10.244.1.5", StartTime: metav1.NewTime(when),
			Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: metav1.NewTime(when)}}},
	}
}

func TestRoundTrip(t *testing.T) {
	roundTrip(t, testLease())
	roundTrip(t, &coordinationv1.Lease{})
	roundTrip(t, &coordinationv1.Lease{Spec: &coordinationv1.LeaseSpec{}})
	roundTrip(t, testPod())
	roundTrip(t, &appsv1.Deployment{
		Metadata: &metav1.ObjectMeta{Name: "web"},
		Spec: &appsv1.DeploymentSpec{Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
				MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"a", "b"}}}},
			Strategy: &appsv1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: metav1.FromString("25%"), MaxUnavailable: metav1.FromInt(0)}},
			Template: &corev1.PodTemplateSpec{Spec: testPod().Spec}},
	})
	for _, m := range []proto.Message{
		&metav1.DeleteOptions{ApiVersion: "v1", Kind: "DeleteOptions", GracePeriodSeconds: ptr(int64(0)),
			Preconditions: &metav1.Preconditions{Uid: ptr(""), ResourceVersion: ptr("5")}, PropagationPolicy: ptr("Foreground"), DryRun: []string{"All"}},
		&metav1.ListMeta{ResourceVersion: "7", Continue: "abc", RemainingItemCount: ptr(int64(0))},
		&metav1.TypeMeta{ApiVersion: "apps/v1", Kind: "Deployment"},
		&metav1.IntOrString{Type: 1, StrVal: "x"},
		&metav1.Quantity{String_: "1536Mi"},
		&metav1.Time{Seconds: 1},
	} {
		b, err := MarshalJSON(m)
		if err != nil {
			t.Fatal(err)
		}
		back := m.ProtoReflect().New().Interface()
		if err := UnmarshalJSON(b, back); err != nil || !proto.Equal(m, back) {
			t.Errorf("%T round trip: %v\n%s\n%v", m, err, b, back)
		}
	}
}

func TestUnknownFields(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labelz":{}},
	"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","imagee":"y","resources":{"limits":{"cpu":"1"},"limitz":1},
	"readinessProbe":{"httpGet":{"port":80,"pathh":"/"}}}],"bogus":[1,{"a":[]}]},"extra":null}`
	var p corev1.Pod
	av, kind, err := DecodeObject([]byte(in), &p)
	if av != "v1" || kind != "Pod" {
		t.Errorf("type meta %q %q", av, kind)
	}
	var fes FieldErrors
	if !errors.As(err, &fes) {
		t.Fatalf("error %T %v", err, err)
	}
	want := []string{
		`unknown field "metadata.labelz"`,
		`unknown field "spec.containers[1].imagee"`,
		`unknown field "spec.containers[1].resources.limitz"`,
		`unknown field "spec.containers[1].readinessProbe.httpGet.pathh"`,
		`unknown field "spec.bogus"`,
		`unknown field "extra"`,
	}
	if err.Error() != strings.Join(want, ", ") {
		t.Errorf("got  %v\nwant %s", err, strings.Join(want, ", "))
	}
	if !OnlyUnknown(err) || fes[1].Path != "spec.containers[1].imagee" || !fes[1].Unknown {
		t.Errorf("FieldErrors %#v", fes[1])
	}
	// Everything known was decoded, so fieldValidation=Ignore can go on with p.
	if p.Spec.Containers[1].Name != "b" || p.Spec.Containers[1].Resources.Limits["cpu"].AsString() != "1" ||
		p.Spec.Containers[1].ReadinessProbe.HttpGet.Port.IntVal != 80 {
		t.Errorf("known fields not decoded: %v", &p)
	}
	// Field names are case-sensitive JSON names; proto names are unknown.
	err = UnmarshalJSON([]byte(`{"Name":"x","resource_version":"1"}`), &metav1.ObjectMeta{})
	if err == nil || err.Error() != `unknown field "Name", unknown field "resource_version"` {
		t.Errorf("got %v", err)
	}
}

func TestWrongTypes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"spec":{"replicas":"3"}}`, `spec.replicas: expected an integer, got string "3"`},
		{`{"spec":{"replicas":3.5}}`, `spec.replicas: expected an integer, got number 3.5`},
		{`{"spec":{"replicas":1e2}}`, `spec.replicas: expected an integer, got number 1e2`},
		{`{"spec":{"replicas":3000000000}}`, `spec.replicas: expected an integer in int32 range, got number 3000000000`},
		{`{"spec":{"paused":"true"}}`, `spec.paused: expected a boolean, got string "true"`},
		{`{"metadata":{"name":123}}`, `metadata.name: expected a string, got number 123`},
		{`{"metadata":{"labels":{"a":1}}}`, `metadata.labels[a]: expected a string, got number 1`},
		{`{"metadata":{"labels":["a"]}}`, `metadata.labels: expected an object, got array`},
		{`{"metadata":{"finalizers":"a"}}`, `metadata.finalizers: expected an array, got string "a"`},
		{`{"metadata":{"finalizers":["a",true]}}`, `metadata.finalizers[1]: expected a string, got boolean true`},
		{`{"metadata":{"creationTimestamp":"yesterday"}}`, `metadata.creationTimestamp: expected an RFC 3339 time, got string "yesterday"`},
		{`{"metadata":{"creationTimestamp":5}}`, `metadata.creationTimestamp: expected an RFC 3339 time string, got number 5`},
		{`{"metadata":"x"}`, `metadata: expected an object, got string "x"`},
		{`{"spec":{"template":{"spec":{"containers":[{},{"resources":{"limits":{"cpu":"1x"}}}]}}}}`,
			`spec.template.spec.containers[1].resources.limits[cpu]: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`},
		{`{"spec":{"template":{"spec":{"containers":[{"resources":{"requests":{"memory":true}}}]}}}}`,
			`spec.template.spec.containers[0].resources.requests[memory]: expected a quantity string or number, got boolean true`},
		{`{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1.5}}}}`, `spec.strategy.rollingUpdate.maxSurge: expected an integer, got number 1.5`},
		{`{"spec":{"strategy":{"rollingUpdate":{"maxSurge":{}}}}}`, `spec.strategy.rollingUpdate.maxSurge: expected an integer or a string, got object`},
		{`{"kind":7}`, `kind: expected a string, got number 7`},
		{`"x"`, `expected an object, got string "x"`},
		{`null`, `expected an object, got null`},
		{`{"metadata":{"name":1,"uid":2},"spec":{"replicas":"x","paused":1,"selectorr":1}}`,
			`metadata.name: expected a string, got number 1, metadata.uid: expected a string, got number 2, ` +
				`spec.replicas: expected an integer, got string "x", spec.paused: expected a boolean, got number 1, unknown field "spec.selectorr"`},
	} {
		var d appsv1.Deployment
		_, _, err := DecodeObject([]byte(c.in), &d)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got  %v\n want %s", c.in, err, c.want)
		}
		var fes FieldErrors
		if !errors.As(err, &fes) || OnlyUnknown(err) {
			t.Errorf("%s: %T is not a FieldErrors of value errors", c.in, err)
		}
	}
	var s corev1.Secret
	if err := UnmarshalJSON([]byte(`{"data":{"k":"not base64!"}}`), &s); err == nil || !strings.HasPrefix(err.Error(), "data[k]: expected a base64 string: illegal base64") {
		t.Errorf("base64: %v", err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, in := range []string{
		`{`, `{"a"}`, `{"metadata":}`, `{"metadata":{"name":"x"}`, `{"a":1,}`, `{"spec":{"replicas":01}}`,
		`{"metadata":{"name":"\x"}}`, `{"metadata":{"name":"` + "\x01" + `"}}`, `{} {}`, `{"spec":{"paused":tru}}`,
		`{"spec":{"replicas":-}}`, `{"metadata":{"finalizers":[1,]}}`, `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
		"", "   ", "{\"a\":\"\\ud800\\u12\"}",
	} {
		var d appsv1.Deployment
		_, _, err := DecodeObject([]byte(in), &d)
		var se *SyntaxError
		var fes FieldErrors
		if in == "" || in == "   " {
			// YAML of nothing is null.
			if !errors.As(err, &fes) {
				t.Errorf("%q: %v", in, err)
			}
			continue
		}
		if !errors.As(err, &se) {
			t.Errorf("%.40q: want a syntax error, got %T %v", in, err, err)
		}
	}
	if err := UnmarshalJSON(nil, &metav1.Status{}); err == nil {
		t.Error("empty JSON must fail")
	}
}

func TestStrings(t *testing.T) {
	var m metav1.ObjectMeta
	in := `{"name":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x\udc00","namespace":"` + "\xff\xfe" + `ok","uid":"plain é"}`
	if err := UnmarshalJSON([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	if want := "a\"b\\c/d\b\f\n\r\té😀\uFFFDx\uFFFD"; m.Name != want {
		t.Errorf("name %q, want %q", m.Name, want)
	}
	if m.Namespace != "\uFFFD\uFFFDok" || m.Uid != "plain é" {
		t.Errorf("namespace %q uid %q", m.Namespace, m.Uid)
	}
	b, _ := MarshalJSON(&metav1.ObjectMeta{Name: "\x01<\u2029", Namespace: "bad\xffutf8"})
	if want := `{"name":"\u0001\u003c\u2029","namespace":"bad\ufffdutf8"}`; string(b) != want {
		t.Errorf("got %s want %s", b, want)
	}
}

func TestNullAndDuplicates(t *testing.T) {
	var l coordinationv1.Lease
	in := `{"metadata":{"name":"a","name":"b","labels":{"x":"1"},"labels":{"y":"2"},"finalizers":["a"],"finalizers":null,
	"deletionGracePeriodSeconds":5,"deletionGracePeriodSeconds":null,"labels":{"y":"2","z":null}},
	"spec":{"holderIdentity":null,"renewTime":null,"leaseDurationSeconds":null}}`
	if _, _, err := DecodeObject([]byte(in), &l); err != nil {
		t.Fatal(err)
	}
	want := &coordinationv1.Lease{Metadata: &metav1.ObjectMeta{Name: "b", Labels: map[string]string{"y": "2", "z": ""}},
		Spec: &coordinationv1.LeaseSpec{}}
	if !proto.Equal(&l, want) {
		t.Errorf("got %v", &l)
	}
}

func TestYAML(t *testing.T) {
	in := `# a pod
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  creationTimestamp: 2026-11-22T04:15:00Z
  labels:
    app: web
spec:
  containers:
  - name: web
    image: kube5/httpenv:1.0
    resources:
      limits:
        cpu: 1
        memory: 1.5
      requests:
        cpu: 0.25
    readinessProbe:
      httpGet:
        port: 8888
  terminationGracePeriodSeconds: 0
`
	var p corev1.Pod
	av, kind, err := DecodeObject([]byte(in), &p)
	if err != nil || av != "v1" || kind != "Pod" {
		t.Fatalf("%v %q %q", err, av, kind)
	}
	c := p.Spec.Containers[0]
	if c.Resources.Limits["cpu"].AsString() != "1" || c.Resources.Limits["memory"].AsString() != "1500m" ||
		c.Resources.Requests["cpu"].AsString() != "250m" || c.ReadinessProbe.HttpGet.Port.IntVal != 8888 ||
		p.Spec.TerminationGracePeriodSeconds == nil || p.Metadata.CreationTimestamp.Seconds != when.Unix() {
		t.Errorf("decoded %v", &p)
	}
	_, _, err = DecodeObject([]byte("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: x\n    imagee: y\n"), &p)
	if err == nil || err.Error() != `unknown field "spec.containers[0].imagee"` {
		t.Errorf("got %v", err)
	}
	_, _, err = DecodeObject([]byte("kind: Pod\n  bad: [indent\n"), &p)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("bad YAML: %T %v", err, err)
	}
}

func TestPeekAndDecode(t *testing.T) {
	av, kind, err := PeekTypeMeta([]byte(`{"metadata":{"x":[1,2]},"kind":"Lease","apiVersion":"coordination.k8s.io/v1","spec":{}}`))
	if err != nil || av != "coordination.k8s.io/v1" || kind != "Lease" {
		t.Errorf("%q %q %v", av, kind, err)
	}
	obj, r, err := Decode([]byte("apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: x\n"))
	if err != nil || r.Resource != "leases" || obj.GetMetadata().GetName() != "x" {
		t.Errorf("%v %v %v", obj, r, err)
	}
	if _, _, err := Decode([]byte(`{"apiVersion":"v1","kind":"Nope"}`)); err == nil || !strings.Contains(err.Error(), `no kind "Nope" is registered for version "v1"`) {
		t.Errorf("%v", err)
	}
	if _, _, err := Decode([]byte(`{"apiVersion":"v1"}`)); err == nil {
		t.Error("missing kind must fail")
	}
}

func TestEncodeList(t *testing.T) {
	r, _ := scheme.ByGroupResource("", "pods")
	var items [][]byte
	for _, name := range []string{"a", "b"} {
		b, err := EncodeItem(&corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, b)
	}
	want := `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"12"},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}`
	if got := AppendList(nil, r, "12", "", items); string(got) != want {
		t.Errorf("got %s", got)
	}
	var buf bytes.Buffer
	if err := EncodeList(&buf, r, "12", "", items); err != nil || buf.String() != want {
		t.Errorf("EncodeList %s %v", buf.String(), err)
	}
	lr, _ := scheme.ByGroupResource("apps", "deployments")
	want = `{"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{"resourceVersion":"3","continue":"tok"},"items":[]}`
	if got := AppendList(nil, lr, "3", "tok", nil); string(got) != want {
		t.Errorf("got %s", got)
	}
	// Large lists stream in chunks and stay byte-identical.
	big := make([][]byte, 1000)
	for i := range big {
		big[i], _ = EncodeItem(testPod())
	}
	buf.Reset()
	if err := EncodeList(&buf, r, "9", "", big); err != nil || !bytes.Equal(buf.Bytes(), AppendList(nil, r, "9", "", big)) {
		t.Errorf("streamed list differs: %v", err)
	}
	y, err := ToYAML(AppendList(nil, r, "12", "", items[:1]))
	if err != nil || !strings.Contains(string(y), "kind: PodList\n") {
		t.Errorf("%s %v", y, err)
	}
}

func TestEncodeObjectUnregistered(t *testing.T) {
	if _, err := EncodeObject(&corev1.PodTemplateSpec{}); err == nil {
		t.Error("an unregistered type must fail")
	}
}

func BenchmarkEncodePod(b *testing.B) {
	p := testPod()
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = AppendItem(buf[:0], p)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodePod(b *testing.B) {
	data, _ := EncodeObject(testPod())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		var p corev1.Pod
		if _, _, err := DecodeObject(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// The descriptor tables are built lazily and shared: hammer them from several goroutines
// under -race.
func TestConcurrent(t *testing.T) {
	pod, _ := EncodeObject(testPod())
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				var p corev1.Pod
				if _, _, err = DecodeObject(pod, &p); err == nil {
					var b []byte
					if b, err = EncodeObject(&p); err == nil && !bytes.Equal(b, pod) {
						err = errors.New("different bytes")
					}
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if OnlyUnknown(errors.New("x")) || OnlyUnknown(nil) || OnlyUnknown(FieldErrors{}) {
		t.Error("OnlyUnknown must need unknown-field errors")
	}
}

// TestZeroFieldsUpstreamAlwaysWrites: fields without omitempty upstream are written as 0,
// false or "" (jsonpath on them prints 0, not nothing); omitempty ones stay out.
func TestZeroFieldsUpstreamAlwaysWrites(t *testing.T) {
	cases := []struct {
		m    proto.Message
		want string
	}{
		{&appsv1.ReplicaSetStatus{}, `{"replicas":0}`},
		{&appsv1.DeploymentStatus{}, `{}`},
		{&corev1.ContainerStatus{Name: "c", State: &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}},
			`{"name":"c","state":{"terminated":{"exitCode":0,"reason":"Completed"}},"ready":false,"restartCount":0,"image":"","imageID":""}`},
	}
	for _, c := range cases {
		b, err := MarshalJSON(c.m)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%T: got %s, want %s", c.m, b, c.want)
		}
	}
}
