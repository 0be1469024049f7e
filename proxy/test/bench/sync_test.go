package bench

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/iptablesproxy"
	"kube5/proxy/internal/netnstest"
)

func service(i int) *corev1.Service {
	return &corev1.Service{
		Metadata: &metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("svc-%d", i)},
		Spec: &corev1.ServiceSpec{ClusterIp: fmt.Sprintf("10.%d.%d.%d", 96+i/65536, i/256%256, i%256),
			Ports: []*corev1.ServicePort{{Name: "http", Port: 80, Protocol: "TCP"}}},
	}
}

func endpoints(i, gen int) *corev1.Endpoints {
	ip := func(k int) string { return fmt.Sprintf("10.244.%d.%d", (i*2+k+gen)/250%250, (i*2+k+gen)%250+2) }
	return &corev1.Endpoints{
		Metadata: &metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("svc-%d", i)},
		Subsets: []*corev1.EndpointSubset{{
			Addresses: []*corev1.EndpointAddress{{Ip: ip(0)}, {Ip: ip(1)}},
			Ports:     []*corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: "TCP"}},
		}},
	}
}

// stats returns the mean and the maximum.
func stats(d []time.Duration) (mean, maxd time.Duration) {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d)), slices.Max(d)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkSync measures sync time with the real iptables-restore in a namespace holding
// n services with two endpoints each: a full sync (every chain rewritten, KUBE-SERVICES
// whole), partial syncs for one service's endpoints changing (its chains only) and for
// one service added or removed (its chains plus one -I or -D in KUBE-SERVICES), and as
// the baseline the floor every sync pays: an iptables-restore of an empty transaction.
// Each iteration does one full sync and 10 of each partial kind, so -benchtime=1x gives
// usable figures. Target: one-service change at 10k services under 200 ms.
func BenchmarkSync(b *testing.B) {
	for _, n := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			ns := netnstest.New(b, "bench")
			ipt := iptables.New(ns.Exec())
			p := iptablesproxy.New(iptablesproxy.Config{IPTables: ipt, ClusterCIDR: "10.244.0.0/16", SyncPeriod: time.Hour})
			p.Tracker.SetSynced(true, true)
			for i := range n {
				s := service(i)
				p.Tracker.ServiceChanged("bench", s.Metadata.Name, s)
				p.Tracker.EndpointsChanged("bench", s.Metadata.Name, endpoints(i, 0))
			}
			start := time.Now()
			p.SyncOnce()
			initial := time.Since(start)
			var full, change, addRemove, floor []time.Duration
			timed := func(into *[]time.Duration, f func()) {
				start := time.Now()
				f()
				*into = append(*into, time.Since(start))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.RequestFullSync()
				timed(&full, p.SyncOnce)
				for j := range 10 {
					e := endpoints(n/2, i*10+j+1)
					p.Tracker.EndpointsChanged("bench", e.Metadata.Name, e)
					timed(&change, p.SyncOnce)
				}
				for j := range 10 {
					s := service(n + 1)
					if j%2 == 0 {
						p.Tracker.ServiceChanged("bench", s.Metadata.Name, s)
						p.Tracker.EndpointsChanged("bench", s.Metadata.Name, endpoints(n+1, 0))
					} else {
						p.Tracker.ServiceChanged("bench", s.Metadata.Name, nil)
						p.Tracker.EndpointsChanged("bench", s.Metadata.Name, nil)
					}
					timed(&addRemove, p.SyncOnce)
				}
				for range 10 {
					timed(&floor, func() {
						if err := ipt.Restore([]byte("*nat\nCOMMIT\n")); err != nil {
							b.Fatal(err)
						}
					})
				}
			}
			b.StopTimer()
			fullMean, _ := stats(full)
			chMean, chMax := stats(change)
			arMean, arMax := stats(addRemove)
			flMean, _ := stats(floor)
			b.ReportMetric(initial.Seconds(), "initial-s")
			b.ReportMetric(fullMean.Seconds(), "full-s")
			b.ReportMetric(ms(chMean), "endpoints-change-ms")
			b.ReportMetric(ms(chMax), "endpoints-change-max-ms")
			b.ReportMetric(ms(arMean), "service-add/remove-ms")
			b.ReportMetric(ms(arMax), "service-add/remove-max-ms")
			b.ReportMetric(ms(flMean), "empty-restore-ms")
			b.ReportMetric(float64(chMean)/float64(flMean), "change/empty-restore")
		})
	}
}
