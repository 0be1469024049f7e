// Package metrics holds the apiserver's request metrics, with upstream's names and labels
// so dashboards written for kube-apiserver work: apiserver_request_total and
// apiserver_request_duration_seconds, for REST and gRPC alike (component label).
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Request metrics. Register with Register before serving.
var (
	RequestTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_request_total",
		Help: "Counter of apiserver requests broken out for each verb, group, version, resource, subresource, scope, component and HTTP response code.",
	}, []string{"verb", "group", "version", "resource", "subresource", "scope", "component", "code"})

	RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "apiserver_request_duration_seconds",
		Help:    "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.",
		Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
	}, []string{"verb", "group", "version", "resource", "subresource", "scope", "component"})
)

// Register adds the request metrics to reg.
func Register(reg prometheus.Registerer) {
	reg.MustRegister(RequestTotal, RequestDuration)
}

// Request labels one finished request. Watches are counted but not timed (their duration
// is the client's choice), as upstream.
type Request struct {
	Verb, Group, Version, Resource, Subresource, Scope, Component string
}

// Observe records one request.
func (r Request) Observe(code int, start time.Time) {
	RequestTotal.WithLabelValues(r.Verb, r.Group, r.Version, r.Resource, r.Subresource, r.Scope, r.Component, strconv.Itoa(code)).Inc()
	if r.Verb != "WATCH" {
		RequestDuration.WithLabelValues(r.Verb, r.Group, r.Version, r.Resource, r.Subresource, r.Scope, r.Component).Observe(time.Since(start).Seconds())
	}
}
