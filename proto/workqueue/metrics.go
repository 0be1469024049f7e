package workqueue

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The collectors are built here but registered only by RegisterMetrics, so importing the
// package has no side effect on any registry. Until they are registered, the values
// recorded into them are seen by nobody.
var (
	depthVec = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Subsystem: "workqueue", Name: "depth",
		Help: "Current depth of workqueue",
	}, []string{"name"})
	addsVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: "workqueue", Name: "adds_total",
		Help: "Total number of adds handled by workqueue",
	}, []string{"name"})
	latencyVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Subsystem: "workqueue", Name: "queue_duration_seconds",
		Help:    "How long in seconds an item stays in workqueue before being requested.",
		Buckets: prometheus.ExponentialBuckets(10e-9, 10, 10),
	}, []string{"name"})
	workDurationVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Subsystem: "workqueue", Name: "work_duration_seconds",
		Help:    "How long in seconds processing an item from workqueue takes.",
		Buckets: prometheus.ExponentialBuckets(10e-9, 10, 10),
	}, []string{"name"})
	retriesVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: "workqueue", Name: "retries_total",
		Help: "Total number of retries handled by workqueue",
	}, []string{"name"})
)

// RegisterMetrics registers the workqueue_* metrics of every queue, labelled by queue
// name, with r. Registering again with the same registry is not an error.
func RegisterMetrics(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{depthVec, addsVec, latencyVec, workDurationVec, retriesVec} {
		if err := r.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) && are.ExistingCollector == c {
				continue
			}
			return err
		}
	}
	return nil
}

// queueMetrics holds one queue's series. A queue with no name records nothing, as
// upstream's unnamed queues.
type queueMetrics[T comparable] struct {
	clock          Clock
	depth          prometheus.Gauge
	adds           prometheus.Counter
	latency        prometheus.Observer
	workDuration   prometheus.Observer
	retries        prometheus.Counter
	addTimes       map[T]time.Time
	processingFrom map[T]time.Time
}

func newQueueMetrics[T comparable](name string, c Clock) *queueMetrics[T] {
	if name == "" {
		return nil
	}
	return &queueMetrics[T]{
		clock:          c,
		depth:          depthVec.WithLabelValues(name),
		adds:           addsVec.WithLabelValues(name),
		latency:        latencyVec.WithLabelValues(name),
		workDuration:   workDurationVec.WithLabelValues(name),
		retries:        retriesVec.WithLabelValues(name),
		addTimes:       map[T]time.Time{},
		processingFrom: map[T]time.Time{},
	}
}

// The methods below run under the queue's lock; a nil receiver is the no-op queue.

func (m *queueMetrics[T]) add(item T) {
	if m == nil {
		return
	}
	m.adds.Inc()
	m.depth.Inc()
	if _, ok := m.addTimes[item]; !ok {
		m.addTimes[item] = m.clock.Now()
	}
}

func (m *queueMetrics[T]) get(item T) {
	if m == nil {
		return
	}
	m.depth.Dec()
	now := m.clock.Now()
	m.processingFrom[item] = now
	if t, ok := m.addTimes[item]; ok {
		m.latency.Observe(now.Sub(t).Seconds())
		delete(m.addTimes, item)
	}
}

func (m *queueMetrics[T]) done(item T) {
	if m == nil {
		return
	}
	if t, ok := m.processingFrom[item]; ok {
		m.workDuration.Observe(since(m.clock, t).Seconds())
		delete(m.processingFrom, item)
	}
}

func (m *queueMetrics[T]) retry() {
	if m == nil {
		return
	}
	m.retries.Inc()
}
