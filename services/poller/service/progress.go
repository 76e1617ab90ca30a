package service

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orosync/orosync/services/poller/adapters"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/domain"
)

// Metrics are the poller's Prometheus metrics: each type's run progress and ETA, records published.
type Metrics struct {
	total     *prometheus.GaugeVec
	done      *prometheus.GaugeVec
	eta       *prometheus.GaugeVec
	published *prometheus.CounterVec
}

// NewMetrics registers the poller metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	labels := []string{"tenant", "type"}
	m := &Metrics{
		total: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_poller_run_total_records",
			Help: "Records the current run of a type has to read (Oro's X-Include-Total-Count; -1 unknown)."}, labels),
		done: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_poller_run_done_records",
			Help: "Records the current run of a type has read."}, labels),
		eta: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orosync_poller_run_eta_seconds",
			Help: "Estimated time left of the current run of a type at its average rate (0: caught up or unknown)."}, labels),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orosync_poller_published_records_total",
			Help: "Record versions published to ORO_RAW (acknowledged)."}, labels),
	}
	for _, c := range []prometheus.Collector{m.total, m.done, m.eta, m.published} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("poller metrics: %w", err)
		}
	}
	return m, nil
}

// progressKey is where a type's run progress is kept for `orosync status`.
func progressKey(tenant, typ string) string { return tenant + "._progress." + typ }

// tracker follows one type's runs: progress and ETA into metrics and (at most once a second, and at the end of
// a run) into the cursor bucket.
type tracker struct {
	tenant, typ string
	kv          adapters.Cursors
	metrics     *Metrics

	mu    sync.Mutex
	p     domain.SyncProgress
	saved time.Time
}

func (t *tracker) start(s domain.Strategy) {
	t.mu.Lock()
	t.p = domain.SyncProgress{Strategy: s, Total: -1}
	t.mu.Unlock()
}

func (t *tracker) step(ctx context.Context, pr app.Progress) {
	t.mu.Lock()
	t.p = t.p.Step(pr.Total, pr.Cursor.Done, pr.CaughtUp, time.Now())
	p := t.p
	save := pr.CaughtUp || time.Since(t.saved) >= time.Second
	if save {
		t.saved = time.Now()
	}
	t.mu.Unlock()
	if m := t.metrics; m != nil {
		m.total.WithLabelValues(t.tenant, t.typ).Set(float64(p.Total))
		m.done.WithLabelValues(t.tenant, t.typ).Set(float64(p.Done))
		m.eta.WithLabelValues(t.tenant, t.typ).Set(p.ETA.Seconds())
		m.published.WithLabelValues(t.tenant, t.typ).Add(float64(pr.Published))
	}
	if save {
		_ = t.kv.SaveJSON(ctx, progressKey(t.tenant, t.typ), p) // status only: a lost write is overwritten next second
	}
}
