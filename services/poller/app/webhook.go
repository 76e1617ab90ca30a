package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
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

// ErrUnusable is a signed delivery that cannot become a record (not JSON, not one resource, no usable id).
var ErrUnusable = errors.New("webhook delivery unusable")

// Delivery is a decoded webhook body: {topic, eventData: {data}, timestamp, messageId}.
type Delivery struct {
	Topic     string `json:"topic"`
	MessageID string `json:"messageId"`
	EventData struct {
		Data     json.RawMessage   `json:"data"`
		Included []json.RawMessage `json:"included,omitempty"`
	} `json:"eventData"`
}

// HandleWebhook publishes a verified delivery of a created or updated record exactly like a polled version (same
// Nats-Msg-Id, so the poll that later sees the same version is a no-op). Thin deliveries (type and id only) and
// deletes are left to the next poll and the reconciler, which confirm them against Oro, and so are records with
// parts (a contact's addresses) whose delivery does not include every one of them: published without them, the
// version would say the addresses are gone. It reports whether a record was published.
func HandleWebhook(ctx context.Context, pub Publisher, tenant string, body []byte, now time.Time) (bool, error) {
	var d Delivery
	if err := json.Unmarshal(body, &d); err != nil {
		return false, fmt.Errorf("%w: body: %w", ErrUnusable, err)
	}
	if strings.HasSuffix(d.Topic, ".deleted") || len(d.EventData.Data) == 0 {
		return false, nil
	}
	body, err := json.Marshal(d.EventData)
	if err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrUnusable, d.MessageID, err)
	}
	doc, err := oro.ParseDocument(body)
	if err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrUnusable, d.MessageID, err)
	}
	if !doc.Single || len(doc.Data) != 1 {
		return false, fmt.Errorf("%w: %s: data is not one resource", ErrUnusable, d.MessageID)
	}
	r := doc.Data[0]
	if _, ok := r.UpdatedAt(); !ok {
		return false, nil // thin format: type and id only
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
