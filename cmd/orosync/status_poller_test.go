package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/services/poller/domain"
)

func TestStatusShowsEachTypesStrategyReasonAndProgress(t *testing.T) {
	rows := []typeStatus{
		{Tenant: "acme", Type: "accounts", Poller: pollerStatus{Strategy: "hash-scan",
			Reason:   "no updatedAt filter/sort (…); audit log: 403 forbidden → hash scan",
			Progress: &domain.SyncProgress{Total: 100_000, Done: 41_000, ETA: 130 * time.Second}}},
		{Tenant: "acme", Type: "contacts", Poller: pollerStatus{Strategy: "keyset", Webhooks: true, Reason: "…",
			Progress: &domain.SyncProgress{Total: 10, Done: 10, CaughtUp: true}}},
	}
	if got := rows[0].Poller.progressColumn(); got != "41000/100000 41% ETA 2m10s" {
		t.Errorf("progress %q", got)
	}
	if got := rows[1].Poller.strategyColumn() + " " + rows[1].Poller.progressColumn(); got != "keyset+webhooks caught up" {
		t.Errorf("%q", got)
	}
	var out bytes.Buffer
	printStrategyReasons(&out, rows)
	if !strings.Contains(out.String(), "acme/accounts: hash-scan — no updatedAt filter/sort (…); audit log: 403 forbidden → hash scan") {
		t.Errorf("reasons:\n%s", out.String())
	}
	for raw, want := range map[string]string{
		`{"updatedAt":"2026-11-01T09:00:00Z","lastId":42}`:                             "2026-11-01T09:00:00Z #42",
		`{"strategy":"hash-scan","scanId":1200}`:                                       "scan after id 1200",
		`{"strategy":"audit-log","baseline":true,"auditSince":"2026-11-01T09:00:05Z"}`: "audit log since 2026-11-01T09:00:05Z",
		`{"strategy":"audit-log","scanId":7,"auditSince":"2026-11-01T09:00:05Z"}`:      "baseline after id 7",
	} {
		if got := cursorText([]byte(raw)); got != want {
			t.Errorf("cursor %s: %q, want %q", raw, got, want)
		}
	}
}
