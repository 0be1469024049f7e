// Package bench measures kube-apiserver against baselines taken in the same run
// (design.md §7): pod creates per second beside raw etcd puts of the same size, watch
// fan-out delivery latency, and the apiserver's memory with a large cluster stored.
// Run with `make bench` (each benchmark does a fixed amount of work: -benchtime=1x).
package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	apptesting "kube5/apiserver/app/testing"
	"kube5/apiserver/internal/etcdserver"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/client"
	"kube5/proto/codec"
)

// benchPod is a ~1.5 kB pod, what a small deployment's pod looks like after defaulting.
func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels:      map[string]string{"app": "bench", "tier": "frontend", "pod-template-hash": "5d8f7c9b4"},
			Annotations: map[string]string{"kubernetes.io/description": strings.Repeat("x", 840)},
		},
		Spec: &corev1.PodSpec{
			Containers: []*corev1.Container{{
				Name: "web", Image: "kube5/httpenv:1.0",
				Command: []string{"/httpenv"}, Args: []string{"--listen=:8888", "--log-requests"},
				Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 8888}},
				Env:   []*corev1.EnvVar{{Name: "MODE", Value: "benchmark"}, {Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
				Resources: &corev1.ResourceRequirements{
					Requests: map[string]*metav1.Quantity{"cpu": {String_: "100m"}, "memory": {String_: "64Mi"}},
					Limits:   map[string]*metav1.Quantity{"cpu": {String_: "500m"}, "memory": {String_: "128Mi"}},
				},
				ReadinessProbe: &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/", Port: &metav1.IntOrString{IntVal: 8888}}},
			}},
		},
	}
}

