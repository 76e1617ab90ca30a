package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/poller/domain"
)

// PublishedHashes reads what was last published per record from ORO_RAW itself: the stream keeps every version,
// and a consumer delivering the last message per subject yields exactly one (the latest) per record. No second
// copy of the hashes to keep in step.
type PublishedHashes struct {
	JS jetstream.JetStream
}

// LastVersions maps record id to the source version of its latest message (a tombstone gives the zero version).
func (p PublishedHashes) LastVersions(ctx context.Context, tenant, typ string) (map[string]events.SourceVersion, error) {
	filter := events.RawFilter(tenant, typ)
	st, err := p.JS.Stream(ctx, events.StreamOroRaw)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", events.StreamOroRaw, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("stream %s subjects %s: %w", events.StreamOroRaw, filter, err)
	}
	out := make(map[string]events.SourceVersion, len(info.State.Subjects))
	if len(info.State.Subjects) == 0 {
		return out, nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter},
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filter, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filter, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", filter, err)
		}
		var r struct {
			PayloadHash string     `json:"payloadHash"`
			UpdatedAt   *time.Time `json:"updatedAt"`
		}
		_ = json.Unmarshal(msg.Data(), &r)
		id := msg.Subject()[strings.LastIndexByte(msg.Subject(), '.')+1:]
		v := events.SourceVersion{PayloadHash: r.PayloadHash}
		if r.UpdatedAt != nil {
			v.UpdatedAt = r.UpdatedAt.UTC()
		}
		out[id] = v
		meta, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", filter, err)
		}
		if meta.NumPending == 0 {
			return out, nil
		}
	}
}

// CapabilitiesKey is where a type's probed capabilities and chosen strategy are cached.
func CapabilitiesKey(tenant, typ string) string { return tenant + "._caps." + typ }

// Probed is the cached probe of one type and the strategy chosen from it.
type Probed struct {
	Capabilities domain.Capabilities `json:"capabilities"`
	Choice       domain.Choice       `json:"choice"`
}

// LoadCapabilities returns the cached probe, ok false when there is none.
func (c Cursors) LoadCapabilities(ctx context.Context, tenant, typ string) (Probed, bool, error) {
	e, err := c.KV.Get(ctx, CapabilitiesKey(tenant, typ))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Probed{}, false, nil
	}
	if err != nil {
		return Probed{}, false, fmt.Errorf("loading capabilities %s: %w", CapabilitiesKey(tenant, typ), err)
	}
	var p Probed
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return Probed{}, false, nil // unreadable: probe again
	}
	return p, true, nil
}

// SaveCapabilities caches a probe.
func (c Cursors) SaveCapabilities(ctx context.Context, tenant string, p Probed) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if _, err := c.KV.Put(ctx, CapabilitiesKey(tenant, p.Capabilities.Type), b); err != nil {
		return fmt.Errorf("saving capabilities %s: %w", CapabilitiesKey(tenant, p.Capabilities.Type), err)
	}
	return nil
}

// ForgetCapabilities drops a cached probe (a poll got a 400: the instance changed), so the next round probes.
func (c Cursors) ForgetCapabilities(ctx context.Context, tenant, typ string) error {
	if err := c.KV.Delete(ctx, CapabilitiesKey(tenant, typ)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("forgetting capabilities %s: %w", CapabilitiesKey(tenant, typ), err)
	}
	return nil
}

// SaveJSON stores v under key (status information next to the cursors).
func (c Cursors) SaveJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := c.KV.Put(ctx, key, b); err != nil {
		return fmt.Errorf("saving %s: %w", key, err)
	}
	return nil
}
