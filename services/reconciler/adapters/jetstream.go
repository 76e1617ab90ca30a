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
	for start := 0; start < len(tombs); start += p.window {
		chunk := tombs[start:min(start+p.window, len(tombs))]
		futures := make([]jetstream.PubAckFuture, 0, len(chunk))
		for _, t := range chunk {
			msg, err := tombstoneMsg(t)
			if err != nil {
				return published, duplicates, err
			}
			fut, err := p.js.PublishMsgAsync(msg, jetstream.WithExpectStream(events.StreamOroRaw))
			if err != nil {
				return published, duplicates, fmt.Errorf("publishing tombstone of %s: %w", t.RecordRef, err)
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
				return published, duplicates, fmt.Errorf("tombstone of %s not acknowledged: %w", chunk[i].RecordRef, err)
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
