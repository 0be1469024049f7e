package integration

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// pods/log is proxied to the kubelet of the pod's node (InternalIP and kubeletEndpoint
// port), with the container picked as upstream does.
func TestPodLogsProxiedToKubelet(t *testing.T) {
	ts := start(t)
	ctx := context.Background()
	var gotPath, gotQuery string
	kubeletNode(t, ts, "log-node", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.Path, r.URL.RawQuery
		io.WriteString(w, "line 1\nline 2\n")
	}))
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
