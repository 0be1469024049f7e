package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kube5/scheduler/internal/queue"
)

// Results of a scheduling attempt, upstream's label values.
const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)

// Metrics are upstream's scheduler metrics that kube5 implements. A nil *Metrics records
// nothing.
type Metrics struct {
	profile  string
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
	pending  *prometheus.GaugeVec
}

// NewMetrics registers the metrics on reg for the profile (the scheduler name).
func NewMetrics(reg prometheus.Registerer, profile string) (*Metrics, error) {
	m := &Metrics{
		profile: profile,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "scheduler", Name: "schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
		}, []string{"result", "profile"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "scheduling_attempt_duration_seconds",
			Help:    "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"result", "profile"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "scheduler", Name: "pending_pods",
			Help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods.",
		}, []string{"queue"}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.duration, m.pending} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{resultScheduled, resultUnschedulable, resultError} {
		m.attempts.WithLabelValues(r, profile)
	}
	m.SetPending(queue.Stats{})
	return m, nil
}

func (m *Metrics) attempt(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(result, m.profile).Inc()
	m.duration.WithLabelValues(result, m.profile).Observe(d.Seconds())
}

// SetPending updates scheduler_pending_pods; pass it as the queue's OnChange.
func (m *Metrics) SetPending(s queue.Stats) {
	if m == nil {
		return
	}
	m.pending.WithLabelValues("active").Set(float64(s.Active))
	m.pending.WithLabelValues("backoff").Set(float64(s.Backoff))
	m.pending.WithLabelValues("unschedulable").Set(float64(s.Unschedulable))
	m.pending.WithLabelValues("gated").Set(0)
}
