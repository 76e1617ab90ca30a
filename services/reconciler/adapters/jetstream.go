package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
)

// Stage names the reconciler in ce-source and in dead letters.
const Stage = "reconciler"

// DefaultPublishWindow bounds the tombstones in flight, below nats.go's default of 4000 pending async publishes.
const DefaultPublishWindow = 1000

// Tombstones publishes tombstones to ORO_RAW on each record's raw subject, with CloudEvents headers and
// Nats-Msg-Id = ce-id = the tombstone's deterministic id, so a deletion noticed twice is stored once.
type Tombstones struct {
	js     jetstream.JetStream
	window int
	// Limit is the largest message ORO_RAW takes, DeadLetterLimit OROSYNC_DLQ's (natsconn.Limit); 0 leaves the
	// checks to the server.
	Limit, DeadLetterLimit int
	// Tracer, when set, starts a trace per tombstone and record published, carried in its headers.
	Tracer *tracing.Tracer
}

// SpanPublish names the reconciler's span of a tombstone or record it publishes to ORO_RAW: the first span of
// that version's trace.
const SpanPublish = "orosync.reconciler publish"

// NewTombstones needs a JetStream context; window 0 means DefaultPublishWindow.
func NewTombstones(js jetstream.JetStream, window int) (*Tombstones, error) {
	if js == nil {
		return nil, errors.New("tombstones: a JetStream context is required")
	}
	if window <= 0 {
		window = DefaultPublishWindow
	}
	return &Tombstones{js: js, window: window}, nil
}

// PublishTombstones publishes asynchronously, a window at a time, and waits for every acknowledgement.
func (p *Tombstones) PublishTombstones(ctx context.Context, tombs []events.Tombstone) (published, duplicates int, err error) {
	msgs := make([]*nats.Msg, 0, min(len(tombs), p.window))
	for start := 0; start < len(tombs); start += p.window {
		msgs = msgs[:0]
		spans := p.Tracer.Publishing(ctx, min(p.window, len(tombs)-start))
		for _, t := range tombs[start:min(start+p.window, len(tombs))] {
			msg, err := tombstoneMsg(t)
			if err != nil {
				spans.End()
				return published, duplicates, err
			}
			spans.Start(SpanPublish, msg, tracing.Record(t.Tenant, t.Type, t.ID)...)
			msgs = append(msgs, msg)
		}
		n, d, tooBig, err := p.send(ctx, msgs, events.StreamOroRaw)
		if err != nil {
			spans.Fail(err)
		}
		spans.End()
		published, duplicates = published+n, duplicates+d
		if err == nil && len(tooBig) > 0 { // a tombstone is a few hundred bytes: never expected
			err = fmt.Errorf("tombstone to %s: %w", msgs[tooBig[0]].Subject, jetstream.ErrStreamMessageExceedsMaximum)
		}
		if err != nil {
			return published, duplicates, err
		}
	}
	return published, duplicates, nil
}

