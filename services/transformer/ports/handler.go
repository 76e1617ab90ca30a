// Package ports drives the transformer from JetStream through Watermill.
package ports

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/adapters"
	"github.com/orosync/orosync/services/transformer/app"
)

// HandlerFunc adapts the Transform use case to a Watermill handler: one raw message in, the messages to publish out.
func HandlerFunc(t app.Transform) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		outs, err := t.Handle(incoming(msg))
		if err != nil {
			return nil, err
		}
		return toMessages(outs), nil
	}
}

// DeadLetterOnError is the last middleware: whatever still fails after retries is parked in the dead-letter stream
// with the reason, and the stream moves on; but outputs that were not stored (ErrNotStored) are the broker's
// failure, not the message's, and the error goes to the router, which has JetStream redeliver the input.
func DeadLetterOnError(stage string, now func() time.Time) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil || errors.Is(err, ErrNotStored) {
				return out, err
			}
			return toMessages([]app.Outgoing{app.DeadLetter(stage, incoming(msg), nil, "", "handler", err, now())}), nil
		}
	}
}

// OversizeDeadLetter makes the dead letter of a change too big for MERCATO_CHANGES (Store.Oversize): the record,
// the change's size, the limit and its largest values, without the change; the reason says where the raw version
// is, which a fixed mapping re-transforms.
func OversizeDeadLetter(stage string, now func() time.Time) func(in, out *message.Message, big *adapters.TooBigError) *message.Message {
	return func(in, out *message.Message, big *adapters.TooBigError) *message.Message {
		inc := incoming(in)
		var ref *events.RecordRef
		if r, err := events.ParseRawSubject(inc.Subject); err == nil {
			ref = &r
		}
		where := fmt.Sprintf("the raw version is %s #%d (nats stream get %s %d): the mapping makes these values; "+
			"shorten or leave them out there, then replay", events.StreamOroRaw, inc.Sequence, events.StreamOroRaw, inc.Sequence)
		dl := events.Oversize(stage, ref, events.StreamMercatoChanges, big.Subject, out.Payload, big.Size, big.Limit, where, now())
		dl.MsgID = out.UUID
		subject, env, body := dl.Message()
		return toMessages([]app.Outgoing{{Subject: subject, Envelope: env, Body: body}})[0]
	}
}

func incoming(msg *message.Message) app.Incoming {
	headers := func() map[string]string {
		h := make(map[string]string, len(msg.Metadata))
		for k, v := range msg.Metadata {
			if k != adapters.SubjectKey && k != adapters.SequenceKey && k != adapters.ReplyKey {
				h[k] = v
			}
		}
		return h
	}
	seq, _ := strconv.ParseUint(msg.Metadata.Get(adapters.SequenceKey), 10, 64)
	return app.Incoming{Subject: msg.Metadata.Get(adapters.SubjectKey), Header: msg.Metadata.Get, AllHeaders: headers,
		Sequence: seq, Body: msg.Payload}
}

func toMessages(outs []app.Outgoing) []*message.Message {
	msgs := make([]*message.Message, 0, len(outs))
	for _, o := range outs {
		m := message.NewMessage(o.Envelope.ID, o.Body)
		m.Metadata = make(message.Metadata, 12) // the envelope's headers, extensions and subject: no regrowth
		o.Envelope.Apply(m.Metadata)
		for k, v := range o.Extensions {
			m.Metadata.Set(k, v)
		}
		m.Metadata.Set(adapters.SubjectKey, o.Subject)
		msgs = append(msgs, m)
	}
	return msgs
}

// Observe is a middleware that passes the CloudEvents type of every message h returns to seen (metrics). Around
// the handler itself it sees the changes and the dead letters of mapping; outermost, the dead letters of
// DeadLetterOnError (OnWorkers publishes the others and returns none).
func Observe(seen func(eventType string)) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			for _, m := range out {
				seen(m.Metadata.Get(events.HeaderType))
			}
			return out, err
		}
	}
}
