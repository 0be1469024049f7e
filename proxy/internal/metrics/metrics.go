// Package metrics defines kube-proxy's metrics under upstream's names, and the sync
// health that :10256/healthz reports.
package metrics

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the proxier's metrics.
type Metrics struct {
	SyncDuration        prometheus.Histogram
	FullSyncDuration    prometheus.Histogram
	PartialSyncDuration prometheus.Histogram
	ProgrammingLatency  prometheus.Histogram
	RulesTotal          *prometheus.GaugeVec
	RestoreFailures     prometheus.Counter
	LastSync            prometheus.Gauge
}

// New creates the metrics and registers them on reg (nil: not registered, for tests).
func New(reg prometheus.Registerer) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 15)
	m := &Metrics{
		SyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds", Buckets: buckets}),
		FullSyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_full_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds for full resyncs", Buckets: buckets}),
		PartialSyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_partial_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds for partial resyncs", Buckets: buckets}),
		ProgrammingLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "network_programming_duration_seconds",
			Help:    "In Network Programming Latency in seconds: from kube-proxy seeing a Service or Endpoints change to the rules being programmed",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		RulesTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_iptables_total",
			Help: "Total number of iptables rules owned by kube-proxy"}, []string{"table"}),
		RestoreFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_iptables_restore_failures_total",
			Help: "Cumulative proxy iptables restore failures"}),
		LastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_last_timestamp_seconds",
			Help: "The last time proxy rules were successfully synced"}),
	}
	if reg != nil {
		reg.MustRegister(m.SyncDuration, m.FullSyncDuration, m.PartialSyncDuration, m.ProgrammingLatency,
			m.RulesTotal, m.RestoreFailures, m.LastSync)
	}
	return m
}

// Health tracks whether the proxier keeps up, as upstream's ProxierHealthServer: it is
// unhealthy when a change has waited longer than Timeout for a successful sync, or when
// no sync succeeded for Timeout although periodic syncs should have happened.
type Health struct {
	Timeout time.Duration
	now     func() time.Time

	mu          sync.Mutex
	lastUpdated time.Time // last successful sync
	oldestQueue time.Time // oldest change not yet synced; zero: none
}

// NewHealth returns a tracker that counts from now.
func NewHealth(timeout time.Duration) *Health {
	h := &Health{Timeout: timeout, now: time.Now}
	h.lastUpdated = h.now()
	return h
}

// QueuedUpdate records that a change waits for a sync.
func (h *Health) QueuedUpdate() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.oldestQueue.IsZero() {
		h.oldestQueue = h.now()
	}
}

// Updated records a successful sync of everything queued before start.
func (h *Health) Updated(start time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastUpdated = h.now()
	if !h.oldestQueue.IsZero() && !h.oldestQueue.After(start) {
		h.oldestQueue = time.Time{}
	}
}

// LastUpdated is the time of the last successful sync.
func (h *Health) LastUpdated() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastUpdated
}

// Check returns an error when syncs have stalled.
func (h *Health) Check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if !h.oldestQueue.IsZero() && now.Sub(h.oldestQueue) > h.Timeout {
		return fmt.Errorf("a change has waited %s for a successful sync (last sync %s ago)",
			now.Sub(h.oldestQueue).Round(time.Second), now.Sub(h.lastUpdated).Round(time.Second))
	}
	if now.Sub(h.lastUpdated) > 2*h.Timeout {
		return fmt.Errorf("no successful sync for %s", now.Sub(h.lastUpdated).Round(time.Second))
	}
	return nil
}