// PublishRaw publishes records Oro lists but Mercato lacks to ORO_RAW exactly as the poller does (subject,
// CloudEvents headers, Nats-Msg-Id = the version's id), and dead letters for those that cannot be records: a record
// ORO_RAW cannot take (bigger than its limit) is one of those, by id, size and limit. With a repair (the pass),
// the versions are ones a change of which was lost on the way: they carry events.HeaderRepair and an id of their
// own (events.RepairID), which the duplicate window has not seen.
func (p *Tombstones) PublishRaw(ctx context.Context, recs []events.RawRecord, dead []events.DeadLetter, repair string) (int, error) {
	msgs := make([]*nats.Msg, 0, len(recs))
	spans := p.Tracer.Publishing(ctx, len(recs))
	defer spans.End()
	for _, r := range recs {
		subject, err := events.RawSubject(r.Tenant, r.Type, r.ID)
		if err != nil {
			return 0, fmt.Errorf("record %s: %w", r.RecordRef, err)
		}
		body, err := json.Marshal(r)
		if err != nil {
			return 0, fmt.Errorf("record %s: %w", r.RecordRef, err)
		}
		msg := nats.NewMsg(subject)
		msg.Data = body
		id := r.MsgID()
		if repair != "" {
			id = events.RepairID(id, repair)
		}
		events.Envelope{ID: id, Source: events.Source(r.Tenant, Stage), Type: events.TypeRawRecord,
			Subject: r.Type + "/" + r.ID, Time: r.ObservedAt}.Apply(msg.Header)
		if repair != "" {
			msg.Header.Set(events.HeaderRepair, repair)
		}
		if size := natsconn.Size(msg); p.Limit > 0 && size > p.Limit {
			dead = append(dead, oversize(r, msg, size, p.Limit))
			continue
		}
		spans.Start(SpanPublish, msg, tracing.Record(r.Tenant, r.Type, r.ID)...)
		msgs = append(msgs, msg)
	}
	n, _, tooBig, err := p.send(ctx, msgs, events.StreamOroRaw)
	if err != nil {
		spans.Fail(err)
		return n, err
	}
	for _, i := range tooBig {
		var r events.RawRecord
		_ = json.Unmarshal(msgs[i].Data, &r)
		dead = append(dead, oversize(r, msgs[i], natsconn.Size(msgs[i]), p.Limit))
	}
	msgs = msgs[:0]
	for _, d := range dead {
		msgs = append(msgs, natsconn.DeadLetterMsg(d, p.DeadLetterLimit))
	}
	_, _, tooBig, err = p.send(ctx, msgs, events.StreamDeadLetter)
	if err == nil && len(tooBig) > 0 {
		err = fmt.Errorf("dead letter to %s: %w", msgs[tooBig[0]].Subject, jetstream.ErrStreamMessageExceedsMaximum)
	}
	return n, err
}

// oversize is the dead letter of a record too big for ORO_RAW.
func oversize(r events.RawRecord, msg *nats.Msg, size, limit int) events.DeadLetter {
	where := fmt.Sprintf("the record stays in Oro (GET /api/%s/%s); raise max_payload and ORO_RAW's max_msg_size, or drop the "+
		"large values in Oro", r.Type, r.ID)
	dl := events.Oversize(Stage, &r.RecordRef, events.StreamOroRaw, msg.Subject, msg.Data, size, limit, where, r.ObservedAt)
	dl.MsgID = msg.Header.Get(events.HeaderID)
	return dl
}

// send publishes msgs asynchronously, a window at a time, and waits for every acknowledgement. tooBig are the
// indexes of the messages the server refused as too big to store.
func (p *Tombstones) send(ctx context.Context, msgs []*nats.Msg, stream string) (published, duplicates int, tooBig []int, err error) {
	for start := 0; start < len(msgs); start += p.window {
		chunk := msgs[start:min(start+p.window, len(msgs))]
		futures := make([]jetstream.PubAckFuture, len(chunk))
		for i, msg := range chunk {
			fut, err := p.js.PublishMsgAsync(msg, jetstream.WithExpectStream(stream))
			if natsconn.TooBig(err) {
				tooBig = append(tooBig, start+i)
				continue
			}
			if err != nil {
				return published, duplicates, tooBig, fmt.Errorf("publishing to %s: %w", msg.Subject, err)
			}
			futures[i] = fut
		}
		for i, fut := range futures {
			if fut == nil {
				continue
			}
			select {
			case ack := <-fut.Ok():
				published++
				if ack.Duplicate {
					duplicates++
				}
			case err := <-fut.Err():
				if natsconn.TooBig(err) {
					tooBig = append(tooBig, start+i)
					continue
				}
				return published, duplicates, tooBig, fmt.Errorf("%s not acknowledged: %w", chunk[i].Subject, err)
			case <-ctx.Done():
				return published, duplicates, tooBig, ctx.Err()
			}
		}
	}
	return published, duplicates, tooBig, nil
}

func tombstoneMsg(t events.Tombstone) (*nats.Msg, error) {
	subject, err := events.RawSubject(t.Tenant, t.Type, t.ID)
	if err != nil {
		return nil, fmt.Errorf("tombstone of %s: %w", t.RecordRef, err)
	}
	body, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("tombstone of %s: %w", t.RecordRef, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	events.Envelope{ID: t.MsgID(), Source: events.Source(t.Tenant, Stage), Type: events.TypeTombstone,
		Subject: t.Type + "/" + t.ID, Time: t.DeletedAt}.Apply(msg.Header)
	return msg, nil
}
