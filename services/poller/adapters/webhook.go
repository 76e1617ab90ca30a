package adapters

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/orosync/orosync/services/poller/app"
)

// maxWebhookBody bounds a delivery's body.
const maxWebhookBody = 4 << 20

// WebhookConnection is what one connection's deliveries are checked against.
type WebhookConnection struct {
	// Secret signs the connection's deliveries (Oro's webhook secret): its own, never shared with another
	// connection.
	Secret string
	// Types are the Oro types the connection syncs.
	Types []string
}

// WebhookReceiver is the HTTP endpoint Oro's webhooks post to (POST /webhooks/<tenant>). A delivery is published to
// ORO_RAW before the 200 only when its Webhook-Signature is valid for the tenant's secret, its timestamp is within
// the window, and its record is of a type the tenant syncs with an updatedAt not ahead of our clock. Oro retries
// 423, 425, 429, 502 and 503 only: so a delivery that will never be usable gets a 4xx, and one not published for a
// passing reason (JetStream unavailable) a 503.
type WebhookReceiver struct {
	Publisher app.Publisher
	// Connections maps a tenant to its secret and types; an unknown tenant is answered as a bad signature is.
	Connections map[string]WebhookConnection
	Log         *slog.Logger
	Now         func() time.Time
	// Window bounds a delivery's timestamp around our clock; default app.DefaultWebhookWindow.
	Window time.Duration
}

// unknownTenantSecret stands in for the secret of a tenant that has none, so the answer (and the work before it)
// is the one a bad signature gets.
const unknownTenantSecret = "\x00no connection of this name\x00"

func (h WebhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body larger than 4 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "body unreadable", http.StatusBadRequest)
		return
	}
	tenant := r.PathValue("tenant")
	conn, known := h.Connections[tenant]
	secret := conn.Secret
	if !known || secret == "" {
		secret = unknownTenantSecret
	}
	if err := app.VerifySignature(secret, r.Header.Get("Webhook-Signature"), body); err != nil || !known {
		h.log().Warn("webhook rejected: signature missing or invalid, or no such connection", "tenant", tenant,
			"topic", r.Header.Get("Webhook-Topic"))
		http.Error(w, app.ErrBadSignature.Error(), http.StatusUnauthorized)
		return
	}
	published, err := app.HandleWebhook(r.Context(), h.Publisher,
		app.Webhook{Tenant: tenant, Types: conn.Types, Now: h.now(), Window: h.Window}, body)
	switch {
	case err != nil && !errors.Is(err, app.ErrUnusable):
		// Not published (JetStream unavailable): 503 makes Oro deliver again.
		h.log().Warn("webhook not published; Oro will retry", "tenant", tenant, "err", err)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "not published, retry", http.StatusServiceUnavailable)
	case err != nil:
		// Signed, but never usable: Oro must not retry it; the poll reads the record.
		h.log().Warn("webhook refused; the next poll reads the record", "tenant", tenant, "err", err)
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
	default:
		h.log().Debug("webhook", "tenant", tenant, "published", published)
		w.WriteHeader(http.StatusOK)
	}
}

func (h WebhookReceiver) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h WebhookReceiver) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}
