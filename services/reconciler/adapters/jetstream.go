package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
}

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
		for _, t := range tombs[start:min(start+p.window, len(tombs))] {
			msg, err := tombstoneMsg(t)
			if err != nil {
				return published, duplicates, err
			}
			msgs = append(msgs, msg)
		}
		n, d, err := p.send(ctx, msgs, events.StreamOroRaw)
		published, duplicates = published+n, duplicates+d
		if err != nil {
			return published, duplicates, err
		}
	}
	return published, duplicates, nil
}

// PublishRaw publishes records Oro lists but Mercato lacks to ORO_RAW exactly as the poller does (subject,
// CloudEvents headers, Nats-Msg-Id = the version's id), and dead letters for those that cannot be records.
func (p *Tombstones) PublishRaw(ctx context.Context, recs []events.RawRecord, dead []events.DeadLetter) (int, error) {
	msgs := make([]*nats.Msg, 0, len(recs))
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
		events.Envelope{ID: r.MsgID(), Source: events.Source(r.Tenant, Stage), Type: events.TypeRawRecord,
			Subject: r.Type + "/" + r.ID, Time: r.ObservedAt}.Apply(msg.Header)
		msgs = append(msgs, msg)
	}
	n, _, err := p.send(ctx, msgs, events.StreamOroRaw)
	if err != nil {
		return n, err
	}
	msgs = msgs[:0]
	for _, d := range dead {
		subject, env, body := d.Message()
		msg := nats.NewMsg(subject)
		msg.Data = body
		env.Apply(msg.Header)
		msgs = append(msgs, msg)
	}
	_, _, err = p.send(ctx, msgs, events.StreamDeadLetter)
	return n, err
}

// send publishes msgs asynchronously, a window at a time, and waits for every acknowledgement.
func (p *Tombstones) send(ctx context.Context, msgs []*nats.Msg, stream string) (published, duplicates int, err error) {
	for start := 0; start < len(msgs); start += p.window {
		chunk := msgs[start:min(start+p.window, len(msgs))]
		futures := make([]jetstream.PubAckFuture, 0, len(chunk))
		for _, msg := range chunk {
			fut, err := p.js.PublishMsgAsync(msg, jetstream.WithExpectStream(stream))
			if err != nil {
				return published, duplicates, fmt.Errorf("publishing to %s: %w", msg.Subject, err)
			}
			futures = append(futures, fut)
		}
		for i, fut := range futures {
			select {
			case ack := <-fut.Ok():
				published++
				if ack.Duplicate {
					duplicates++
				}
			case err := <-fut.Err():
				return published, duplicates, fmt.Errorf("%s not acknowledged: %w", chunk[i].Subject, err)
			case <-ctx.Done():
				return published, duplicates, ctx.Err()
			}
		}
	}
	return published, duplicates, nil
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
