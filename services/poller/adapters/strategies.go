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
// copy of the hashes to keep in step. The consumer pushes to this connection's own inbox, so the poller's NATS user
// needs no right to pull from any consumer (contracts.Users).
type PublishedHashes struct {
	JS jetstream.JetStream
}

// lastVersionsHeartbeat is how often the server says the push consumer is alive while it has nothing to deliver.
const lastVersionsHeartbeat = 5 * time.Second

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
	// An ephemeral push consumer (flow controlled, so a large stream cannot overrun the connection): the server
	// removes it once this read stops listening.
	cons, err := st.CreatePushConsumer(ctx, jetstream.ConsumerConfig{DeliverSubject: p.JS.Conn().NewInbox(),
		FilterSubject: filter, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy, AckPolicy: jetstream.AckNonePolicy,
		FlowControl: true, IdleHeartbeat: lastVersionsHeartbeat, InactiveThreshold: time.Minute, MemoryStorage: true, Replicas: 1})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filter, err)
	}
	msgs, errs := make(chan jetstream.Msg, 256), make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-done:
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filter, err)
	}
	defer cc.Stop()
	for want := uint64(1); ; want++ {
		var msg jetstream.Msg
		select {
		case msg = <-msgs:
		case err := <-errs:
			return nil, fmt.Errorf("reading %s: %w", filter, err)
		case <-ctx.Done():
			return nil, fmt.Errorf("reading %s: %w", filter, ctx.Err())
		}
		meta, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", filter, err)
		}
		if meta.Sequence.Consumer != want {
			return nil, fmt.Errorf("reading %s: delivery %d arrived where %d was due (a message was lost)", filter, meta.Sequence.Consumer, want)
		}
		out[msg.Subject()[strings.LastIndexByte(msg.Subject(), '.')+1:]] = sourceVersion(msg.Data())
		if meta.NumPending == 0 {
			return out, nil
		}
	}
}

// sourceVersion is the source version a raw message carries.
func sourceVersion(data []byte) events.SourceVersion {
	var r struct {
		PayloadHash string     `json:"payloadHash"`
		UpdatedAt   *time.Time `json:"updatedAt"`
	}
	_ = json.Unmarshal(data, &r)
	v := events.SourceVersion{PayloadHash: r.PayloadHash}
	if r.UpdatedAt != nil {
		v.UpdatedAt = r.UpdatedAt.UTC()
	}
	return v
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
