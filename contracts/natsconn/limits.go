package natsconn

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
)

// Limit is the largest message (headers and body) stream takes from nc: the smaller of the server's max_payload and
// the stream's max_msg_size.
func Limit(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, stream string) (int, error) {
	var s jetstream.Stream
	err := Retry(ctx, "stream "+stream, nil, func(ctx context.Context) (err error) {
		s, err = js.Stream(ctx, stream)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	limit := int(nc.MaxPayload())
	if m := int(s.CachedInfo().Config.MaxMsgSize); m > 0 && (limit <= 0 || m < limit) {
		limit = m
	}
	return limit, nil
}

// Size is the size of msg as the server holds it against those limits: encoded headers and body.
func Size(msg *nats.Msg) int {
	return msg.Size() - len(msg.Subject) - len(msg.Reply)
}

// TooBig says whether a publish failed because the message is bigger than the server or the stream takes: it will
// never be stored, so it is dead-lettered, not retried.
func TooBig(err error) bool {
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum)
}

// DeadLetterMsg is the message of dead letter d; when it would be bigger than limit (OROSYNC_DLQ's, 0: unchecked)
// it goes without the original payload, and says so.
func DeadLetterMsg(d events.DeadLetter, limit int) *nats.Msg {
	msg := deadLetterMsg(d)
	kept, ok := d.OriginalPayload()
	if limit <= 0 || Size(msg) <= limit || !ok {
		return msg
	}
	d.Payload, d.PayloadText, d.PayloadBase64 = nil, "", nil
	d.Reason += fmt.Sprintf(" (the original payload of %d bytes is not kept: the dead letter would exceed the limit of %d bytes)", len(kept), limit)
	return deadLetterMsg(d)
}

func deadLetterMsg(d events.DeadLetter) *nats.Msg {
	subject, env, body := d.Message()
	msg := nats.NewMsg(subject)
	msg.Data = body
	env.Apply(msg.Header)
	return msg
}
