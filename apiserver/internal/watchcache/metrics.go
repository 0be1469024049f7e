package watchcache

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names follow upstream's.
var (
	registeredWatchers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apiserver_registered_watchers",
		Help: "Number of currently registered watchers for a given resource.",
	}, []string{"group", "version", "kind"})
	terminatedWatchers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_terminated_watchers_total",
		Help: "Number of watchers terminated because they could not keep up with events.",
	}, []string{"group", "resource"})
	eventsDispatched = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_watch_cache_events_dispatched_total",
		Help: "Number of events dispatched by the watch cache.",
	}, []string{"group", "resource"})
	cacheRevision = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apiserver_watch_cache_resource_version",
		Help: "The etcd revision the watch cache reflects.",
	}, []string{"group", "resource"})
)

// RegisterMetrics registers the watch cache metrics; registering twice with the same
// registry is harmless.
func RegisterMetrics(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{registeredWatchers, terminatedWatchers, eventsDispatched, cacheRevision} {
		if err := r.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

type cacheMetrics struct {
	watchers   prometheus.Gauge
	terminated prometheus.Counter
	dispatched prometheus.Counter
	revision   prometheus.Gauge
}

func newCacheMetrics(o Options) *cacheMetrics {
	return &cacheMetrics{
		watchers:   registeredWatchers.WithLabelValues(o.Group, o.Version, o.Kind),
		terminated: terminatedWatchers.WithLabelValues(o.Group, o.Resource),
		dispatched: eventsDispatched.WithLabelValues(o.Group, o.Resource),
		revision:   cacheRevision.WithLabelValues(o.Group, o.Resource),
	}
}
