// Package bench measures pod startup latency on real Docker: 30 pods created at once on
// one kubelet, from creation to Running as a watch sees it, p50 and p99, beside 30 raw
// `docker run`s of the same image started at once in the same run.
//
//	go test -run XXX -bench PodStartup -benchtime 1x ./kubelet/test/bench
package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/kubeconfig"

	"kube5/kubelet/app"
	"kube5/kubelet/app/options"
)

const (
	pods  = 30
	node  = "kubelet-bench"
	image = "kube5/testbox:1.0"
)

func repoRoot(b *testing.B) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			b.Fatal("no go.work above the working directory")
		}
		dir = filepath.Dir(dir)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p+0.5) - 1
	return s[max(min(i, len(s)-1), 0)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// dockerRuns starts n containers of image at once with the docker CLI and returns each
// one's latency (until `docker run -d` returns: the container is running).
func dockerRuns(b *testing.B, n int) []time.Duration {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("kube5-bench-raw-%d", i)
			start := time.Now()
			out, err := exec.Command("docker", "run", "-d", "--name", name, "--label", "io.kube5.bench=raw", image, "sleep", "forever").CombinedOutput()
			lat[i] = time.Since(start)
			if err != nil {
				b.Errorf("docker run: %v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=io.kube5.bench=raw").Output()
	if len(ids) > 0 {
		args := append([]string{"rm", "-f"}, splitFields(string(ids))...)
		_ = exec.Command("docker", args...).Run()
	}
	return lat
}

func splitFields(s string) []string {
	var out []string
	cur := ""
	for _, r := range s {
		if r == '\n' || r == ' ' {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		cur += string(r)
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

func BenchmarkPodStartup(b *testing.B) {
	root := repoRoot(b)
	if exec.Command("docker", "info").Run() != nil {
		if out, err := exec.Command(filepath.Join(root, "hack/start-docker.sh")).CombinedOutput(); err != nil {
			b.Skipf("dockerd cannot be started: %v: %s", err, out)
		}
	}
	if exec.Command("docker", "image", "inspect", image).Run() != nil || exec.Command("docker", "image", "inspect", "kube5/pause:3.10").Run() != nil {
		if out, err := exec.Command(filepath.Join(root, "hack/images.sh")).CombinedOutput(); err != nil {
			b.Fatalf("hack/images.sh: %v: %s", err, out)
		}
	}
	api := apiservertest.Start(b)
	cs := api.Client
	b.Cleanup(func() {
		ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=io.kube5.node="+node).Output()
		if f := splitFields(string(ids)); len(f) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, f...)...).Run()
		}
	})
	kc := &kubeconfig.Config{}
	kc.SetCluster("b", api.URL)
	kc.SetContext("b", "b", "", "")
	kc.CurrentContextName = "b"
	kcPath := filepath.Join(b.TempDir(), "kubeconfig")
	if err := kc.Save(kcPath); err != nil {
		b.Fatal(err)
	}
	o := options.New()
	o.HostnameOverride, o.Kubeconfig, o.RootDir, o.NodeIP, o.Address = node, kcPath, b.TempDir(), "127.0.0.1", "127.0.0.1"
	o.Port, o.ReadOnlyPort, o.HealthzPort = apiservertest.FreePort(b), 0, 0
	o.PodCIDRTimeout = 0 // no controller-manager: no podCIDR comes
	ctx, cancel := context.WithCancel(context.Background())
	s, err := app.Setup(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	for {
		if _, err := cs.Nodes().Get(ctx, node); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	raw := dockerRuns(b, pods) // warms the image cache too
	var all []time.Duration
	b.ResetTimer()
	for iter := range b.N {
		all = append(all, startPods(b, cs, iter, pods)...)
	}
	b.StopTimer()
	raw = dockerRuns(b, pods)
	// One at a time, five times: the per-pod cost without contention.
	var single, singleRaw []time.Duration
	for i := range 5 {
		single = append(single, startPods(b, cs, 1000+i, 1)...)
		singleRaw = append(singleRaw, dockerRuns(b, 1)...)
	}
	s50, sr50 := percentile(single, 0.5), percentile(singleRaw, 0.5)
	b.ReportMetric(ms(s50), "single-p50-ms")
	b.ReportMetric(ms(sr50), "single-docker-run-p50-ms")
	b.Logf("one pod at a time: p50 %s; one docker run at a time: p50 %s; ratio %.2fx", s50.Round(time.Millisecond), sr50.Round(time.Millisecond), float64(s50)/float64(sr50))
	p50, p99 := percentile(all, 0.50), percentile(all, 0.99)
	r50 := percentile(raw, 0.50)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(r50), "docker-run-p50-ms")
	b.ReportMetric(ms(percentile(raw, 0.99)), "docker-run-p99-ms")
	b.ReportMetric(float64(p50)/float64(r50), "p50/docker-run")
	b.Logf("%d pods at once: p50 %s p99 %s; %d raw docker runs at once: p50 %s p99 %s; ratio p50 %.2fx",
		pods, p50.Round(time.Millisecond), p99.Round(time.Millisecond), pods, r50.Round(time.Millisecond), percentile(raw, 0.99).Round(time.Millisecond), float64(p50)/float64(r50))
}

// startPods creates the pods at once and returns each one's creation-to-Running latency
// as a watch sees it, then deletes them and waits until they are gone.
func startPods(b *testing.B, cs *client.Clientset, iter, pods int) []time.Duration {
	ctx := context.Background()
	w, err := cs.Pods("default").Watch(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	created := make([]time.Time, pods)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := int64(1)
			p := &corev1.Pod{
				Metadata: &metav1.ObjectMeta{Name: "bench-" + strconv.Itoa(iter) + "-" + strconv.Itoa(i), Namespace: "default"},
				Spec: &corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: &g,
					Containers: []*corev1.Container{{Name: "c", Image: image, Args: []string{"sleep", "forever"}}}},
			}
			mu.Lock()
			created[i] = time.Now()
			mu.Unlock()
			if _, err := cs.Pods("default").Create(ctx, p); err != nil {
				b.Error(err)
			}
		}()
	}
	lat := map[string]time.Duration{}
	deadline := time.After(2 * time.Minute)
	for len(lat) < pods {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatalf("watch ended: %v", w.Err())
			}
			p := ev.Object
			if p == nil || p.GetStatus().GetPhase() != "Running" {
				continue
			}
			name := p.GetMetadata().GetName()
			if _, seen := lat[name]; seen {
				continue
			}
			var i int
			if _, err := fmt.Sscanf(name, "bench-"+strconv.Itoa(iter)+"-%d", &i); err != nil {
				continue
			}
			mu.Lock()
			lat[name] = time.Since(created[i])
			mu.Unlock()
		case <-deadline:
			b.Fatalf("only %d of %d pods Running after 2 minutes", len(lat), pods)
		}
	}
	wg.Wait()
	b.StopTimer()
	for i := range pods {
		_ = cs.Pods("default").Delete(ctx, "bench-"+strconv.Itoa(iter)+"-"+strconv.Itoa(i), nil)
	}
	for {
		l, err := cs.Pods("default").List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err == nil && len(l.Items) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.StartTimer()
	out := make([]time.Duration, 0, pods)
	for _, d := range lat {
		out = append(out, d)
	}
	return out
}
