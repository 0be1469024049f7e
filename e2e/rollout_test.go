package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kube5/e2e/framework"
)

// zeroDowntime is what an upstream user writes for a rolling update without a failed
// request: a readiness probe (a pod gets traffic only once it answers), maxUnavailable 0
// and maxSurge 1 (an old pod goes only once a new one is available), minReadySeconds (a
// new pod is available only once kube-proxy had time to send it traffic) and a preStop
// sleep (a terminating pod keeps serving while kube-proxy stops sending it new
// connections; httpenv then drains its requests in flight on SIGTERM).
const (
	zeroDowntimeSpec = `  minReadySeconds: 3
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
`
	zeroDowntimeContainer = `        readinessProbe:
          httpGet:
            path: /
            port: 8888
          periodSeconds: 1
        lifecycle:
          preStop:
            sleep:
              seconds: 5
`
)

// TestZeroDowntimeRollout rolls a deployment of httpenv (3 replicas) from one image to
// another and back under continuous HTTP load through its ClusterIP (several clients, a
// new connection per request): not one request may fail, and the pods really run the new
// image, then the old one again.
func TestZeroDowntimeRollout(t *testing.T) {
	c := framework.Start(t, framework.Options{})
	const v1, v2 = "kube5/httpenv:1.0", "kube5/httpenv:1.1"
	id1, id2 := imageID(t, v1), imageID(t, v2)
	if id1 == id2 {
		t.Fatalf("%s and %s are the same image (%s): a rollout between them would change nothing; rebuild them with hack/images.sh", v1, v2, id1)
	}
	apply(t, c, webApp("zdt", v1, 3, zeroDowntimeSpec, zeroDowntimeContainer))
	pods := waitAppPods(t, c, "zdt", 3, v1, 120*time.Second)
	ip := serviceIP(t, c, "zdt")
	waitServes(t, ip, pods)

	roll := func(what string, from []appPod, image, id string, do ...string) []appPod {
		t.Helper()
		l := startTraffic(ip, 4)
		admin(t, c, do...)
		rolloutStatus(t, c, "deployment/zdt", 150*time.Second)
		now := waitAppPods(t, c, "zdt", 3, image, 90*time.Second)
		// The old pods ended under load too: their whole termination counts.
		framework.Eventually(t, 60*time.Second, "the old pods to be gone", func() error {
			all, err := appPods(c, "zdt")
			if err == nil && len(all) != 3 {
				return fmt.Errorf("%d pods: %+v", len(all), all)
			}
			return err
		})
		r := l.stop()
		t.Logf("%s: %d GETs answered, %d failed, by %d pods", what, r.ok, r.failed, len(r.hosts))
		if r.failed > 0 {
			t.Errorf("%s: %d of %d GETs of the ClusterIP failed, want none; the first:\n  %s",
				what, r.failed, r.ok+r.failed, strings.Join(r.errs, "\n  "))
		}
		old := map[string]bool{}
		for _, p := range from {
			old[p.Name] = true
		}
		var byOld, byNew int
		for h, n := range r.hosts {
			if old[h] {
				byOld += n
			} else {
				byNew += n
			}
		}
		if r.ok < 100 || byOld == 0 || byNew == 0 {
			t.Errorf("%s: %d GETs answered, %d by old pods and %d by new ones: the load did not span the rollout", what, r.ok, byOld, byNew)
		}
		for _, p := range now {
			if old[p.Name] {
				t.Errorf("%s: pod %s is still there", what, p.Name)
			}
			if st := p.Containers["web"]; st.ImageID != id || st.Image != image {
				t.Errorf("%s: pod %s runs %s (%s), want %s (%s)", what, p.Name, st.Image, st.ImageID, image, id)
			}
		}
		return now
	}
	pods = roll("set image "+v2, pods, v2, id2, "set", "image", "deployment/zdt", "web="+v2)
	roll("rollout undo", pods, v1, id1, "rollout", "undo", "deployment/zdt")
	if out := admin(t, c, "get", "rs", "-l", "app=zdt"); strings.Count(out, "zdt-") != 2 {
		t.Errorf("want the two ReplicaSets of zdt (undo reuses the first):\n%s", out)
	}
}

// traffic is HTTP GETs of a ClusterIP from several clients at once.
type traffic struct {
	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	result trafficResult
}

type trafficResult struct {
	ok, failed int
	errs       []string       // the first failures
	hosts      map[string]int // GETs answered, by pod
}

// startTraffic starts clients goroutines GETting http://ip/ in a loop, a new connection
// each.
func startTraffic(ip string, clients int) *traffic {
	l := &traffic{done: make(chan struct{}), result: trafficResult{hosts: map[string]int{}}}
	began := time.Now()
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.done:
					return
				default:
				}
				host, err := hostOf(ip)
				l.mu.Lock()
				if err != nil {
					l.result.failed++
					if len(l.result.errs) < 10 {
						l.result.errs = append(l.result.errs, fmt.Sprintf("after %s: %v", time.Since(began).Round(time.Millisecond), err))
					}
				} else {
					l.result.ok++
					l.result.hosts[host]++
				}
				l.mu.Unlock()
				time.Sleep(10 * time.Millisecond) // pacing, not waiting for anything
			}
		}()
	}
	return l
}

// stop ends the clients (letting the GETs in flight finish) and returns the counts.
func (l *traffic) stop() trafficResult {
	close(l.done)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.result
}
