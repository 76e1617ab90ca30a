package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/domain"
)

// ErrBadSignature is a webhook delivery whose Webhook-Signature is missing or wrong: it is never published.
var ErrBadSignature = errors.New("webhook signature missing or invalid")

// VerifySignature checks Oro's Webhook-Signature: hex HMAC-SHA256 of the body with the webhook's secret.
func VerifySignature(secret, signature string, body []byte) error {
	if secret == "" || signature == "" {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// ErrUnusable is a signed delivery that cannot become a record: not JSON, not one resource, no usable id, or one of
// the refusals below. Oro is not to deliver it again; the poll reads the record.
var ErrUnusable = errors.New("webhook delivery unusable")

// The refusals of a signed delivery.
var (
	// ErrStale: its timestamp is outside the window around our clock (a replay, or a delivery retried too long).
	ErrStale = fmt.Errorf("%w: timestamp outside the window", ErrUnusable)
	// ErrNotSynced: its record is of a type the connection does not sync, or not of its topic's entity.
	ErrNotSynced = fmt.Errorf("%w: type not synced", ErrUnusable)
	// ErrFuture: its record's updatedAt is ahead of our clock by more than the window; kept, it would outrank every
	// real edit until then.
	ErrFuture = fmt.Errorf("%w: updatedAt in the future", ErrUnusable)
)

// DefaultWebhookWindow is how far a delivery's timestamp may be from our clock, and an updatedAt ahead of it.
const DefaultWebhookWindow = 5 * time.Minute

// Webhook is what a verified delivery is checked against.
type Webhook struct {
	Tenant string
	// Types are the connection's Oro types; a delivery of another is refused.
	Types []string
	Now   time.Time
	// Window bounds the delivery's timestamp around Now, and its record's updatedAt ahead of Now; default
	// DefaultWebhookWindow.
	Window time.Duration
}

// Delivery is a decoded webhook body: {topic, eventData: {data}, timestamp, messageId}; Oro sets the timestamp
// (Unix seconds) when it queues the notification, and retries keep it.
type Delivery struct {
	Topic     string      `json:"topic"`
	MessageID string      `json:"messageId"`
	Timestamp json.Number `json:"timestamp"`
	EventData struct {
		Data     json.RawMessage   `json:"data"`
		Included []json.RawMessage `json:"included,omitempty"`
	} `json:"eventData"`
}

// HandleWebhook publishes a verified delivery of a created or updated record exactly like a polled version (same
// Nats-Msg-Id, so the poll that later sees the same version is a no-op). Thin deliveries (type and id only) and
// deletes are left to the next poll and the reconciler, which confirm them against Oro, and so are records with
// parts (a contact's addresses) whose delivery does not include every one of them: published without them, the
// version would say the addresses are gone. A delivery outside w's window, of a type w does not sync, or with an
// updatedAt ahead of it is refused (ErrStale, ErrNotSynced, ErrFuture). It reports whether a record was published.
func HandleWebhook(ctx context.Context, pub Publisher, w Webhook, body []byte) (bool, error) {
	if w.Window <= 0 {
		w.Window = DefaultWebhookWindow
	}
	var d Delivery
	if err := json.Unmarshal(body, &d); err != nil {
		return false, fmt.Errorf("%w: body: %w", ErrUnusable, err)
	}
	if err := d.checkTime(w); err != nil {
		return false, err
	}
	if len(d.EventData.Data) == 0 {
		return false, nil
	}
	doc, err := d.document()
	if err != nil {
		return false, err
	}
	r := doc.Data[0]
	if err := d.checkType(r.Type, w.Types); err != nil {
		return false, err
	}
	at, ok := r.UpdatedAt()
	switch {
	case strings.HasSuffix(d.Topic, ".deleted") || !ok:
		return false, nil // a delete, or the thin format (type and id only)
	case at.After(w.Now.Add(w.Window)):
		return false, fmt.Errorf("%w: %s: %s %s updatedAt %s, our clock %s", ErrFuture, d.MessageID, r.Type, r.ID,
			at.UTC().Format(time.RFC3339), w.Now.UTC().Format(time.RFC3339))
	}
	included := make(map[oro.Identifier]json.RawMessage, len(doc.Included))
	for _, inc := range doc.Included {
		included[inc.Identifier()] = inc.Raw
	}
	for _, rel := range oro.Parts(r.Type) {
		for _, part := range r.Relationships[rel].Data {
			if _, ok := included[part]; !ok {
				return false, nil // the poll reads it with its parts
			}
		}
	}
	tenant, now := w.Tenant, w.Now
	p := PollType{Tenant: tenant, Type: r.Type, Now: func() time.Time { return now }}
	ref := events.RecordRef{Tenant: tenant, Type: r.Type, ID: r.ID}
	rec, _, _, err := p.record(r, ref, included, now.UTC())
	if err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrUnusable, d.MessageID, err)
	}
	rec.Via = "webhook"
	if err := pub.PublishRaw(ctx, []events.RawRecord{rec}, nil); err != nil {
		return false, fmt.Errorf("webhook %s: %w", d.MessageID, err)
	}
	return true, nil
}

// checkTime refuses a delivery whose timestamp is missing or further than the window from our clock.
func (d Delivery) checkTime(w Webhook) error {
	ts, err := d.Timestamp.Int64()
	if err != nil {
		return fmt.Errorf("%w: %s: timestamp %q is not Unix seconds", ErrStale, d.MessageID, d.Timestamp)
	}
	at := time.Unix(ts, 0)
	if off := w.Now.Sub(at); off > w.Window || off < -w.Window {
		return fmt.Errorf("%w: %s: sent at %s, our clock %s (window %s)", ErrStale, d.MessageID,
			at.UTC().Format(time.RFC3339), w.Now.UTC().Format(time.RFC3339), w.Window)
	}
	return nil
}

// document decodes the delivery's event data: one resource, with what it includes.
func (d Delivery) document() (*oro.Document, error) {
	body, err := json.Marshal(d.EventData)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnusable, d.MessageID, err)
	}
	doc, err := oro.ParseDocument(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnusable, d.MessageID, err)
	}
	if !doc.Single || len(doc.Data) != 1 {
		return nil, fmt.Errorf("%w: %s: data is not one resource", ErrUnusable, d.MessageID)
	}
	return doc, nil
}

// checkType refuses a record of a type the connection does not sync, or not of the topic's entity
// (<alias>.<event>[.<id>]).
func (d Delivery) checkType(typ string, types []string) error {
	if !slices.Contains(types, typ) {
		return fmt.Errorf("%w: %s: %s is not among the connection's types %v", ErrNotSynced, d.MessageID, typ, types)
	}
	if alias, _, _ := strings.Cut(d.Topic, "."); alias != domain.EntityAlias(typ) {
		return fmt.Errorf("%w: %s: topic %q is not about %s", ErrNotSynced, d.MessageID, d.Topic, typ)
	}
	return nil
}
