package dlq

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events"
)

// ErrNotRedrivable is the error of a dead letter that cannot be redriven: it keeps no payload (a message too big
// to store) or no subject, or it is not a dead letter at all.
var ErrNotRedrivable = errors.New("not redrivable")

// Redriven is where a redrive published the message.
type Redriven struct {
	Seq     uint64 // the dead letter's
	Subject string
	Stream  string // the stream that stored it, and at which sequence
	At      uint64
}

// Message is the original message of entry e: its subject, its exact body and its headers less Nats-Msg-Id
// (republished with it within the stream's duplicate window, the message would be dropped as a duplicate) and
// the place headers of a message read back from a stream (natsconn.PlaceHeader).
func Message(e Entry) (*nats.Msg, error) {
	if e.Err != "" {
		return nil, fmt.Errorf("%s: %w", e.Err, ErrNotRedrivable)
	}
	body, ok := e.Letter.OriginalPayload()
	if !ok {
		return nil, fmt.Errorf("%s #%d keeps no payload (%s): %w; %s", events.StreamDeadLetter, e.Seq, ruleOr(e.Letter.Rule),
			ErrNotRedrivable, e.Letter.Reason)
	}
	if e.Letter.Subject == "" {
		return nil, fmt.Errorf("%s #%d names no original subject: %w", events.StreamDeadLetter, e.Seq, ErrNotRedrivable)
	}
	msg := nats.NewMsg(e.Letter.Subject)
	msg.Data = body
	for k, v := range e.Letter.Headers {
		if k != nats.MsgIdHdr && !natsconn.PlaceHeader(k) {
			msg.Header[k] = []string{v} // as stored: no canonicalization of the name
		}
	}
	return msg, nil
}

func ruleOr(rule string) string {
	if rule == "" {
		return "no rule"
	}
	return "rule " + rule
}

// Redrive republishes the original message of the entry at seq and, once a stream has stored it, removes the
// entry. A dead letter that keeps no payload is refused with ErrNotRedrivable and stays.
func (s *Store) Redrive(ctx context.Context, seq uint64) (Redriven, error) {
	e, err := s.Get(ctx, seq)
	if err != nil {
		return Redriven{}, err
	}
	msg, err := Message(e)
	if err != nil {
		return Redriven{}, err
	}
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		return Redriven{}, fmt.Errorf("republishing %s #%d to %s: %w (the dead letter stays)", events.StreamDeadLetter, seq, msg.Subject, err)
	}
	r := Redriven{Seq: seq, Subject: msg.Subject, Stream: ack.Stream, At: ack.Sequence}
	if err := s.st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return r, fmt.Errorf("%s #%d was republished to %s #%d but not removed: %w", events.StreamDeadLetter, seq, ack.Stream, ack.Sequence, err)
	}
	return r, nil
}
