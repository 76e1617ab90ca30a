package oro

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of every Budget built with them (labelled by connection).
type Metrics struct {
	limit          *prometheus.GaugeVec
	requests       *prometheus.CounterVec
	waiting        *prometheus.GaugeVec
	throttled      *prometheus.CounterVec
	retries        *prometheus.CounterVec
	pausedSeconds  *prometheus.GaugeVec
	backoffSeconds *prometheus.GaugeVec
}

// NewMetrics registers the budget metrics with reg (nil: not registered, still usable).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_oro_budget_per_minute",
			Help: "Configured Oro request budget per minute (0: unlimited)."}, []string{"connection"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_oro_requests_total",
			Help: "Oro API requests sent, by priority."}, []string{"connection", "priority"}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_oro_budget_waiting",
			Help: "Callers waiting for a request slot, by priority."}, []string{"connection", "priority"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_oro_throttled_total",
			Help: "429/503 answers honoured with a pause (Retry-After)."}, []string{"connection"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_oro_retries_total",
			Help: "Requests retried after a transient failure (5xx, timeout, truncated or malformed body)."}, []string{"connection"}),
		pausedSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_oro_paused_seconds",
			Help: "Latest Retry-After pause of the connection (0 when not paused)."}, []string{"connection"}),
		backoffSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_oro_backoff_seconds",
			Help: "Current back-off delay of the connection (0 when not backing off)."}, []string{"connection"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.limit, m.requests, m.waiting, m.throttled, m.retries, m.pausedSeconds, m.backoffSeconds} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("oro metrics: %w", err)
			}
		}
	}
	return m, nil
}
