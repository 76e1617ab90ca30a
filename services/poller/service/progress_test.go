package service_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/domain"
	"github.com/orosync/orosync/services/poller/service"
)

func TestInitialSyncProgress(t *testing.T) {
	f := setup(t, 500)
	reg := prometheus.NewRegistry()
	m, err := service.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	type sample struct {
		eta         float64
		done, total int64
	}
	var mid []sample
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = service.Run(ctx, service.Config{NatsURL: f.nat, PageSize: 50, Once: true, SafetyLag: time.Second, Now: f.clock.Now, Metrics: m,
		OnProgress: func(p app.Progress) {
			if !p.CaughtUp {
				mid = append(mid, sample{gauge(t, reg, "orosync_poller_run_eta_seconds"), p.Cursor.Done, p.Total})
			}
		},
		Tenants: map[string]service.Tenant{"acme": {Types: []string{"contacts"},
			Oro: oro.Config{BaseURL: f.url + "/api", ClientID: "id", ClientSecret: "secret"}}}})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := f.js.KeyValue(context.Background(), "OROSYNC_CURSORS")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), "acme._progress.contacts")
	if err != nil {
		t.Fatal(err)
	}
	var p domain.SyncProgress
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		t.Fatal(err)
	}
	t.Run("is kept for status", func(t *testing.T) {
		if p.Total != 500 || p.Done != 500 || !p.CaughtUp || p.Strategy != domain.Keyset || p.ETA != 0 || p.Percent() != 100 {
			t.Errorf("progress kept for status: %+v", p)
		}
	})
	t.Run("is exposed as metrics", func(t *testing.T) {
		if got := gauge(t, reg, "orosync_poller_run_total_records"); got != 500 {
			t.Errorf("total gauge %v", got)
		}
		if got := gauge(t, reg, "orosync_poller_run_done_records"); got != 500 {
			t.Errorf("done gauge %v", got)
		}
	})
	// The first page has no rate yet; every later one with records left has an estimate.
	if len(mid) < 5 {
		t.Fatalf("%d pages before caught up", len(mid))
	}
	for i, s := range mid[1:] {
		if s.done < s.total && s.eta <= 0 {
			t.Errorf("page %d: %d of %d read, ETA %v", i+2, s.done, s.total, s.eta)
		}
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			if g := mf.Metric[0].GetGauge(); g != nil {
				return g.GetValue()
			}
		}
	}
	return -2
}
