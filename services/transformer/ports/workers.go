package ports

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
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
// Why: the router starts a fresh goroutine for every message; its small stack grew several times while mapping
// a record (a recursive JSON parse, expressions) and while publishing it, and copying it took ~5% of the CPU per
// event through JetStream (runtime.copystack in the BenchmarkTransformerThroughJetStream profile). These goroutines
// keep their grown stacks. And a worker that does not wait for JetStream's acknowledgement maps the next message
// meanwhile, so publishes share writes to the socket instead of each being a write and a wake-up of the server
// (in that benchmark: write system calls per event 2.0 → 1.25; CPU per event, median of 5 alternating runs at load
// ~6.5, 171 → 135 µs). With messages queued, n around the number of cores keeps every core mapping.
//
// A panic on a worker is re-raised on the router's goroutine. Once ctx is done the chain runs on the caller's
// goroutine, as without this middleware.
func OnWorkers(ctx context.Context, n int, pub AsyncPublisher) message.HandlerMiddleware {
	type result struct {
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
		if r.stored, r.err = pub.PublishAsync(out...); r.err != nil {
			r.err = fmt.Errorf("%w: %w", ErrNotStored, r.err)
		}
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
			if r.err != nil || r.stored == nil {
				return nil, r.err
			}
			if err := r.stored(); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrNotStored, msg.UUID, err)
			}
			return nil, nil
		}
	}
}
