package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	poller "github.com/orosync/orosync/services/poller/service"
)

func TestStatusPerType(t *testing.T) {
	rows := []typeStatus{
		{Tenant: "acme", Type: "accounts", Poller: pollerStatus{Strategy: "hash-scan",
			Reason:   "no updatedAt filter/sort (…); audit log: 403 forbidden → hash scan",
			Progress: &poller.SyncProgress{Total: 100_000, Done: 41_000, ETA: 130 * time.Second}}},
		{Tenant: "acme", Type: "contacts", Poller: pollerStatus{Strategy: "keyset", Webhooks: true, Reason: "…",
			Progress: &poller.SyncProgress{Total: 10, Done: 10, CaughtUp: true}}},
	}
	t.Run("shows the progress, the ETA", func(t *testing.T) {
		if got := progressColumn(rows[0].Poller); got != "41000/100000 41% ETA 2m10s" {
			t.Errorf("progress %q", got)
		}
	})
	t.Run("shows the strategy, caught up", func(t *testing.T) {
		if got := strategyColumn(rows[1].Poller) + " " + progressColumn(rows[1].Poller); got != "keyset+webhooks caught up" {
			t.Errorf("%q", got)
		}
	})
	t.Run("prints each strategy's reason", func(t *testing.T) {
		var out bytes.Buffer
		printStrategyReasons(&out, rows)
		if !strings.Contains(out.String(), "acme/accounts: hash-scan — no updatedAt filter/sort (…); audit log: 403 forbidden → hash scan") {
			t.Errorf("reasons:\n%s", out.String())
		}
	})
}
