package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTheMetricsEndpointServesEveryServicesMetrics: with OROSYNC_METRICS_ADDR set,
// `orosync run`'s one /metrics endpoint carries the writer's and the transformer's metrics, and the pipeline it
// builds counts into them.
func TestTheMetricsEndpointServesEveryServicesMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	t.Setenv("OROSYNC_METRICS_ADDR", addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := common{natsURL: "nats://127.0.0.1:1", tenant: "acme", mercatoTenant: defaultTenantID, mercatoOrg: defaultOrgID}
	r, err := setup(ctx, &c, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := c.pipeline(r, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if p.WriterMetrics == nil || p.PollerMetrics == nil || p.TransformerMetrics == nil || p.WriterMetrics != r.metrics.writer {
		t.Fatalf("the pipeline does not count into the served metrics: writer %p (served %p), poller %p",
			p.WriterMetrics, r.metrics.writer, p.PollerMetrics)
	}
	if p.reconcilerConfig().Registerer != r.metrics.reg || r.metrics.reg == nil {
		t.Fatal("the reconciler does not register its metrics (orosync_reconciler_*) on the served registry")
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	for _, name := range []string{"orosync_writer_batches_committed_total", "orosync_writer_versions_applied_total",
		"orosync_writer_events_relayed_total", "orosync_writer_dead_letters_total", "orosync_transformer_changes_total",
		"orosync_transformer_dead_letters_total", "orosync_writer_paused"} {
		if !strings.Contains(string(body), "\n"+name+" ") {
			t.Errorf("/metrics does not serve %s:\n%s", name, body)
		}
	}

	t.Run("readiness", func(t *testing.T) {
		res, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		if body, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK || string(body) != "ready\n" {
			t.Errorf("/readyz: %d %q, want 200 ready while the writer writes", res.StatusCode, body)
		}
	})
}
