// Package controllertest runs controllers in tests without the controller-manager
// daemon, and stands in for the kubelet where tests need pods to become ready.
package controllertest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

// Start builds the given controllers on fresh shared informers and runs them, with
// workers each, as the controller-manager does during one leadership term. The returned
// stop ends them and waits; it also runs when the test ends.
func Start(t testing.TB, cs *client.Clientset, ctors []controller.Constructor, workers int) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	recorders := map[string]*events.Recorder{}
	factory := informer.NewFactory(cs, 0)
	cc := &controller.Context{
		Client: cs, Informers: factory,
		Config: controller.Config{ConcurrentSyncs: map[string]int{}},
		Events: func(name string) *events.Recorder {
			mu.Lock()
			defer mu.Unlock()
			if r, ok := recorders[name]; ok {
				return r
			}
			host, _ := os.Hostname()
			r := events.NewRecorder(cs, name, host)
			recorders[name] = r
			wg.Add(1)
			go func() { defer wg.Done(); r.Run(ctx) }()
			return r
		},
	}
	var cs2 []controller.Controller
	for _, ctor := range ctors {
		c, err := ctor(cc)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		cs2 = append(cs2, c)
	}
	factory.Start(ctx)
	for _, c := range cs2 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Run(ctx, workers) }()
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			factory.Shutdown()
		})
	}
	t.Cleanup(stop)
	return stop
}

// MarkPodReady sets a pod Running with a Ready=True condition, as a kubelet would.
func MarkPodReady(ctx context.Context, cs *client.Clientset, pod *corev1.Pod) error {
	for attempt := 0; ; attempt++ {
		p := proto.Clone(pod).(*corev1.Pod)
		if p.Status == nil {
			p.Status = &corev1.PodStatus{}
		}
		now := metav1.Now()
		p.Status.Phase = "Running"
		p.Status.StartTime = now
		p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: now}}
		_, err := cs.Pods(p.GetMetadata().GetNamespace()).UpdateStatus(ctx, p)
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt > 5 {
			return err
		}
		if pod, err = cs.Pods(p.GetMetadata().GetNamespace()).Get(ctx, p.GetMetadata().GetName()); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
	}
}

// FakeKubelet marks every pod of a namespace ready as it appears (after delay), unless
// skip says not to, until ctx ends: enough of a kubelet to drive rollouts.
func FakeKubelet(ctx context.Context, cs *client.Clientset, namespace string, delay time.Duration, skip func(*corev1.Pod) bool) {
	go func() {
		for ctx.Err() == nil {
			w, err := cs.Pods(namespace).Watch(ctx, client.ListOptions{})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				p := ev.Object
				if ev.Type != client.Added || p == nil || (skip != nil && skip(p)) || p.GetStatus().GetPhase() == "Running" {
					continue // a re-watch replays pods already made ready
				}
				go func() {
					select {
					case <-ctx.Done():
						return
					case <-time.After(delay):
					}
					// klog, not t.Logf: this may run after the test returned.
					if err := MarkPodReady(ctx, cs, p); err != nil && ctx.Err() == nil {
						klog.InfoS("Fake kubelet: marking pod ready failed", "pod", p.GetMetadata().GetName(), "err", err)
					}
				}()
			}
			w.Stop()
		}
	}()
}
