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

// WebhookReceiver is the HTTP endpoint Oro's webhooks post to (POST /webhooks/<tenant>). A delivery without a
// valid Webhook-Signature gets 401 and is never published; a valid one is published to ORO_RAW before the 200.
type WebhookReceiver struct {
	Publisher app.Publisher
	// Secrets maps a tenant to its webhooks' secret.
	Secrets map[string]string
	Log     *slog.Logger
	Now     func() time.Time
}

func (h WebhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	tenant := r.PathValue("tenant")
	secret, ok := h.Secrets[tenant]
	if !ok {
		http.Error(w, "unknown connection", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		http.Error(w, "body unreadable or too large", http.StatusBadRequest)
		return
	}
	if err := app.VerifySignature(secret, r.Header.Get("Webhook-Signature"), body); err != nil {
		h.log().Warn("webhook rejected", "tenant", tenant, "topic", r.Header.Get("Webhook-Topic"), "reason", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	published, err := app.HandleWebhook(r.Context(), h.Publisher, tenant, body, now())
	switch {
	case err != nil && !errors.Is(err, app.ErrUnusable):
		// Not published (JetStream unavailable): 503 makes Oro deliver again.
		h.log().Warn("webhook not published; Oro will retry", "tenant", tenant, "err", err)
		http.Error(w, "not published, retry", http.StatusServiceUnavailable)
	case err != nil:
		// A signed delivery we cannot use: 200 so Oro does not retry it forever; the poll will read the record.
		h.log().Warn("webhook delivery not usable; the next poll reads the record", "tenant", tenant, "err", err)
		w.WriteHeader(http.StatusOK)
	default:
		h.log().Debug("webhook", "tenant", tenant, "published", published)
		w.WriteHeader(http.StatusOK)
	}
}

func (h WebhookReceiver) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}
