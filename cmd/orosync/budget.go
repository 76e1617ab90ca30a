package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/coord"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/oro"
	poller "github.com/orosync/orosync/services/poller/service"
)

// budgetPerMinute is the connection's Oro request budget: OROSYNC_ORO_BUDGET requests a minute, shared by its
// poller and reconciler, across processes too (shareBudgets); 0 or unset: unlimited.
func budgetPerMinute() (float64, error) {
	v := env("OROSYNC_ORO_BUDGET", "0")
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("OROSYNC_ORO_BUDGET %q: want requests per minute (0: unlimited)", v)
	}
	return n, nil
}

// printBudgetState prints the connection's request budget as the poller last saved it: whether it is waiting or
// backing off, and why.
func printBudgetState(ctx context.Context, w io.Writer, natsURL, tenant string) error {
	nc, err := nats.Connect(natsURL, nats.Name("orosync-status"), natsconn.Inbox(natsURL))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		return err
	}
	defer printLeases(ctx, w, kv, tenant)
	e, err := kv.Get(ctx, poller.BudgetStateKey(tenant))
	if err != nil {
		fmt.Fprintf(w, "\nOro connection %s: no budget state yet\n", tenant)
		return nil
	}
	var s struct {
		State   oro.BudgetState `json:"state"`
		SavedAt string          `json:"savedAt"`
	}
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return fmt.Errorf("budget state of %s: %w", tenant, err)
	}
	limit := "unlimited"
	if s.State.PerMinute > 0 {
		limit = fmt.Sprintf("%g/min", s.State.PerMinute)
	}
	fmt.Fprintf(w, "\nOro connection %s (as of %s): budget %s, %d requests, %d throttled (429/503), %d retried; waiting: delta %d, scan %d\n",
		tenant, s.SavedAt, limit, s.State.Requests, s.State.Throttled, s.State.Retries, s.State.Waiting["delta"], s.State.Waiting["scan"])
	if !s.State.PausedUntil.IsZero() {
		fmt.Fprintf(w, "  paused until %s\n", s.State.PausedUntil.Format("15:04:05"))
	}
	if s.State.Reason != "" {
		fmt.Fprintf(w, "  state: %s\n", s.State.Reason)
	}
	return nil
}

// printLeases prints which instance of the connection's pollers and reconcilers is active (README, "Several
// instances of every service").
func printLeases(ctx context.Context, w io.Writer, kv jetstream.KeyValue, tenant string) {
	for _, l := range []struct{ service, key string }{{"poller", coord.PollerLeaseKey(tenant)}, {"reconciler", coord.ReconcilerLeaseKey(tenant)}} {
		switch h, ok, err := coord.ReadLease(ctx, kv, l.key); {
		case err != nil:
			fmt.Fprintf(w, "  active %s: unknown (%v)\n", l.service, err)
		case !ok:
			fmt.Fprintf(w, "  active %s: none\n", l.service)
		default:
			fmt.Fprintf(w, "  active %s: %s (lease renewed %s)\n", l.service, h.Holder, h.RenewedAt.Format(time.RFC3339))
		}
	}
}
