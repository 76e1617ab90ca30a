package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/adapters"
)

// AsyncPublisher sends messages without waiting for the broker; stored blocks until every one is stored and
// returns the first failure.
type AsyncPublisher interface {
	PublishAsync(msgs ...*message.Message) (stored func() error, err error)
}

// ErrNotStored marks a failure to publish or store a handler's outputs: the input is to be redelivered (the router
// negatively acknowledges it), never retried here or dead-lettered, whatever the outputs were.
var ErrNotStored = errors.New("outputs not stored")

// OnWorkers runs the rest of the handler chain on n goroutines that live until ctx is done, publishes its outputs
// there through pub without waiting for the broker, and then, back on the router's goroutine, waits until they are
// stored and returns no messages. So the router acknowledges the input only once its outputs are stored (at least
// once, as when the router publishes them itself), and a failure to store them is an error wrapping ErrNotStored.
//
// Why: the router starts a fresh goroutine for every message, whose small stack grows several times while mapping
// a record and publishing it; these goroutines keep their grown stacks. And a worker that does not wait for
// JetStream's acknowledgement maps the next message meanwhile, so publishes share writes to the socket instead of
// each being a write and a wake-up of the server (README, "Measured capacity"). With messages queued, n around the
// number of cores keeps every core mapping.
//
// A panic on a worker is re-raised on the router's goroutine. Once ctx is done the chain runs on the caller's
// goroutine, as without this middleware. Outputs the broker did not store are stored as Store says.
func OnWorkers(ctx context.Context, n int, pub AsyncPublisher, store Store) message.HandlerMiddleware {
	type result struct {
		out    []*message.Message
		stored func() error
		err    error
		panic  any
	}
	type job struct {
		h    message.HandlerFunc
		msg  *message.Message
		done chan result
	}
	jobs := make(chan job)
	run := func(h message.HandlerFunc, msg *message.Message) (r result) {
		defer func() {
			if p := recover(); p != nil {
				r = result{panic: p}
			}
		}()
		out, err := h(msg)
		if err != nil || len(out) == 0 {
			return result{err: err}
		}
		r.out = out
		r.stored, r.err = pub.PublishAsync(out...)
		return r
	}
	for range n {
		go func() {
			for {
				select {
				case j := <-jobs:
					j.done <- run(j.h, j.msg)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			var r result
			j := job{h: h, msg: msg, done: make(chan result, 1)}
			select {
			case jobs <- j:
				r = <-j.done
			case <-ctx.Done(): // shutting down: run it here
				r = run(h, msg)
			}
			if r.panic != nil {
				panic(r.panic)
			}
			if r.out == nil {
				return nil, r.err
			}
			err := r.err
			if err == nil {
				err = r.stored()
			}
			if err != nil {
				err = store.retry(pub, msg, r.out, err)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrNotStored, msg.UUID, err)
			}
			return nil, nil
		}
	}
}

// Store says what becomes of outputs the broker did not store.
type Store struct {
	// Oversize is the dead letter that replaces output out of in, which its stream will not take; nil: the failure
	// is returned.
	Oversize func(in, out *message.Message, tooBig *adapters.TooBigError) *message.Message
	// Hold tells the broker in is still being worked on, so its ack deadline passes no delivery; nil: nothing.
	Hold func(in *message.Message)
	// Backoff is the first pause before trying again, doubled up to MaxBackoff; defaults 100 ms and 5 s.
	Backoff, MaxBackoff time.Duration
	Log                 *slog.Logger
}

// retry stores the outputs of in after the failure err, until they are stored or in's context ends (shutdown:
// the error is returned and the input redelivered). An output its stream will not take is replaced by its
// Oversize dead letter; any other failure passes (no stream leader, a timeout, a disconnect), so the outputs are
// sent again after a pause that doubles, while the input is held: a broker outage uses up no delivery.
func (s Store) retry(pub AsyncPublisher, in *message.Message, out []*message.Message, err error) error {
	wait, ceiling := s.Backoff, s.MaxBackoff
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	if ceiling <= 0 {
		ceiling = 5 * time.Second
	}
	for tries := 1; err != nil; tries++ {
		var big *adapters.TooBigError
		switch {
		case errors.As(err, &big) && s.Oversize != nil:
			replaced := false
			for i, o := range out {
				if o.Metadata.Get(adapters.SubjectKey) == big.Subject && o.Metadata.Get(events.HeaderType) != events.TypeDeadLetter {
					out[i], replaced = s.Oversize(in, o, big), true
				}
			}
			if !replaced {
				return err // a dead letter too big: not one to loop on
			}
		case errors.As(err, &big):
			return err
		default:
			if tries&(tries-1) == 0 { // the 1st, 2nd, 4th, 8th... try
				s.log().Warn("transformer outputs not stored; holding the input and trying again", "input", in.UUID,
					"tries", tries, "retry_in", wait, "err", err)
			}
			if s.Hold != nil {
				s.Hold(in)
			}
			select {
			case <-in.Context().Done():
				return err
			case <-time.After(wait):
			}
			wait = min(2*wait, ceiling)
		}
		var stored func() error
		if stored, err = pub.PublishAsync(out...); err == nil {
			err = stored()
		}
	}
	return nil
}

func (s Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
