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

	"github.com/orosync/orosync/contracts/coord"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/poller/domain"
)

// RawPublisher publishes raw records to ORO_RAW with CloudEvents headers and deterministic Nats-Msg-Ids.
type RawPublisher struct {
	JS jetstream.JetStream
	// Limit is the largest message ORO_RAW takes (natsconn.Limit); 0 leaves the check to the server.
	Limit int
	// DeadLetterLimit is OROSYNC_DLQ's: a dead letter bigger than that goes without the original payload.
	DeadLetterLimit int
	Now             func() time.Time
	// Tracer, when set, starts a trace per record published and carries it in the message's headers.
	Tracer *tracing.Tracer
}

// publishStallWait is how long a publish waits for room among the connection's outstanding publishes: every type
// of every tenant publishes its pages through one connection, so a full window is back-pressure, not a failure.
const publishStallWait = 30 * time.Second

// NewRawPublisher reads ORO_RAW's and OROSYNC_DLQ's limits on nc.
func NewRawPublisher(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) (RawPublisher, error) {
	raw, err := natsconn.Limit(ctx, nc, js, events.StreamOroRaw)
	if err != nil {
		return RawPublisher{}, err
	}
	dlq, err := natsconn.Limit(ctx, nc, js, events.StreamDeadLetter)
	if err != nil {
		return RawPublisher{}, err
	}
	return RawPublisher{JS: js, Limit: raw, DeadLetterLimit: dlq}, nil
}

// PublishRaw publishes asynchronously and waits for every acknowledgement. A record ORO_RAW cannot take (bigger
// than its limit) is dead-lettered instead, naming its id, size and the limit; any other failure fails the whole
// page so the cursor does not move past it.
func (p RawPublisher) PublishRaw(ctx context.Context, records []events.RawRecord, deadLetters []events.DeadLetter) error {
	msgs := make([]*nats.Msg, 0, len(records))
	refs := make([]events.RecordRef, 0, len(records))
	spans := p.Tracer.Publishing(ctx, len(records))
	defer spans.End()
	for _, r := range records {
		msg, err := rawMsg(r)
		if err != nil {
			return err
		}
		spans.Start(SpanPublish, msg, tracing.Record(r.Tenant, r.Type, r.ID)...)
		if size := natsconn.Size(msg); p.Limit > 0 && size > p.Limit {
			deadLetters = append(deadLetters, p.oversize(r.RecordRef, msg, size, p.Limit))
			continue
		}
		msgs, refs = append(msgs, msg), append(refs, r.RecordRef)
	}
	tooBig, err := publishAll(ctx, p.JS, msgs)
	if err != nil {
		spans.Fail(err)
		return err
	}
	for _, i := range tooBig { // the server's limits are lower than the ones read at start-up
		deadLetters = append(deadLetters, p.oversize(refs[i], msgs[i], natsconn.Size(msgs[i]), p.Limit))
	}
	msgs = msgs[:0]
	for _, d := range deadLetters {
		msgs = append(msgs, natsconn.DeadLetterMsg(d, p.DeadLetterLimit))
	}
	if tooBig, err = publishAll(ctx, p.JS, msgs); err == nil && len(tooBig) > 0 {
		err = fmt.Errorf("dead letter to %s: %w", msgs[tooBig[0]].Subject, jetstream.ErrStreamMessageExceedsMaximum)
	}
	return err
}

func rawMsg(r events.RawRecord) (*nats.Msg, error) {
	subject, err := events.RawSubject(r.Tenant, r.Type, r.ID)
	if err != nil {
		return nil, err
	}
	body, err := rawBody(r)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding: %w", r.RecordRef, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	events.Envelope{ID: r.MsgID(), Source: events.Source(r.Tenant, "poller"), Type: events.TypeRawRecord,
		Subject: r.Type + "/" + r.ID, Time: r.ObservedAt}.Apply(msg.Header)
	return msg, nil
}

