// Package adapters connects the poller to JetStream: raw record publishing and cursors in a key-value bucket.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/poller/domain"
)

// RawPublisher publishes raw records to ORO_RAW with CloudEvents headers and deterministic Nats-Msg-Ids.
type RawPublisher struct {
	JS jetstream.JetStream
}

// publishStallWait is how long a publish waits for room among the connection's outstanding publishes: every type
// of every tenant publishes its pages through one connection, so a full window is back-pressure, not a failure.
const publishStallWait = 30 * time.Second

// PublishRaw publishes asynchronously and waits for every acknowledgement; any failure fails the whole page so
// the cursor does not move past it.
func (p RawPublisher) PublishRaw(ctx context.Context, records []events.RawRecord, deadLetters []events.DeadLetter) error {
	futures := make([]jetstream.PubAckFuture, 0, len(records)+len(deadLetters))
	send := func(msg *nats.Msg) error {
		f, err := p.JS.PublishMsgAsync(msg, jetstream.WithStallWait(publishStallWait))
		if err != nil {
			return fmt.Errorf("publishing to %s: %w", msg.Subject, err)
		}
		futures = append(futures, f)
		return nil
	}
	for _, r := range records {
		subject, err := events.RawSubject(r.Tenant, r.Type, r.ID)
		if err != nil {
			return err
		}
		body, err := rawBody(r)
		if err != nil {
			return fmt.Errorf("%s: encoding: %w", r.RecordRef, err)
		}
		msg := nats.NewMsg(subject)
		msg.Data = body
		events.Envelope{ID: r.MsgID(), Source: events.Source(r.Tenant, "poller"), Type: events.TypeRawRecord,
			Subject: r.Type + "/" + r.ID, Time: r.ObservedAt}.Apply(msg.Header)
		if err := send(msg); err != nil {
			return err
		}
	}
	for _, d := range deadLetters {
		subject, env, body := d.Message()
		msg := nats.NewMsg(subject)
		msg.Data = body
		env.Apply(msg.Header)
		if err := send(msg); err != nil {
			return err
		}
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish to %s not acknowledged: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Cursors stores cursors in the OROSYNC_CURSORS bucket under <tenant>.<type>.
type Cursors struct {
	KV jetstream.KeyValue
}

// Load returns the saved cursor, or the zero cursor for a type never polled.
func (c Cursors) Load(ctx context.Context, tenant, typ string) (domain.Cursor, error) {
	e, err := c.KV.Get(ctx, tenant+"."+typ)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return domain.Cursor{}, nil
	}
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("loading cursor %s.%s: %w", tenant, typ, err)
	}
	var cur domain.Cursor
	if err := json.Unmarshal(e.Value(), &cur); err != nil {
		return domain.Cursor{}, fmt.Errorf("cursor %s.%s is not valid JSON: %w", tenant, typ, err)
	}
	return cur, nil
}

// Save stores the cursor.
func (c Cursors) Save(ctx context.Context, tenant, typ string, cur domain.Cursor) error {
	b, _ := json.Marshal(struct {
		domain.Cursor
		SavedAt time.Time `json:"savedAt"`
	}{cur, time.Now().UTC()})
	if _, err := c.KV.Put(ctx, tenant+"."+typ, b); err != nil {
		return fmt.Errorf("saving cursor %s.%s: %w", tenant, typ, err)
	}
	return nil
}

// BudgetStateKey is where the poller keeps its connection's request budget state (for `orosync status`).
func BudgetStateKey(tenant string) string { return tenant + "._budget" }

// SaveBudgetState stores the connection's budget state (waiting, paused, why) under BudgetStateKey.
func (c Cursors) SaveBudgetState(ctx context.Context, tenant string, st any) error {
	b, err := json.Marshal(struct {
		State   any       `json:"state"`
		SavedAt time.Time `json:"savedAt"`
	}{st, time.Now().UTC()})
	if err != nil {
		return err
	}
	if _, err := c.KV.Put(ctx, BudgetStateKey(tenant), b); err != nil {
		return fmt.Errorf("saving budget state of %s: %w", tenant, err)
	}
	return nil
}

// rawBody is json.Marshal(r): the poller's resources come from oro.ParseDocument, which checked their JSON, so
// the encoder need not check it again.
func rawBody(r events.RawRecord) ([]byte, error) {
	size := len(r.Resource) + 256
	for _, inc := range r.Included {
		size += len(inc) + 1
	}
	if body, ok := r.AppendJSON(make([]byte, 0, size)); ok {
		return body, nil
	}
	return json.Marshal(r)
}
