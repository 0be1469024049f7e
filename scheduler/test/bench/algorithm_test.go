// Package bench measures kube-scheduler (design.md §7, issue 4): the scheduling algorithm
// alone in-process, and end to end through a real kube-apiserver. Each benchmark does a
// fixed amount of work; run with `make bench` (-benchtime=1x).
package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/klog/v2"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/informer"
	"kube5/scheduler/internal/cache"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/plugins"
	"kube5/scheduler/internal/queue"
	"kube5/scheduler/internal/scheduler"
)

const (
	benchNodes = 5000
	benchPods  = 10000
)

// benchNode is a node as scheduler_perf's node-default: 4 cpus, 32Gi, 110 pods, spread
// over 10 zones.
func benchNode(i int) *corev1.Node {
	name := fmt.Sprintf("node-%05d", i)
	q := metav1.MustParseQuantity
	alloc := map[string]*metav1.Quantity{"cpu": q("4"), "memory": q("32Gi"), "pods": q("110")}
	return &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%10)}},
		Spec: &corev1.NodeSpec{},
		Status: &corev1.NodeStatus{Capacity: alloc, Allocatable: alloc,
			Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}}},
	}
}

// benchPod is a replica of one of 100 ReplicaSets (so spreading runs for every pod),
// requesting 100m and 500Mi as scheduler_perf's pod-default.
func benchPod(ns string, i int, schedulerName string) *corev1.Pod {
	rs := i % 100
	truth := true
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i), Namespace: ns, Uid: fmt.Sprintf("uid-%s-%d", ns, i),
			Labels: map[string]string{"app": fmt.Sprintf("rs-%d", rs)},
			OwnerReferences: []*metav1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: fmt.Sprintf("rs-%d", rs),
				Uid: fmt.Sprintf("rs-uid-%d", rs), Controller: &truth}}},
		Spec: &corev1.PodSpec{SchedulerName: schedulerName, Containers: []*corev1.Container{{
			Name: "pause", Image: "kube5/pause:3.10",
			Resources: &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{
				"cpu": metav1.MustParseQuantity("100m"), "memory": metav1.MustParseQuantity("500Mi")}},
		}}},
		Status: &corev1.PodStatus{Phase: "Pending"},
	}
}

// countingBinder accepts every binding at once, as if the apiserver answered instantly.
type countingBinder struct {
	n    atomic.Int64
	done chan struct{}
	want int64
}

func (b *countingBinder) Bind(context.Context, *corev1.Pod, string) error {
	if b.n.Add(1) == b.want {
		close(b.done)
	}
	return nil
}

// runAlgorithm schedules benchPods pods onto benchNodes nodes in-process with profile and
// returns pods/s from the first Pop to the last binding.
func runAlgorithm(b *testing.B, profile []framework.PluginConfig) float64 {
	c := cache.New()
	for i := 0; i < benchNodes; i++ {
		c.AddNode(benchNode(i))
	}
	h := framework.Handle{Listers: framework.Listers{
		Services: informer.NewStore[*corev1.Service](), ReplicationControllers: informer.NewStore[*corev1.ReplicationController](),
		ReplicaSets: informer.NewStore[*appsv1.ReplicaSet](), Namespaces: informer.NewStore[*corev1.Namespace](),
	}}
	fw, err := framework.New(plugins.NewRegistry(), profile, h)
	if err != nil {
		b.Fatal(err)
	}
	q := queue.New()
	for i := 0; i < benchPods; i++ {
		q.Add(benchPod("default", i, "default-scheduler"))
	}
	binder := &countingBinder{done: make(chan struct{}), want: benchPods}
	s := scheduler.New(scheduler.Config{SchedulerName: "default-scheduler", Framework: fw, Cache: c, Queue: q, Binder: binder})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.Run(ctx)
	}()
	select {
	case <-binder.done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d pods scheduled in 10 minutes", binder.n.Load(), benchPods)
	}
	elapsed := time.Since(start)
	cancel()
	<-stopped
	if _, pods, _ := c.Counts(); pods != benchPods {
		b.Fatalf("cache holds %d pods, want %d", pods, benchPods)
	}
	return float64(benchPods) / elapsed.Seconds()
}

// BenchmarkAlgorithm: the scheduling loop alone (queue, snapshot, filters, scores,
// assume) with the default profile, 5000 nodes, 10000 pods; the baseline is the same
// loop with no plugins (every node fits, no scores), i.e. the loop's own overhead.
func BenchmarkAlgorithm(b *testing.B) {
	klog.SetOutput(discard{})
	klog.LogToStderr(false)
	defer klog.LogToStderr(true)
	b.ResetTimer()
	rate := runAlgorithm(b, plugins.DefaultProfile())
	base := runAlgorithm(b, nil)
	b.StopTimer()
	b.ReportMetric(rate, "pods/s")
	b.ReportMetric(base, "baseline-pods/s")
	b.ReportMetric(rate/base, "ratio")
	b.Logf("algorithm: %.0f pods/s with the default profile vs %.0f pods/s with no plugins (%.2f of the bare loop); %d nodes, %d pods, GOMAXPROCS-way parallel filtering",
		rate, base, rate/base, benchNodes, benchPods)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