// durableServer runs the apiserver on an embedded etcd that fsyncs like a production
// one (the test helper's etcd skips fsync), so the figures and the raw-etcd baseline mean
// what they say.
func durableServer(b *testing.B) *apptesting.TestServer {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	e, err := etcdserver.Start(ctx, etcdserver.Config{DataDir: b.TempDir(), ListenClientURL: "http://127.0.0.1:0", ListenPeerURL: "http://127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	return apptesting.StartWithEtcd(b, e.Endpoints())
}

// podSize is the stored size of a defaulted bench pod, for the etcd baseline.
func podSize(b *testing.B, cs *client.Clientset) int {
	p, err := cs.Pods("default").Create(context.Background(), benchPod("size-probe"))
	if err != nil {
		b.Fatal(err)
	}
	return proto.Size(p)
}

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

// etcdPutsPerSecond is the baseline: raw puts of size bytes into the same etcd.
func etcdPutsPerSecond(b *testing.B, endpoints []string, workers, total, size int) float64 {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	val := string(bytes.Repeat([]byte("v"), size))
	prefix := fmt.Sprintf("/bench/%d/", time.Now().UnixNano())
	return run(b, workers, total, func(i int) error {
		_, err := cli.Put(context.Background(), fmt.Sprintf("%s%08d", prefix, i), val)
		return err
	})
}

// BenchmarkCreatePods: pods/s through gRPC and REST at 64 and 1 clients, beside raw etcd
// puts/s of the same size at the same concurrency, all on one embedded etcd.
func BenchmarkCreatePods(b *testing.B) {
	const total = 6000
	for _, tc := range []struct {
		name    string
		workers int
		rest    bool
	}{{"grpc-64", 64, false}, {"rest-64", 64, true}, {"grpc-1", 1, false}} {
		b.Run(tc.name, func(b *testing.B) {
			ts := durableServer(b)
			size := podSize(b, ts.Client)
			n := total
			if tc.workers == 1 {
				n = total / 4
			}
			b.ResetTimer()
			var apiRate float64
			if tc.rest {
				apiRate = restCreates(b, ts.URL, tc.workers, n)
			} else {
				pods := ts.Client.Pods("default")
				apiRate = run(b, tc.workers, n, func(i int) error {
					_, err := pods.Create(context.Background(), benchPod(fmt.Sprintf("p-%06d", i)))
					return err
				})
			}
			etcdRate := etcdPutsPerSecond(b, ts.EtcdEndpoints, tc.workers, n, size)
			b.StopTimer()
			b.ReportMetric(apiRate, "creates/s")
			b.ReportMetric(etcdRate, "etcd-puts/s")
			b.ReportMetric(apiRate/etcdRate, "ratio")
			b.Logf("%s: %.0f pod creates/s vs %.0f raw etcd puts/s of %d bytes (%.2f of raw)", tc.name, apiRate, etcdRate, size, apiRate/etcdRate)
		})
	}
}

func restCreates(b *testing.B, url string, workers, n int) float64 {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	return run(b, workers, n, func(i int) error {
		body, err := codec.EncodeObject(benchPod(fmt.Sprintf("r-%06d", i)))
		if err != nil {
			return err
		}
		resp, err := hc.Post(url+"/api/v1/namespaces/default/pods", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var sink bytes.Buffer
		_, _ = sink.ReadFrom(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("create: %d %s", resp.StatusCode, sink.String())
		}
		return nil
	})
}

// BenchmarkWatchFanout: 1000 watchers on pods (each its own gRPC watch stream, spread
// over 8 connections) while pods are created at a steady rate; the latency from the start
// of each create to each watcher receiving its ADDED event, p50 and p99. The watchers
// run in the benchmark's process, on the same 2 cores as the apiserver and etcd, so they
// decode only what they need (the object's name), not the whole pod, to leave the
// cores to the server under test.
func BenchmarkWatchFanout(b *testing.B) {
	const watchers, creates, rate = 1000, 1000, 100 // creates per second
	ts := durableServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conns := make([]*client.Clientset, 8)
	for i := range conns {
		c, err := client.New(client.Config{Server: ts.URL})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	var sent sync.Map // name -> time.Time the create started
	lat := make([][]time.Duration, watchers)
	var ready, done sync.WaitGroup
	for w := 0; w < watchers; w++ {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			stream, err := conns[w%len(conns)].RPC().Watch(ctx, &rpcv1.WatchRequest{
				Ref: &rpcv1.ResourceRef{Version: "v1", Resource: "pods", Namespace: "default"}, Options: &rpcv1.ListOptions{ResourceVersion: "0"}})
			ready.Done()
			if err != nil {
				b.Error(err)
				return
			}
			got := 0
			for got < creates {
				ev, err := stream.Recv()
				if err != nil {
					b.Errorf("watcher %d: %v after %d events", w, err, got)
					return
				}
				if ev.GetType() != "ADDED" {
					continue
				}
				now := time.Now()
				if t, ok := sent.Load(nameOf(ev.GetObject())); ok {
					lat[w] = append(lat[w], now.Sub(t.(time.Time)))
				}
				got++
			}
		}()
	}
	ready.Wait()
	b.ResetTimer()
	pods := ts.Client.Pods("default")
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < creates; i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("w-%06d", i)
			// Recorded before the call: the event may reach a watcher before Create returns.
			sent.Store(name, time.Now())
			if _, err := pods.Create(ctx, benchPod(name)); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	achieved := float64(creates) / time.Since(start).Seconds()
	waitDone := make(chan struct{})
	go func() { done.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(2 * time.Minute):
		b.Fatal("watchers did not receive every event within 2 minutes")
	}
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) != watchers*creates {
		b.Fatalf("measured %d deliveries, want %d", len(all), watchers*creates)
	}
	p50, p99 := all[len(all)/2], all[len(all)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(achieved, "creates/s")
	b.Logf("%d watchers x %d creates at %.0f creates/s: delivery p50 %v, p99 %v over %d deliveries", watchers, creates, achieved, p50, p99, len(all))
}

// nameOf reads metadata.name out of an encoded object without decoding the rest: field 1
// of every object is its ObjectMeta, field 1 of ObjectMeta the name.
func nameOf(obj []byte) string {
	meta := field(obj, 1)
	return string(field(meta, 1))
}

func field(b []byte, num protowire.Number) []byte {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil
			}
			return v
		}
		m := protowire.ConsumeFieldValue(n, typ, b)
		if m < 0 {
			return nil
		}
		b = b[m:]
	}
	return nil
}
