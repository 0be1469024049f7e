// Package integration tests kube-apiserver as a user meets it: a real apiserver started
// in-process on a real embedded etcd (app/testing), driven over the REST API (net/http,
// upstream paths, JSON bodies) and over gRPC through the typed client of kube5/proto.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"kube5/apiserver/app/options"
	apptesting "kube5/apiserver/app/testing"
	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/client"
	"kube5/proto/codec"
	"kube5/proto/scheme"
)

// timeout bounds every wait of the suite; a healthy run needs a small fraction of it.
const timeout = 30 * time.Second

// start runs an apiserver for the test; it stops on cleanup.
func start(t *testing.T, customize ...func(*options.Options)) *apptesting.TestServer {
	t.Helper()
	return apptesting.Start(t, customize...)
}

// second starts another apiserver on the etcd of ts (as a second control-plane member),
// so that a test can change the cluster while ts is down.
func second(t *testing.T, ts *apptesting.TestServer) *apptesting.TestServer {
	t.Helper()
	return apptesting.Start(t, func(o *options.Options) { o.EtcdServers = ts.EtcdEndpoints })
}

// etcdClient is a client of the test server's etcd, closed on cleanup.
func etcdClient(t *testing.T, ts *apptesting.TestServer) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: ts.EtcdEndpoints, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// etcdKeys lists the keys under prefix, without the prefix, sorted.
func etcdKeys(t *testing.T, ts *apptesting.TestServer, prefix string) []string {
	t.Helper()
	resp, err := etcdClient(t, ts).Get(ctxFor(t), prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, strings.TrimPrefix(string(kv.Key), prefix))
	}
	sort.Strings(out)
	return out
}

