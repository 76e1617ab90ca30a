package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/service"
)

func TestMetrics(t *testing.T) {
	s := jstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	m, err := service.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, service.Config{NatsURL: s.URL, Metrics: m}) }()
	publishRaw(t, s.JS, "1", `{"firstName":"Ada","primaryEmail":"ada@example.com"}`)
	publishRaw(t, s.JS, "2", `{"firstName":"Bad","primaryEmail":"not-an-email"}`)
	publishRaw(t, s.JS, "3", `{"firstName":"Bob"}`)
	cons, _ := s.JS.Consumer(ctx, events.StreamOroRaw, "transformer")
	waitFor(t, ctx, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.AckFloor.Stream == 3 && info.NumAckPending == 0
	})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		got[f.GetName()] = f.GetMetric()[0].GetCounter().GetValue()
	}
	t.Run("count changes, dead letters", func(t *testing.T) {
		if got["orosync_transformer_changes_total"] != 2 || got["orosync_transformer_dead_letters_total"] != 1 {
			t.Errorf("metrics %v, want 2 changes and 1 dead letter", got)
		}
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
}
