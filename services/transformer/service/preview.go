package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/app"
)

// PreviewCounts is what a replay would do with one Oro type's raw messages (app.PreviewCounts).
type PreviewCounts = app.PreviewCounts

// PreviewReplay reads the raw messages of ORO_RAW that filter names, as they are when it starts, on an ordered
// consumer of its own (no durable consumer is created or moved), maps each with m and with base as a replay would,
// and counts per Oro type what the replay would publish; it publishes nothing.
func PreviewReplay(ctx context.Context, js jetstream.JetStream, filter string, m, base *Mapping) (map[string]*PreviewCounts, error) {
	cons, err := js.OrderedConsumer(ctx, events.StreamOroRaw, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", events.StreamOroRaw, err)
	}
	p := app.PreviewReplay{Transform: app.Transform{Now: time.Now, Mapping: m}.WithBase(base),
		Counts: map[string]*PreviewCounts{}}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", events.StreamOroRaw, err)
	}
	for left := info.NumPending; left > 0; {
		batch, err := cons.Fetch(int(min(left, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", events.StreamOroRaw, err)
		}
		got := uint64(0)
		for msg := range batch.Messages() {
			got++
			in := app.Incoming{Subject: msg.Subject(), Header: msg.Headers().Get, Body: msg.Data()}
			if err := p.Add(in); err != nil {
				return nil, fmt.Errorf("%s: %w", msg.Subject(), err)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("reading %s: %w", events.StreamOroRaw, err)
		}
		if got == 0 { // removed since (limits, purge): nothing more to read
			break
		}
		left -= min(got, left)
	}
	return p.Counts, nil
}
