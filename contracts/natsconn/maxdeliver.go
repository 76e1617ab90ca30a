package natsconn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
)

// RuleMaxDeliver is the rule of a dead letter for a message a consumer gave up on after max_deliver deliveries.
const RuleMaxDeliver = "max-deliver"

// maxDeliveries is JetStream's advisory that a consumer skipped a message it delivered max_deliver times.
type maxDeliveries struct {
	Timestamp  time.Time `json:"timestamp"`
	Stream     string    `json:"stream"`
	Consumer   string    `json:"consumer"`
	StreamSeq  uint64    `json:"stream_seq"`
	Deliveries uint64    `json:"deliveries"`
}

// MaxDeliveryWatch dead-letters, as its stage, every message of a stream that a consumer gives up on after its
// max_deliver deliveries: JetStream announces it (the max-deliveries advisory) and skips the message, which would
// otherwise be gone without a trace (a process that crashed on it each time, acknowledgements that never came).
// The dead letter holds the message as stored; its id comes from the advisory, so every instance watching the
// consumer publishes the same one and the dead-letter stream keeps one.
type MaxDeliveryWatch struct {
	js                      jetstream.JetStream
	st                      jetstream.Stream
	sub                     *nats.Subscription
	advisories              chan *nats.Msg
	stream, consumer, stage string
	limit                   int
	log                     *slog.Logger
}

// WatchMaxDeliveries subscribes to the consumer's max-deliveries advisories before it returns, so no advisory
// published after it is missed; Run handles them.
func WatchMaxDeliveries(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, stream, consumer, stage string, log *slog.Logger) (*MaxDeliveryWatch, error) {
	if log == nil {
		log = slog.Default()
	}
	w := &MaxDeliveryWatch{js: js, stream: stream, consumer: consumer, stage: stage, log: log,
		advisories: make(chan *nats.Msg, 64)}
	err := Retry(ctx, "stream "+stream, log, func(ctx context.Context) (err error) {
		w.st, err = js.Stream(ctx, stream)
		return err
	})
	if err == nil {
		w.limit, err = Limit(ctx, nc, js, events.StreamDeadLetter)
	}
	if err == nil {
		w.sub, err = nc.ChanSubscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+stream+"."+consumer, w.advisories)
	}
	if err != nil {
		return nil, fmt.Errorf("watching %s/%s deliveries: %w", stream, consumer, err)
	}
	return w, nil
}

// Run dead-letters what the advisories name until ctx is done, then unsubscribes.
func (w *MaxDeliveryWatch) Run(ctx context.Context) error {
	defer func() { _ = w.sub.Unsubscribe() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-w.advisories:
			var a maxDeliveries
			if err := json.Unmarshal(m.Data, &a); err != nil {
				w.log.Error("unreadable max-deliveries advisory", "stream", w.stream, "consumer", w.consumer, "err", err)
				continue
			}
			if err := deadLetterSkipped(ctx, w.js, w.st, a, w.stage, w.limit); err != nil && ctx.Err() == nil {
				w.log.Error("a message skipped after max deliveries could not be dead-lettered", "stream", w.stream,
					"consumer", w.consumer, "sequence", a.StreamSeq, "err", err)
			}
		}
	}
}

// deadLetterSkipped publishes the dead letter of the message an advisory names, trying again for a minute.
func deadLetterSkipped(ctx context.Context, js jetstream.JetStream, st jetstream.Stream, a maxDeliveries, stage string, limit int) error {
	orig, err := st.GetMsg(ctx, a.StreamSeq)
	if err != nil {
		return fmt.Errorf("reading %s #%d: %w", a.Stream, a.StreamSeq, err)
	}
	dl := events.DeadLetter{Stage: stage, Rule: RuleMaxDeliver, Stream: a.Stream, Subject: orig.Subject,
		Sequence: orig.Sequence, MsgID: orig.Header.Get(nats.MsgIdHdr), FailedAt: a.Timestamp.UTC(),
		Reason: fmt.Sprintf("%s #%d: delivered %d times to consumer %s and never acknowledged (the process handling it "+
			"failed, stalled or stopped each time); JetStream no longer delivers it", a.Stream, a.StreamSeq, a.Deliveries, a.Consumer)}
	if ref, ok := recordOf(orig.Subject); ok {
		dl.Record = &ref
	}
	dl.Headers = make(map[string]string, len(orig.Header))
	for k, v := range orig.Header {
		if !PlaceHeader(k) {
			dl.Headers[k] = strings.Join(v, ",")
		}
	}
	dl.SetPayload(orig.Data)
	msg := DeadLetterMsg(dl, limit)
	wait := 100 * time.Millisecond
	for deadline := time.Now().Add(time.Minute); ; wait = min(2*wait, 5*time.Second) {
		if _, err = js.PublishMsg(ctx, msg); err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func recordOf(subject string) (events.RecordRef, bool) {
	if ref, err := events.ParseRawSubject(subject); err == nil {
		return ref, true
	}
	ref, err := events.ParseChangeSubject(subject)
	return ref, err == nil
}
