package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/services/poller/adapters"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/domain"
)

// What the CLI needs of the poller besides Run: its progress reports, the webhook receiver, and its state in the
// cursor bucket.

// Progress is a type's progress, reported while it polls (Config.OnProgress).
type Progress = app.Progress

// SyncProgress is the progress a type's run keeps in the cursor bucket.
type SyncProgress = domain.SyncProgress

// NewWebhookReceiver is the HTTP handler of Oro's webhooks (route /webhooks/{tenant}): each notification's records
// are published to ORO_RAW; secrets maps a tenant to its webhooks' secret.
func NewWebhookReceiver(js jetstream.JetStream, secrets map[string]string, log *slog.Logger) http.Handler {
	return adapters.WebhookReceiver{Publisher: adapters.RawPublisher{JS: js}, Secrets: secrets, Log: log}
}

// BudgetStateKey is the cursor-bucket key of a tenant's Oro request budget.
func BudgetStateKey(tenant string) string { return adapters.BudgetStateKey(tenant) }

// TypeState is what the poller keeps about one tenant and type, as `orosync status` shows it: the strategy chosen
// from the last capability probe and why, the progress of its current (or last) run, and its cursor.
type TypeState struct {
	Strategy string        `json:"strategy,omitempty"`
	Webhooks bool          `json:"webhooks,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Progress *SyncProgress `json:"progress,omitempty"`
	// Cursor is where the type's strategy stands ("" before its first run; see CursorText).
	Cursor string `json:"cursor,omitempty"`
}

// State reads a type's state from the cursor bucket; a probe or progress missing or unreadable is left empty, and
// so is the cursor before the type's first run.
func State(ctx context.Context, kv jetstream.KeyValue, tenant, typ string) (TypeState, error) {
	var s TypeState
	if e, err := kv.Get(ctx, adapters.CapabilitiesKey(tenant, typ)); err == nil {
		var p adapters.Probed
		if json.Unmarshal(e.Value(), &p) == nil {
			s.Strategy, s.Webhooks, s.Reason = string(p.Choice.Strategy), p.Choice.Webhooks, p.Choice.Reason
		}
	}
	if e, err := kv.Get(ctx, tenant+"._progress."+typ); err == nil {
		var p domain.SyncProgress
		if json.Unmarshal(e.Value(), &p) == nil {
			s.Progress = &p
		}
	}
	e, err := kv.Get(ctx, tenant+"."+typ)
	switch {
	case err == nil:
		s.Cursor = CursorText(e.Value())
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return s, fmt.Errorf("cursor of %s/%s: %w", tenant, typ, err)
	}
	return s, nil
}

// CursorText renders a type's cursor as its strategy keeps it: keyset "2026-11-01T09:00:00Z #42", audit log
// "audit log since …", hash scan "scan after id 1200" or "scan idle".
func CursorText(raw []byte) string {
	var c domain.Cursor
	if json.Unmarshal(raw, &c) != nil {
		return "?"
	}
	switch c.Strategy {
	case domain.AuditLog:
		if !c.Baseline {
			return fmt.Sprintf("baseline after id %d", c.ScanID)
		}
		return "audit log since " + c.AuditSince.UTC().Format(time.RFC3339)
	case domain.HashScan:
		if c.ScanID == 0 {
			return "scan idle"
		}
		return fmt.Sprintf("scan after id %d", c.ScanID)
	}
	return fmt.Sprintf("%s #%d", c.UpdatedAt.UTC().Format(time.RFC3339), c.LastID)
}
