package integration

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

// pods/log is proxied to the kubelet of the pod's node (InternalIP and kubeletEndpoint
// port), with the container picked as upstream does.
func TestPodLogsProxiedToKubelet(t *testing.T) {
	ts := start(t)
	ctx := context.Background()
	var gotPath, gotQuery string
	kubelet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.Path, r.URL.RawQuery
		io.WriteString(w, "line 1\nline 2\n")
	}))
	defer kubelet.Close()
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(kubelet.URL, "http://"))
	var port int32
	for _, c := range portStr {
		port = port*10 + int32(c-'0')
	}
	node := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "log-node"}}
	node, err := ts.Client.Nodes().Create(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	node.Status = &corev1.NodeStatus{
		Addresses:       []*corev1.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}},
		DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: port}},
	}
	if _, err := ts.Client.Nodes().UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}
	pod := newPod("default", "logpod", nil)
	pod.Spec.NodeName = "log-node"
	if _, err := ts.Client.Pods("default").Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(ts.URL + "/api/v1/namespaces/default/pods/logpod/log?tailLines=2&follow=true")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "line 1\nline 2\n" {
		t.Fatalf("logs: %d %q", resp.StatusCode, body)
	}
	container := pod.Spec.Containers[0].Name
	if gotPath != "/containerLogs/default/logpod/"+container || !strings.Contains(gotQuery, "tailLines=2") || !strings.Contains(gotQuery, "follow=true") {
		t.Fatalf("kubelet asked for %s?%s", gotPath, gotQuery)
	}
	// A container that is not in the pod is refused by the apiserver, naming it.
	resp, err = http.Get(ts.URL + "/api/v1/namespaces/default/pods/logpod/log?container=nope")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "container nope is not valid for pod logpod") {
		t.Fatalf("bad container: %d %s", resp.StatusCode, body)
	}
}
