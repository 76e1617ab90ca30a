package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/coord"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/oro"
)

// shareBudgets makes every limited connection budget hold across processes (coord.SharedBudget): each request
// also takes a grant from the connection's key in OROSYNC_CURSORS, which the active poller and the active
// reconciler share wherever they run. It returns the close of the connection that does it.
func shareBudgets(ctx context.Context, natsURL string, budgets map[string]*oro.Budget, log *slog.Logger) (func(), error) {
	limited := false
	for _, b := range budgets {
		limited = limited || (b != nil && b.State().PerMinute > 0)
	}
	if !limited {
		return func() {}, nil
	}
	nc, err := natsconn.Connect(natsURL, "orosync-budget", log)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc.Conn)
	if err != nil {
		nc.Close()
		return nil, err
	}
	kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("shared Oro budgets: %w", err)
	}
	for name, b := range budgets {
		switch pm := b.State().PerMinute; {
		case pm >= 1:
			b.Share(&coord.SharedBudget{KV: kv, Key: coord.BudgetKey(name), PerWindow: pm})
		case pm > 0:
			log.Warn("an Oro budget under one request a minute is kept per process", "tenant", name, "per_minute", pm)
		}
	}
	return nc.Close, nil
}
