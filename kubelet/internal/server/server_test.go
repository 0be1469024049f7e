package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/daemon"
	"kube5/proto/remotecommand"

	"kube5/kubelet/internal/eviction"
	"kube5/kubelet/internal/runtime"
	"kube5/kubelet/internal/runtime/fake"
)

type podList []*corev1.Pod

func (p podList) Pods() []*corev1.Pod { return p }

func setup(t *testing.T) (*httptest.Server, *fake.Runtime) {
	t.Helper()
	rt := fake.New()
	ctx := context.Background()
	ref := runtime.PodRef{Name: "p", Namespace: "ns", UID: "u1"}
	sb, _ := rt.RunSandbox(ctx, runtime.SandboxConfig{Pod: ref, Image: "pause"})
	for attempt := range 2 {
		id, _ := rt.CreateContainer(ctx, sb, runtime.ContainerConfig{Pod: ref, Name: "c", Attempt: attempt, Image: "img"})
		_ = rt.StartContainer(ctx, id)
		if attempt == 0 {
			rt.Exit(id, 1)
		}
	}
	d := daemon.NewServer("kubelet", nil)
	s := &Server{NodeName: "n", RT: rt, Pods: podList{{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns", Uid: "u1"}}}}
	s.Register(d)
	ts := httptest.NewServer(d.Handler())
	t.Cleanup(ts.Close)
	return ts, rt
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLogsPickCurrentOrPreviousInstance(t *testing.T) {
	ts, _ := setup(t)
	if code, body := get(t, ts.URL+"/containerLogs/ns/p/c"); code != 200 || !strings.Contains(body, "k8s_c_p_ns_u1_1") {
		t.Fatalf("%d %q", code, body)
	}
	if code, body := get(t, ts.URL+"/containerLogs/ns/p/c?previous=true"); code != 200 || !strings.Contains(body, "k8s_c_p_ns_u1_0") {
		t.Fatalf("previous: %d %q", code, body)
	}
	if code, _ := get(t, ts.URL+"/containerLogs/ns/p/nope"); code != 404 {
		t.Fatalf("unknown container: %d", code)
	}
	if code, _ := get(t, ts.URL+"/containerLogs/ns/p/c?tailLines=-1"); code != 400 {
		t.Fatalf("bad tailLines: %d", code)
	}
}

func TestExecProtocol(t *testing.T) {
	ts, rt := setup(t)
	rt.SetExecResult(func(_ *runtime.Container, cmd []string) int {
		if cmd[0] == "fail" {
			return 7
		}
		return 0
	})
	var out bytes.Buffer
	code, err := remotecommand.Exec(context.Background(), ts.URL+"/exec/ns/p/c?command=echo&command=a%20b&stdout=1", remotecommand.StreamOptions{Stdout: &out})
	if err != nil || code != 0 || out.String() != "echo a b\n" {
		t.Fatalf("exec: %q %d %v", out.String(), code, err)
	}
	if code, err := remotecommand.Exec(context.Background(), ts.URL+"/exec/ns/p/c?command=fail", remotecommand.StreamOptions{}); err != nil || code != 7 {
		t.Fatalf("exit code %d %v", code, err)
	}
	if _, err := remotecommand.Exec(context.Background(), ts.URL+"/exec/ns/other/c?command=x", remotecommand.StreamOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown pod: %v", err)
	}
	// Without the upgrade headers: a plain 400 that says what to do.
	resp, err := http.Post(ts.URL+"/exec/ns/p/c?command=x", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("no upgrade: %d", resp.StatusCode)
	}
}

func TestPodsAndSummary(t *testing.T) {
	ts, _ := setup(t)
	if code, body := get(t, ts.URL+"/pods"); code != 200 || !strings.HasPrefix(body, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"p"`) {
		t.Fatalf("/pods: %d %q", code, body)
	}
	if code, body := get(t, ts.URL+"/stats/summary"); code != 200 || !strings.Contains(body, `"nodeName": "n"`) || !strings.Contains(body, `"uid": "u1"`) {
		t.Fatalf("/stats/summary: %d %q", code, body)
	}
}

// With the node's own figures, the summary's node is the node (as upstream's root
// cgroup), not the sum of its pods: memory available/usage/working set, and the node
// and image filesystems.
func TestSummaryNodeFigures(t *testing.T) {
	rt := fake.New()
	s := &Server{NodeName: "n", RT: rt, Pods: podList{}, Node: func() (eviction.NodeMemory, eviction.Observations, error) {
		return eviction.NodeMemory{Capacity: 1000, Usage: 700, WorkingSet: 600}, eviction.Observations{
			eviction.NodeFsAvailable: {Available: 30, Capacity: 100}, eviction.NodeFsInodesFree: {Available: 5, Capacity: 10},
			eviction.ImageFsAvailable: {Available: 40, Capacity: 200}, eviction.ImageFsInodesFree: {Available: 6, Capacity: 20},
		}, nil
	}}
	d := daemon.NewServer("kubelet", nil)
	s.Register(d)
	ts := httptest.NewServer(d.Handler())
	defer ts.Close()
	code, body := get(t, ts.URL+"/stats/summary")
	var sum struct {
		Node struct {
			Memory  struct{ AvailableBytes, UsageBytes, WorkingSetBytes uint64 }
			Fs      struct{ AvailableBytes, CapacityBytes, UsedBytes, InodesFree, Inodes, InodesUsed uint64 }
			Runtime struct {
				ImageFs struct{ AvailableBytes, CapacityBytes, UsedBytes uint64 }
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &sum); code != 200 || err != nil {
		t.Fatalf("/stats/summary: %d %v %q", code, err, body)
	}
	n := sum.Node
	if n.Memory.AvailableBytes != 400 || n.Memory.UsageBytes != 700 || n.Memory.WorkingSetBytes != 600 {
		t.Errorf("node memory %+v", n.Memory)
	}
	if n.Fs.AvailableBytes != 30 || n.Fs.CapacityBytes != 100 || n.Fs.UsedBytes != 70 || n.Fs.InodesFree != 5 || n.Fs.Inodes != 10 || n.Fs.InodesUsed != 5 {
		t.Errorf("node fs %+v", n.Fs)
	}
	if im := n.Runtime.ImageFs; im.AvailableBytes != 40 || im.CapacityBytes != 200 || im.UsedBytes != 160 {
		t.Errorf("image fs %+v", im)
	}
}
