package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/coord"
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

// budgetSnapshot is the connection's request budget as the poller last saved it.
type budgetSnapshot struct {
	State   oro.BudgetState `json:"state"`
	SavedAt string          `json:"savedAt"`
}

// Limit is the budget's rate: "100/min" or "unlimited".
func (s budgetSnapshot) Limit() string {
	if s.State.PerMinute > 0 {
		return fmt.Sprintf("%g/min", s.State.PerMinute)
	}
	return "unlimited"
}

// readBudgetState reads the connection's saved budget state; ok is false while the poller saved none.
func readBudgetState(ctx context.Context, kv jetstream.KeyValue, tenant string) (s budgetSnapshot, ok bool, err error) {
	e, err := kv.Get(ctx, poller.BudgetStateKey(tenant))
	if err != nil {
		return s, false, nil
	}
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return s, false, fmt.Errorf("budget state of %s: %w", tenant, err)
	}
	return s, true, nil
}

// cursorsKV opens the cursor bucket (OROSYNC_CURSORS) on natsURL; the func closes the connection.
func cursorsKV(ctx context.Context, natsURL, name string) (jetstream.KeyValue, func(), error) {
	js, closeNC, err := connectJS(natsURL, name)
	if err != nil {
		return nil, nil, err
	}
	kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		closeNC()
		return nil, nil, fmt.Errorf("bucket OROSYNC_CURSORS: %w", err)
	}
	return kv, closeNC, nil
}

// printBudgetState prints the connection's request budget as the poller last saved it: whether it is waiting or
// backing off, and why.
func printBudgetState(ctx context.Context, w io.Writer, natsURL, tenant string) error {
	kv, closeFn, err := cursorsKV(ctx, natsURL, "orosync-status")
	if err != nil {
		return err
	}
	defer closeFn()
	defer printLeases(ctx, w, kv, tenant)
	s, ok, err := readBudgetState(ctx, kv, tenant)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintf(w, "\nOro connection %s: no budget state yet\n", tenant)
		return nil
	}
	fmt.Fprintf(w, "\nOro connection %s (as of %s): budget %s, %d requests, %d throttled (429/503), %d retried; waiting: delta %d, scan %d\n",
		tenant, s.SavedAt, s.Limit(), s.State.Requests, s.State.Throttled, s.State.Retries, s.State.Waiting["delta"], s.State.Waiting["scan"])
	if !s.State.PausedUntil.IsZero() {
		fmt.Fprintf(w, "  paused until %s\n", s.State.PausedUntil.Format("15:04:05"))
	}
	if s.State.Reason != "" {
		fmt.Fprintf(w, "  state: %s\n", s.State.Reason)
	}
	return nil
}

// leaseLines say which instance of the connection's pollers and reconcilers is active (README, "Several
// instances of every service"): "poller: host-1 (lease renewed ...)".
func leaseLines(ctx context.Context, kv jetstream.KeyValue, tenant string) []string {
	var out []string
	for _, l := range []struct{ service, key string }{{"poller", coord.PollerLeaseKey(tenant)}, {"reconciler", coord.ReconcilerLeaseKey(tenant)}} {
		switch h, ok, err := coord.ReadLease(ctx, kv, l.key); {
		case err != nil:
			out = append(out, fmt.Sprintf("%s: unknown (%v)", l.service, err))
		case !ok:
			out = append(out, l.service+": none")
		default:
			out = append(out, fmt.Sprintf("%s: %s (lease renewed %s)", l.service, h.Holder, h.RenewedAt.Format(time.RFC3339)))
		}
	}
	return out
}

// printLeases prints which instance of the connection's pollers and reconcilers is active.
func printLeases(ctx context.Context, w io.Writer, kv jetstream.KeyValue, tenant string) {
	for _, l := range leaseLines(ctx, kv, tenant) {
		fmt.Fprintf(w, "  active %s\n", l)
	}
}
