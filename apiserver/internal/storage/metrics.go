package storage

import (
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names are upstream's, so existing dashboards keep working.
var (
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "etcd_request_duration_seconds",
		Help:    "Etcd request latency in seconds for each operation and object type.",
		Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
	}, []string{"operation", "type"})
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "etcd_requests_total",
		Help: "Etcd request counts for each operation and object type.",
	}, []string{"operation", "type"})
	requestErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "etcd_request_errors_total",
		Help: "Etcd failed request counts for each operation and object type.",
	}, []string{"operation", "type"})
)

// RegisterMetrics registers the storage metrics. Registering again with the same
// registry is harmless, so several in-process apiservers (tests) may share one.
func RegisterMetrics(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{requestDuration, requestsTotal, requestErrors} {
		if err := r.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

// typeOfKey is the metrics "type" label: the resource segment of /registry/<resource>/...
func typeOfKey(key string) string {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok {
		return "unknown"
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" {
		return "unknown"
	}
	return rest
}

func record(op, key string, start time.Time, err error) {
	t := typeOfKey(key)
	requestDuration.WithLabelValues(op, t).Observe(time.Since(start).Seconds())
	requestsTotal.WithLabelValues(op, t).Inc()
	if err != nil && Code(err) != ErrCodeNotFound && Code(err) != ErrCodeAlreadyExists && Code(err) != ErrCodeConflict {
		requestErrors.WithLabelValues(op, t).Inc()
	}
}