// fastClient is a client that reconnects quickly after the apiserver restarts.
func fastClient(t *testing.T, ts *apptesting.TestServer) *client.Clientset {
	t.Helper()
	cs, err := client.New(client.Config{Server: ts.URL, DialOptions: []grpc.DialOption{
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.5, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: time.Second,
		}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 10ms until it holds; after the suite's timeout it fails
// with cond's last explanation.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v: %s", what, timeout, why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newNamespace creates a namespace with a unique name, so tests sharing a server do not
// see each other's objects.
func newNamespace(t *testing.T, cs *client.Clientset, prefix string) string {
	t.Helper()
	ns, err := cs.Namespaces().Create(ctxFor(t), &corev1.Namespace{Metadata: &metav1.ObjectMeta{GenerateName: prefix + "-"}})
	if err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Metadata.Name
}

// --- REST ---

// response is an HTTP answer with its body read.
type response struct {
	Code        int
	Body        []byte
	ContentType string
}

// status decodes the body as a metav1.Status.
func (r response) status(t *testing.T) *metav1.Status {
	t.Helper()
	st := &metav1.Status{}
	if err := codec.UnmarshalJSON(r.Body, st); err != nil {
		t.Fatalf("answer %d is not a Status: %v: %s", r.Code, err, r.Body)
	}
	return st
}

// object decodes the body into obj (an API object with kind and apiVersion).
func (r response) object(t *testing.T, obj scheme.Object) {
	t.Helper()
	if _, _, err := codec.DecodeObject(r.Body, obj); err != nil {
		t.Fatalf("answer %d is not a %T: %v: %s", r.Code, obj, err, r.Body)
	}
}

// generic decodes the body as untyped JSON.
func (r response) generic(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %s", r.Code, err, r.Body)
	}
	return m
}

// do sends a request; body is nil, []byte, a string, a scheme.Object (encoded as upstream
// JSON) or anything encoding/json takes.
func do(t *testing.T, ts *apptesting.TestServer, method, path string, body any, contentType ...string) response {
	t.Helper()
	r, err := tryDo(ts, method, path, body, contentType...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryDo is do for goroutines other than the test's: it returns what failed.
func tryDo(ts *apptesting.TestServer, method, path string, body any, contentType ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		var b []byte
		var err error
		switch v := body.(type) {
		case []byte:
			b = v
		case string:
			b = []byte(v)
		case scheme.Object:
			b, err = codec.EncodeObject(v)
		default:
			b, err = json.Marshal(v)
		}
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, ts.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	ct := "application/json"
	if len(contentType) > 0 {
		ct = contentType[0]
	}
	if body != nil {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return response{Code: resp.StatusCode, Body: b, ContentType: resp.Header.Get("Content-Type")}, nil
}

// expect fails unless the answer has code.
func (r response) expect(t *testing.T, code int, what string) response {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: got %d, want %d: %s", what, r.Code, code, r.Body)
	}
	return r
}

// expectStatus checks an error answer: HTTP code, Status code and reason, and that the
// message mentions each of mentions.
func (r response) expectStatus(t *testing.T, code int, reason string, mentions ...string) *metav1.Status {
	t.Helper()
	r.expect(t, code, reason)
	st := r.status(t)
	if st.Kind != "Status" || st.ApiVersion != "v1" || st.Status != "Failure" || st.Code != int32(code) || st.Reason != reason {
		t.Fatalf("want a Failure Status %d %s, got %s", code, reason, r.Body)
	}
	for _, m := range mentions {
		if !strings.Contains(st.Message, m) {
			t.Errorf("the message %q does not mention %q", st.Message, m)
		}
	}
	return st
}

// causeFields lists details.causes[].field.
func causeFields(st *metav1.Status) []string {
	var out []string
	for _, c := range st.GetDetails().GetCauses() {
		out = append(out, c.Field)
	}
	return out
}

func hasCause(st *metav1.Status, field string) bool {
	for _, f := range causeFields(st) {
		if f == field {
			return true
		}
	}
	return false
}

// kubeletNode registers node name with a kubelet at h: an HTTP server on 127.0.0.1 that
// the apiserver's pods/log, exec, attach and portforward proxy to (InternalIP and
// kubeletEndpoint port in the node's status). The server stops on cleanup.
func kubeletNode(t *testing.T, ts *apptesting.TestServer, name string, h http.Handler) {
	t.Helper()
	kubelet := httptest.NewServer(h)
	t.Cleanup(kubelet.Close)
	port := kubelet.Listener.Addr().(*net.TCPAddr).Port
	ctx := ctxFor(t)
	node, err := ts.Client.Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	node.Status = &corev1.NodeStatus{
		Addresses:       []*corev1.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}},
		DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: int32(port)}},
	}
	if _, err := ts.Client.Nodes().UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}
}

// --- objects ---

func meta(ns, name string, labels map[string]string) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
}

func newPod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{Metadata: meta(ns, name, labels), Spec: &corev1.PodSpec{
		Containers: []*corev1.Container{{Name: "app", Image: "kube5/httpenv:1.0"}},
	}}
}

func newService(ns, name string) *corev1.Service {
	return &corev1.Service{Metadata: meta(ns, name, nil), Spec: &corev1.ServiceSpec{
		Selector: map[string]string{"app": name},
		Ports:    []*corev1.ServicePort{{Port: 80, TargetPort: metav1.FromInt(8888)}},
	}}
}

func newDeployment(ns, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{Metadata: meta(ns, name, nil), Spec: &appsv1.DeploymentSpec{
		Replicas: &replicas,
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: &corev1.PodTemplateSpec{
			Metadata: &metav1.ObjectMeta{Labels: labels},
			Spec:     &corev1.PodSpec{Containers: []*corev1.Container{{Name: "app", Image: "kube5/httpenv:1.0"}}},
		},
	}}
}

func newConfigMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{Metadata: meta(ns, name, nil), Data: data}
}

// names lists the names of objects, in order.
func names[T scheme.Object](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetMetadata().GetName())
	}
	return out
}

func sameStrings(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func urlQuery(s string) string { return url.QueryEscape(s) }
