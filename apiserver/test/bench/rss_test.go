package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"net/http"

	apptesting "kube5/apiserver/app/testing"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/client"
)

// benchNode is a node as a kubelet reports it (~1.5 kB).
func benchNode(name string) *corev1.Node {
	q := func(s string) *metav1.Quantity { return &metav1.Quantity{String_: s} }
	now := metav1.Now()
	var conds []*corev1.NodeCondition
	for _, t := range []string{"MemoryPressure", "DiskPressure", "PIDPressure", "Ready"} {
		st, reason := "False", "KubeletHasSufficient"+t
		if t == "Ready" {
			st, reason = "True", "KubeletReady"
		}
		conds = append(conds, &corev1.NodeCondition{Type: t, Status: st, Reason: reason, Message: "kubelet is posting ready status",
			LastHeartbeatTime: now, LastTransitionTime: now})
	}
	return &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
		Spec:     &corev1.NodeSpec{PodCidr: "10.244.1.0/24", PodCidrs: []string{"10.244.1.0/24"}},
		Status: &corev1.NodeStatus{
			Capacity:    map[string]*metav1.Quantity{"cpu": q("2"), "memory": q("24Gi"), "pods": q("110"), "ephemeral-storage": q("250Gi")},
			Allocatable: map[string]*metav1.Quantity{"cpu": q("2"), "memory": q("24Gi"), "pods": q("110"), "ephemeral-storage": q("250Gi")},
			Conditions:  conds,
			Addresses:   []*corev1.NodeAddress{{Type: "InternalIP", Address: "10.1.2.3"}, {Type: "Hostname", Address: name}},
			NodeInfo: &corev1.NodeSystemInfo{MachineId: strings.Repeat("a", 32), SystemUuid: strings.Repeat("b", 36), BootId: strings.Repeat("c", 36),
				KernelVersion: "6.1.0-18-amd64", OsImage: "Debian GNU/Linux 12 (bookworm)", ContainerRuntimeVersion: "docker://20.10.24",
				KubeletVersion: "v1.31.0-kube5", KubeProxyVersion: "v1.31.0-kube5", OperatingSystem: "linux", Architecture: "amd64"},
		},
	}
}

// BenchmarkRSS stores 5000 nodes and 30000 pods and reports the resident memory of a
// kube-apiserver process that serves them (its watch caches hold every object). The
// measured apiserver runs as its own process on an etcd hosted by another apiserver, so
// etcd's memory is not counted, as in upstream's figure.
func BenchmarkRSS(b *testing.B) {
	const nodes, pods = 5000, 30000
	host := apptesting.Start(b)
	bin := filepath.Join(b.TempDir(), "kube-apiserver")
	if out, err := exec.Command("go", "build", "-o", bin, "kube5/apiserver").CombinedOutput(); err != nil {
		b.Fatalf("building kube-apiserver: %v\n%s", err, out)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--etcd-servers="+strings.Join(host.EtcdEndpoints, ","), "--insecure-port="+strconv.Itoa(port), "--etcd-compaction-interval=0")
	cmd.Stderr, cmd.Stdout = os.Stderr, nil
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("separate kube-apiserver not ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cs, err := client.New(client.Config{Server: url})
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	b.ResetTimer()
	ctx := context.Background()
	run(b, 64, nodes, func(i int) error {
		_, err := cs.Nodes().Create(ctx, benchNode(fmt.Sprintf("node-%05d", i)))
		return err
	})
	run(b, 64, pods, func(i int) error {
		p := benchPod(fmt.Sprintf("pod-%06d", i))
		p.Spec.NodeName = fmt.Sprintf("node-%05d", i%nodes)
		_, err := cs.Pods("default").Create(ctx, p)
		return err
	})
	// The cache holds everything once a consistent list sees it.
	l2, err := cs.Pods("").List(ctx, client.ListOptions{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	_ = l2
	b.StopTimer()
	rss := readRSS(b, cmd.Process.Pid)
	b.ReportMetric(float64(rss)/(1<<20), "apiserver-RSS-MiB")
	b.ReportMetric(1520, "upstream-1.31-RSS-MiB")
	b.Logf("kube-apiserver RSS with %d nodes and %d pods stored: %d MiB (upstream 1.31.3 on this kind of machine: 1520 MiB)", nodes, pods, rss>>20)
}

func readRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
