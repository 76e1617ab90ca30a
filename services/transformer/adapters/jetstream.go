// Package adapters connects the transformer to JetStream through watermill-nats.
package adapters

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events"
)

// SubjectKey is the metadata key that carries a message's NATS subject through Watermill, both ways;
// SequenceKey carries the stream sequence of a consumed message, ReplyKey its acknowledgement subject (where a
// handler that holds it says it is still in progress).
const (
	SubjectKey  = "_orosync_subject"
	SequenceKey = "_orosync_sequence"
	ReplyKey    = "_orosync_reply"
)

// HoldTimeout is how long Watermill waits for a handler to acknowledge a message. A handler that waits for the
// broker to store its outputs holds the message (InProgress) however long that takes; the server's ack_wait, not
// this, then decides a redelivery.
const HoldTimeout = 24 * time.Hour

// NewSubscriber binds to an existing durable consumer (created from contracts/ at start-up) on nc, which it drains
// on Close (so it needs a connection of its own); the Watermill topic is the stream name.
func NewSubscriber(nc *nats.Conn, consumer string, pull int, logger watermill.LoggerAdapter) (*wmjs.Subscriber, error) {
	s, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{
		Conn:                nc,
		Logger:              logger,
		ResourceInitializer: existingConsumer(consumer, logger),
		Unmarshaler:         unmarshaler{},
		AckWaitTimeout:      HoldTimeout,
		// Each subscription buffers at most pull messages, so workers × pull stays within the consumer's
		// max_ack_pending (contracts/consumers) and no subscription holds messages it cannot get acknowledged.
		ConsumeOptions: []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(pull)},
		// Acknowledge without waiting for the server's confirmation: a lost ack redelivers, and a redelivered
		// version maps to the same change (same Nats-Msg-Id), so at-least-once stays exact downstream.
		AckAsync: true,
	})
	if err != nil {
		return nil, fmt.Errorf("subscriber %s: %w", consumer, err)
	}
	return s, nil
}

// existingConsumer binds to the durable consumer of the stream the topic names, waiting out a stream without a
// leader for a moment (natsconn.Retry) instead of failing the subscription and with it the transformer.
func existingConsumer(consumer string, logger watermill.LoggerAdapter) wmjs.ResourceInitializer {
	return func(ctx context.Context, js jetstream.JetStream, topic string) (jetstream.Consumer, func(context.Context, watermill.LoggerAdapter), error) {
		var c jetstream.Consumer
		err := natsconn.Retry(ctx, "consumer "+topic+"/"+consumer, nil, func(ctx context.Context) (err error) {
			c, err = js.Consumer(ctx, topic, consumer)
			return err
		})
		if err != nil {
			logger.Error("binding to the durable consumer", err, watermill.LogFields{"stream": topic, "consumer": consumer})
			return nil, nil, fmt.Errorf("consumer %s/%s: %w", topic, consumer, err)
		}
		return c, nil, nil
	}
}

// Holder says a consumed message is still in progress (JetStream's +WPI on its ReplyKey subject), so its ack
// deadline passes without a redelivery.
func Holder(nc *nats.Conn) func(*message.Message) {
	return func(m *message.Message) {
		if reply := m.Metadata.Get(ReplyKey); reply != "" {
			_ = nc.Publish(reply, []byte("+WPI"))
		}
	}
}

// unmarshaler is watermill-nats' default plus the subject; it never fails (watermill-nats would dereference the
// nil message of a failed unmarshal), joining repeated headers instead.
type unmarshaler struct{}

