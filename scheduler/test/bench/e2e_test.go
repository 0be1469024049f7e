package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kube5/proto/apiservertest"
	"kube5/proto/client"
)

// run calls fn(i) for i in [0,total) from workers goroutines and returns ops/s.
func run(b *testing.B, workers, total int, fn func(i int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				if err := fn(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(total) / time.Since(start).Seconds()
}

// procStatus reads a "VmRSS"-style field of /proc/<pid>/status in bytes.
func procStatus(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// startSchedulerBinary builds kube-scheduler and runs it with default settings (no
// leader election, so it starts at once) against url; it returns the process.
func startSchedulerBinary(b *testing.B, url string) (cmd *exec.Cmd, addr string, log *bytes.Buffer) {
	bin := filepath.Join(b.TempDir(), "kube-scheduler")
	if out, err := exec.Command("go", "build", "-o", bin, "kube5/scheduler").CombinedOutput(); err != nil {
		b.Fatalf("building kube-scheduler: %v\n%s", err, out)
	}
	port := apiservertest.FreePort(b)
	log = &bytes.Buffer{}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	cmd = exec.Command(bin, "--master="+url, "--leader-elect=false", "--bind-address=127.0.0.1", "--port="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, addr, log
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("kube-scheduler not ready in 2 minutes; log:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkEndToEnd: 5000 fake nodes; 10000 pods created as fast as possible (64
// clients) through a real kube-apiserver (its own process, embedded etcd) while the
// built kube-scheduler binary, default settings, binds them; pods/s from the first
// creation to the last binding. Baseline, same run and apiserver: the same 10000
// creates with nothing scheduling them. Also the scheduler's peak RSS (VmHWM).
func BenchmarkEndToEnd(b *testing.B) {
	const workers = 64
	s := apiservertest.Start(b)
	cs := s.Client
	ctx := context.Background()
	run(b, 32, benchNodes, func(i int) error {
		_, err := cs.Nodes().Create(ctx, benchNode(i))
		return err
	})
	baseline := run(b, workers, benchPods, func(i int) error {
		_, err := cs.Pods("kube-public").Create(ctx, benchPod("kube-public", i, "no-such-scheduler"))
		return err
	})
	cmd, addr, log := startSchedulerBinary(b, s.URL)
	pid := cmd.Process.Pid
	idleRSS := procStatus(pid, "VmRSS")

	b.ResetTimer()
	cpu0, sys0 := procCPU(pid), systemCPU()
	start := time.Now()
	var created atomic.Bool
	go func() {
		run(b, workers, benchPods, func(i int) error {
			p := benchPod("default", i, "default-scheduler")
			p.Metadata.Uid = ""
			_, err := cs.Pods("default").Create(ctx, p)
			return err
		})
		created.Store(true)
	}()
	// The scheduler counts a pod as scheduled once its binding returned; reading that
	// counter costs the apiserver nothing, unlike polling it with pod lists.
	metricsURL := "http://" + addr + "/metrics"
	deadline := time.Now().Add(10 * time.Minute)
	for scheduledCount(b, metricsURL) < benchPods {
		if time.Now().After(deadline) {
			b.Fatalf("pods still pending after 10 minutes; scheduler log tail:\n%s", tail(log.String(), 3000))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !created.Load() {
		b.Fatal("all pods bound before all were created?")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	schedCPU, totalCPU := procCPU(pid)-cpu0, systemCPU()-sys0
	peakRSS, endRSS := procStatus(pid, "VmHWM"), procStatus(pid, "VmRSS")

	all, err := cs.Pods("default").List(ctx, client.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	perNode := map[string]int{}
	for _, p := range all.Items {
		if p.GetSpec().GetNodeName() == "" {
			b.Fatalf("pod %s not bound", p.GetMetadata().GetName())
		}
		perNode[p.GetSpec().GetNodeName()]++
	}
	if len(all.Items) != benchPods {
		b.Fatalf("%d pods, want %d", len(all.Items), benchPods)
	}
	most := 0
	for _, n := range perNode {
		most = max(most, n)
	}
	rate := float64(benchPods) / elapsed.Seconds()
	b.ReportMetric(rate, "pods/s")
	b.ReportMetric(baseline, "baseline-creates/s")
	b.ReportMetric(rate/baseline, "ratio")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MiB")
	b.Logf("CPU during the run: kube-scheduler %.1fs, whole machine %.1fs of %.1fs wall x cores", schedCPU, totalCPU, elapsed.Seconds())
	b.Logf("end to end: %d pods bound on %d nodes in %v = %.0f pods/s vs %.0f pod creates/s with no scheduler (%.2f of raw creates); "+
		"pods on %d nodes, at most %d per node; kube-scheduler RSS idle %.0f MiB (5000 nodes, 10000 foreign pods cached), end %.0f MiB, peak %.0f MiB (upstream 1.31: 239 pods/s unthrottled, 0.67 GB)",
		benchPods, benchNodes, elapsed.Round(time.Millisecond), rate, baseline, rate/baseline, len(perNode), most,
		float64(idleRSS)/(1<<20), float64(endRSS)/(1<<20), float64(peakRSS)/(1<<20))
}

// procCPU is the user+system CPU seconds of process pid.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // USER_HZ
}

// systemCPU is the busy CPU seconds of the whole machine (all cores).
func systemCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:]
	var busy float64
	for i, v := range f {
		x, _ := strconv.ParseFloat(v, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy / 100
}

// scheduledCount reads scheduler_schedule_attempts_total{result="scheduled"}.
func scheduledCount(b *testing.B, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "scheduler_schedule_attempts_total{") && strings.Contains(line, `result="scheduled"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return int(v)
		}
	}
	return 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
