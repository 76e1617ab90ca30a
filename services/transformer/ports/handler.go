// Package ports drives the transformer from JetStream through Watermill.
package ports

import (
	"errors"
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

func incoming(msg *message.Message) app.Incoming {
	headers := func() map[string]string {
		h := make(map[string]string, len(msg.Metadata))
		for k, v := range msg.Metadata {
			if k != adapters.SubjectKey && k != adapters.SequenceKey {
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