// oversize is the dead letter of a record too big for ORO_RAW (limit 0: the server refused it).
func (p RawPublisher) oversize(ref events.RecordRef, msg *nats.Msg, size, limit int) events.DeadLetter {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	where := fmt.Sprintf("the record stays in Oro (GET /api/%s/%s); raise max_payload and ORO_RAW's max_msg_size, or drop the "+
		"large values in Oro", ref.Type, ref.ID)
	dl := events.Oversize("poller", &ref, events.StreamOroRaw, msg.Subject, msg.Data, size, limit, where, now())
	dl.MsgID = msg.Header.Get(events.HeaderID)
	return dl
}

// publishAll publishes msgs asynchronously and waits for every acknowledgement. It returns the indexes of the
// messages the server refused as too big, and the first other failure.
func publishAll(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) (tooBig []int, err error) {
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, msg := range msgs {
		f, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(publishStallWait))
		if natsconn.TooBig(err) {
			tooBig = append(tooBig, i)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("publishing to %s: %w", msg.Subject, err)
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if natsconn.TooBig(err) {
				tooBig = append(tooBig, i)
				continue
			}
			return nil, fmt.Errorf("publish to %s not acknowledged: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return tooBig, nil
}

// Cursors stores cursors in the OROSYNC_CURSORS bucket under <tenant>.<type>.
type Cursors struct {
	KV jetstream.KeyValue
	// Revisions, when set, makes every cursor write a compare-and-swap on the revision this process last read or
	// wrote: a write after another instance's fails (coord.ErrConflict) instead of moving the cursor back.
	Revisions *coord.Revisions
}

// Load returns the saved cursor, or the zero cursor for a type never polled.
func (c Cursors) Load(ctx context.Context, tenant, typ string) (domain.Cursor, error) {
	key := tenant + "." + typ
	e, err := c.KV.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if c.Revisions != nil {
			c.Revisions.Seen(key, 0)
		}
		return domain.Cursor{}, nil
	}
	if err != nil {
		return domain.Cursor{}, fmt.Errorf("loading cursor %s: %w", key, err)
	}
	var cur domain.Cursor
	if err := json.Unmarshal(e.Value(), &cur); err != nil {
		return domain.Cursor{}, fmt.Errorf("cursor %s is not valid JSON: %w", key, err)
	}
	if c.Revisions != nil {
		c.Revisions.Seen(key, e.Revision())
	}
	return cur, nil
}

// Save stores the cursor: with Revisions, only over the revision last read or written here (a key never read
// must not exist yet).
func (c Cursors) Save(ctx context.Context, tenant, typ string, cur domain.Cursor) error {
	key := tenant + "." + typ
	b, _ := json.Marshal(struct {
		domain.Cursor
		SavedAt time.Time `json:"savedAt"`
	}{cur, time.Now().UTC()})
	if c.Revisions == nil {
		if _, err := c.KV.Put(ctx, key, b); err != nil {
			return fmt.Errorf("saving cursor %s: %w", key, err)
		}
		return nil
	}
	if err := c.Revisions.Swap(ctx, c.KV, key, b); err != nil {
		return fmt.Errorf("saving cursor %s: %w", key, err)
	}
	return nil
}

// PartsCursors keeps the parts scan's position (app.PartsScanDue), apart from the type's own cursor.
type PartsCursors struct {
	KV        jetstream.KeyValue
	Revisions *coord.Revisions
}

// PartsCursorKey is where a type's parts scan keeps its position.
func PartsCursorKey(tenant, typ string) string { return tenant + "._parts." + typ }

// Load returns the parts scan's cursor (zero when there is none).
func (c PartsCursors) Load(ctx context.Context, tenant, typ string) (domain.Cursor, error) {
	return Cursors(c).Load(ctx, tenant, "_parts."+typ)
}

// Save stores the parts scan's cursor.
func (c PartsCursors) Save(ctx context.Context, tenant, typ string, cur domain.Cursor) error {
	return Cursors(c).Save(ctx, tenant, "_parts."+typ, cur)
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
