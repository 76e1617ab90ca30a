package adapters

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the reconciler's Prometheus metrics.
type Metrics struct {
	tripped   *prometheus.GaugeVec
	waiting   *prometheus.GaugeVec
	passes    *prometheus.CounterVec
	tombs     *prometheus.CounterVec
	fetched   *prometheus.CounterVec
	repaired  *prometheus.CounterVec
	unparsed  *prometheus.GaugeVec
	listCalls *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg (nil: not registered, still usable).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	l := []string{"tenant", "type"}
	m := &Metrics{
		tripped: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_reconciler_breaker_tripped",
			Help: "1 while a type's mass-delete breaker is tripped: nothing is deleted until `orosync reconcile --confirm`."}, l),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_reconciler_grace_waiting",
			Help: "Records missing from the latest complete listing that wait for more passes before their tombstone."}, l),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_reconciler_rounds_total",
			Help: "Reconcile rounds by result (ok, incomplete, tripped, failed) and kind (audit, diff)."}, append(l, "kind", "result")),
		tombs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_reconciler_tombstones_total",
			Help: "Tombstones JetStream acknowledged, by reason (audit, diff)."}, append(l, "reason")),
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_reconciler_fetched_total",
			Help: "Records Oro lists but Mercato lacked, fetched and published to ORO_RAW."}, l),
		repaired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_reconciler_repaired_total",
			Help: "Records Oro lists at a newer updatedAt than Mercato holds (a change lost on the way), published again."}, l),
		unparsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_reconciler_unparsable_ids",
			Help: "Held records whose id is not an Oro id (never tombstoned)."}, l),
		listCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_reconciler_list_requests_total",
			Help: "Id-listing requests of diff passes."}, l),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.tripped, m.waiting, m.passes, m.tombs, m.fetched, m.repaired, m.unparsed, m.listCalls} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering reconciler metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Round records one round of a type.
type Round struct {
	Tenant, Type, Kind, Result               string
	Tripped                                  bool
	Waiting, Audited, Diffed, Fetched, Pages int
	Repaired, Unparsable                     int
}

// Observe updates the metrics after a round.
func (m *Metrics) Observe(r Round) {
	tripped := 0.0
	if r.Tripped {
		tripped = 1
	}
	m.tripped.WithLabelValues(r.Tenant, r.Type).Set(tripped)
	m.passes.WithLabelValues(r.Tenant, r.Type, r.Kind, r.Result).Inc()
	m.tombs.WithLabelValues(r.Tenant, r.Type, "audit").Add(float64(r.Audited))
	m.tombs.WithLabelValues(r.Tenant, r.Type, "diff").Add(float64(r.Diffed))
	m.fetched.WithLabelValues(r.Tenant, r.Type).Add(float64(r.Fetched))
	m.repaired.WithLabelValues(r.Tenant, r.Type).Add(float64(r.Repaired))
	m.listCalls.WithLabelValues(r.Tenant, r.Type).Add(float64(r.Pages))
	if r.Kind == "diff" && r.Result != "incomplete" {
		m.waiting.WithLabelValues(r.Tenant, r.Type).Set(float64(r.Waiting))
		m.unparsed.WithLabelValues(r.Tenant, r.Type).Set(float64(r.Unparsable))
	}
}
