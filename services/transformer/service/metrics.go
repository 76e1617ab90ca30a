package service

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/orosync/orosync/events"
)

// Metrics are the transformer's Prometheus metrics; `orosync run` serves them with the others on
// OROSYNC_METRICS_ADDR.
type Metrics struct {
	changes      prometheus.Counter
	deadLettered prometheus.Counter
	same         prometheus.Counter
}

// NewMetrics registers the transformer metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		changes: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_transformer_changes_total",
			Help: "Changes the transformer mapped from ORO_RAW for MERCATO_CHANGES (a record delivered again counts again)."}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_transformer_dead_letters_total",
			Help: "Raw records the transformer could not map and parked in OROSYNC_DLQ."}),
		same: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_transformer_unchanged_total",
			Help: "Raw records a replay mapped to the change its base mapping gives, so did not publish (orosync replay --base)."}),
	}
	for _, c := range []prometheus.Collector{m.changes, m.deadLettered, m.same} {
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

// unchanged counts a record a replay did not publish; a method value of a nil *Metrics is a no-op.
func (m *Metrics) unchanged() {
	if m != nil {
		m.same.Inc()
	}
}

// Totals are the changes published, the records left unchanged and the dead letters counted so far.
func (m *Metrics) Totals() (changes, unchanged, deadLetters uint64) {
	return count(m.changes), count(m.same), count(m.deadLettered)
}

func count(c prometheus.Counter) uint64 {
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		return 0
	}
	return uint64(d.GetCounter().GetValue())
}
