package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/orosync/orosync/contracts/tracing"
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

// WebhookConnection is a tenant's webhook secret (its own) and the Oro types it syncs.
type WebhookConnection = adapters.WebhookConnection

// NewWebhookReceiver is the HTTP handler of Oro's webhooks (route /webhooks/{tenant}): each notification's records
// are published to ORO_RAW through nc; conns maps a tenant to its secret and types (adapters.WebhookReceiver says
// what is checked); with tracer set, each record starts a trace (nil: none).
func NewWebhookReceiver(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, conns map[string]WebhookConnection,
	log *slog.Logger, tracer trace.TracerProvider) (http.Handler, error) {
	pub, err := adapters.NewRawPublisher(ctx, nc, js)
	if err != nil {
		return nil, err
	}
	pub.Tracer = tracing.New(tracer, TracerName)
	return adapters.WebhookReceiver{Publisher: pub, Connections: conns, Log: log}, nil
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
}

// State reads a type's state from the cursor bucket; a probe or progress missing or unreadable is left empty.
func State(ctx context.Context, kv jetstream.KeyValue, tenant, typ string) TypeState {
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
	return s
}

// Cursor is where a type's strategy stands (CursorText); ok is false before its first run.
func Cursor(ctx context.Context, kv jetstream.KeyValue, tenant, typ string) (text string, ok bool, err error) {
	e, err := kv.Get(ctx, tenant+"."+typ)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return CursorText(e.Value()), true, nil
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
