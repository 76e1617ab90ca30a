package service

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orosync/orosync/events"
)

// Metrics are the transformer's Prometheus metrics; `orosync run` serves them with the others on
// OROSYNC_METRICS_ADDR.
type Metrics struct {
	changes      prometheus.Counter
	deadLettered prometheus.Counter
}

// NewMetrics registers the transformer metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		changes: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_transformer_changes_total",
			Help: "Changes the transformer mapped from ORO_RAW for MERCATO_CHANGES (a record delivered again counts again)."}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_transformer_dead_letters_total",
			Help: "Raw records the transformer could not map and parked in OROSYNC_DLQ."}),
	}
	for _, c := range []prometheus.Collector{m.changes, m.deadLettered} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("transformer metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) seen(eventType string) {
	if m == nil {
		return
	}
	switch eventType {
	case events.TypeChange:
		m.changes.Inc()
	case events.TypeDeadLetter:
		m.deadLettered.Inc()
	}
}
