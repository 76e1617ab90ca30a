package service

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orosync/orosync/services/writer/app"
)

// Metrics are the writer's Prometheus metrics; `orosync run` serves them with the others on OROSYNC_METRICS_ADDR.
type Metrics struct {
	batches      prometheus.Counter
	versions     prometheus.Counter
	outcomes     *prometheus.CounterVec
	relayed      prometheus.Counter
	relayErrors  prometheus.Counter
	deadLettered prometheus.Counter
	paused       prometheus.Gauge

	mu    sync.Mutex
	pause string // why the writer waits for the database; "" while it writes
}

// NewMetrics registers the writer metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_writer_batches_committed_total",
			Help: "Batches of changes committed to Mercato's tables (each acknowledged on MERCATO_CHANGES after its commit)."}),
		versions: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_writer_versions_applied_total",
			Help: "Source versions committed batches applied (a version already applied, or older than it, is not counted)."}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_writer_records_total",
			Help: "Mercato records committed batches created, updated or deleted, and conflicts they queued for review (outcome)."},
			[]string{"outcome"}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_writer_events_relayed_total",
			Help: "Events the outbox relay published to MERCATO_EVENTS (acknowledged, then deleted from the outbox)."}),
		relayErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_writer_relay_failures_total",
			Help: "Outbox relay passes that failed and were rolled back (their events are retried)."}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "orosync_writer_dead_letters_total",
			Help: "Changes the writer parked in OROSYNC_DLQ."}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "orosync_writer_paused",
			Help: "1 while the writer waits for PostgreSQL to come back or take writes again (its batch kept, nothing dead-lettered)."}),
	}
	for _, c := range []prometheus.Collector{m.batches, m.versions, m.outcomes, m.relayed, m.relayErrors, m.deadLettered, m.paused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("writer metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) committed(r app.Result) {
	if m == nil {
		return
	}
	m.batches.Inc()
	m.versions.Add(float64(r.Records))
	for outcome, n := range map[string]int{"created": r.Created, "updated": r.Updated, "deleted": r.Deleted, "conflict": r.Conflicts} {
		m.outcomes.WithLabelValues(outcome).Add(float64(n))
	}
}

func (m *Metrics) relay(n int, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.relayErrors.Inc()
		return
	}
	m.relayed.Add(float64(n))
}

func (m *Metrics) deadLetter() {
	if m != nil {
		m.deadLettered.Inc()
	}
}

func (m *Metrics) setPaused(why string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.pause = why
	m.mu.Unlock()
	if why == "" {
		m.paused.Set(0)
		return
	}
	m.paused.Set(1)
}

// Ready says whether the writer writes: not while it waits for PostgreSQL (why says for what).
func (m *Metrics) Ready() (ready bool, why string) {
	if m == nil {
		return true, ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pause == "", m.pause
}