func (unmarshaler) Unmarshal(msg jetstream.Msg) (*message.Message, error) {
	hdr := msg.Headers()
	md := make(message.Metadata, len(hdr)+3) // sized for the headers, subject, sequence and reply: no regrowth
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
	md[ReplyKey] = msg.Reply()
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

// Publisher publishes each message on the subject in its SubjectKey metadata in watermill-nats' JetStream wire
// format (its NATSMarshaler: the metadata as headers, the UUID as _watermill_message_uuid) with Nats-Msg-Id set to
// the message UUID (our deterministic ce-id), as watermill-nats' publisher with TrackMsgId does, but through nats.go's
// asynchronous JetStream publish: PublishAsync sends without waiting for JetStream, and the wait it returns
// blocks until every message is stored.
//
// Waiting for each acknowledgement before the next publish (watermill-nats' publisher) makes every publish its own
// write to the socket and wakes the server for each: with the wait apart, messages published while others wait
// share writes.
type Publisher struct {
	js jetstream.JetStream
	// limits maps a subject prefix to the largest message its stream takes.
	limits map[string]int
}

// TooBigError is a message bigger than its stream or the server takes: it is never stored, so it is dead-lettered,
// not retried. natsconn.TooBig is true of it.
type TooBigError struct {
	Subject     string
	Size, Limit int // Limit 0: the server refused it, at a limit lower than the one read at start-up
}

func (e *TooBigError) Error() string {
	return fmt.Sprintf("%s: %d bytes exceed the limit of %d bytes", e.Subject, e.Size, e.Limit)
}

// Unwrap makes natsconn.TooBig true of it.
func (e *TooBigError) Unwrap() error { return jetstream.ErrStreamMessageExceedsMaximum }

// PublishTimeout is how long a publish waits for JetStream's acknowledgement before it fails (nats.go's default for
// a synchronous publish).
const PublishTimeout = 5 * time.Second

// NewPublisher publishes on nc; at most maxPending publishes wait for their acknowledgement at a time (a publish
// beyond it waits for room). It reads the limits of MERCATO_CHANGES and OROSYNC_DLQ, where it publishes.
func NewPublisher(ctx context.Context, nc *nats.Conn, maxPending int) (*Publisher, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(maxPending),
		jetstream.WithPublishAsyncTimeout(PublishTimeout))
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	limits := map[string]int{}
	for prefix, stream := range map[string]string{"mercato.changes.": events.StreamMercatoChanges, "orosync.dlq.": events.StreamDeadLetter} {
		if limits[prefix], err = natsconn.Limit(ctx, nc, js, stream); err != nil {
			return nil, fmt.Errorf("publisher: %w", err)
		}
	}
	return &Publisher{js: js, limits: limits}, nil
}

func (p *Publisher) limit(subject string) int {
	for prefix, n := range p.limits {
		if strings.HasPrefix(subject, prefix) {
			return n
		}
	}
	return 0
}

// PublishAsync sends msgs without waiting for JetStream. stored waits until every one is stored (or found to be a
// duplicate of a stored one, by its Nats-Msg-Id) and returns the first failure; call it once. A message bigger than
// its stream takes fails with a *TooBigError, before anything is sent, or when the server refuses it.
func (p *Publisher) PublishAsync(msgs ...*message.Message) (stored func() error, err error) {
	out := make([]*nats.Msg, len(msgs))
	for i, m := range msgs {
		subject := m.Metadata.Get(SubjectKey)
		if subject == "" {
			return nil, fmt.Errorf("message %s has no subject", m.UUID)
		}
		out[i] = natsMsg(subject, m)
		if size, limit := natsconn.Size(out[i]), p.limit(subject); limit > 0 && size > limit {
			return nil, &TooBigError{Subject: subject, Size: size, Limit: limit}
		}
	}
	acks := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, msg := range out {
		ack, err := p.js.PublishMsgAsync(msg)
		if natsconn.TooBig(err) {
			return nil, &TooBigError{Subject: msg.Subject, Size: natsconn.Size(msg)}
		}
		if err != nil {
			return nil, fmt.Errorf("publishing %s to %s: %w", msg.Header.Get(nats.MsgIdHdr), msg.Subject, err)
		}
		acks = append(acks, ack)
	}
	return func() error {
		for _, a := range acks {
			select {
			case <-a.Ok():
			case err := <-a.Err():
				if natsconn.TooBig(err) {
					return &TooBigError{Subject: a.Msg().Subject, Size: natsconn.Size(a.Msg())}
				}
				return fmt.Errorf("publishing %s to %s: %w", a.Msg().Header.Get(nats.MsgIdHdr), a.Msg().Subject, err)
			}
		}
		return nil
	}, nil
}

// natsMsg is what watermill-nats' NATSMarshaler makes of m (its UUID and metadata as headers), without the subject
// metadata, in a header map sized once (the marshaler's grew twice per message, and the subject had to be taken
// out of the metadata and put back).
func natsMsg(subject string, m *message.Message) *nats.Msg {
	h := make(nats.Header, len(m.Metadata)+2)
	h[wmnats.WatermillUUIDHdr] = []string{m.UUID}
	h[nats.MsgIdHdr] = []string{m.UUID}
	for k, v := range m.Metadata {
		if k != SubjectKey {
			h[k] = []string{v}
		}
	}
	return &nats.Msg{Subject: subject, Data: m.Payload, Header: h}
}

// Publish sends msgs and waits until they are stored (topic is ignored in favour of each message's subject).
func (p *Publisher) Publish(_ string, msgs ...*message.Message) error {
	stored, err := p.PublishAsync(msgs...)
	if err != nil {
		return err
	}
	return stored()
}

// Close does not close the shared connection.
func (p *Publisher) Close() error { return nil }
