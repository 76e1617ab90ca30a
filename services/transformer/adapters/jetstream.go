// Package adapters connects the transformer to JetStream through watermill-nats.
package adapters

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SubjectKey is the metadata key that carries a message's NATS subject through Watermill, both ways;
// SequenceKey carries the stream sequence of a consumed message.
const (
	SubjectKey  = "_orosync_subject"
	SequenceKey = "_orosync_sequence"
)

// NewSubscriber binds to an existing durable consumer (created from contracts/ at start-up); the Watermill topic
// is the stream name.
func NewSubscriber(url, consumer string, pull int, opts []nats.Option, logger watermill.LoggerAdapter) (*wmjs.Subscriber, error) {
	// The subscriber drains its connection on Close, so it gets one of its own.
	nc, err := nats.Connect(url, append(opts, nats.Name("orosync-"+consumer))...)
	if err != nil {
		return nil, fmt.Errorf("connecting subscriber %s to %s: %w", consumer, url, err)
	}
	s, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{
		Conn:   nc,
		Logger: logger,
		ResourceInitializer: wmjs.ExistingConsumer(func(string, string) jetstream.ConsumerConfig {
			return jetstream.ConsumerConfig{Name: consumer}
		}, ""),
		Unmarshaler: unmarshaler{},
		// Each subscription buffers at most pull messages, so workers × pull stays within the consumer's
		// max_ack_pending (contracts/consumers) and no subscription holds messages it cannot get acknowledged.
		ConsumeOptions: []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(pull)},
		// Acknowledge without waiting for the server's confirmation: a lost ack redelivers, and a redelivered
		// version maps to the same change (same Nats-Msg-Id), so at-least-once stays exact downstream.
		AckAsync: true,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("subscriber %s: %w", consumer, err)
	}
	return s, nil
}

// unmarshaler is watermill-nats' default plus the subject; it never fails (watermill-nats would dereference the
// nil message of a failed unmarshal), joining repeated headers instead.
type unmarshaler struct{}

func (unmarshaler) Unmarshal(msg jetstream.Msg) (*message.Message, error) {
	hdr := msg.Headers()
	md := make(message.Metadata, len(hdr)+2) // sized for the headers, subject and sequence: no regrowth
	for k, v := range hdr {
		switch {
		case k == wmnats.WatermillUUIDHdr || k == nats.MsgIdHdr:
		case len(v) == 1:
			md[k] = v[0]
		default:
			md[k] = strings.Join(v, ",")
		}
	}
	md[SubjectKey] = msg.Subject()
	if meta, err := msg.Metadata(); err == nil {
		md[SequenceKey] = strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	id := hdr.Get(wmnats.WatermillUUIDHdr)
	if id == "" {
		id = hdr.Get(nats.MsgIdHdr)
	}
	wm := message.NewMessage(id, msg.Data())
	wm.Metadata = md
	return wm, nil
}

// SubjectPublisher publishes each message on the subject in its SubjectKey metadata, with Nats-Msg-Id set to the
// message UUID (our deterministic ce-id), waiting for JetStream's acknowledgement.
type SubjectPublisher struct{ inner *wmnats.Publisher }

// NewPublisher publishes through watermill-nats' JetStream publisher on nc.
func NewPublisher(nc *nats.Conn, logger watermill.LoggerAdapter) (*SubjectPublisher, error) {
	p, err := wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{TrackMsgId: true},
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	return &SubjectPublisher{inner: p}, nil
}

// Publish ignores topic in favour of each message's subject.
func (p *SubjectPublisher) Publish(_ string, msgs ...*message.Message) error {
	for _, m := range msgs {
		subject := m.Metadata.Get(SubjectKey)
		if subject == "" {
			return fmt.Errorf("message %s has no subject", m.UUID)
		}
		delete(m.Metadata, SubjectKey)
		err := p.inner.Publish(subject, m)
		m.Metadata.Set(SubjectKey, subject)
		if err != nil {
			return fmt.Errorf("publishing %s to %s: %w", m.UUID, subject, err)
		}
	}
	return nil
}

// Close does not close the shared connection.
func (p *SubjectPublisher) Close() error { return nil }
