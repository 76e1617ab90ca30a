package ports

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
)

// OnLongLivedGoroutines runs the handler chain on n goroutines that live until ctx is done, instead of on the fresh
// goroutine Watermill's router starts for every message.
//
// A fresh goroutine starts with a small stack, and mapping a record (a recursive JSON parse, expressions) grows it
// several times; copying the stack took ~5% of the CPU per event through JetStream (runtime.copystack under
// Transform.Handle in the BenchmarkTransformerThroughJetStream profile). These goroutines keep their grown
// stacks. With n at least the number of router handlers (each handles one message at a time) nothing queues. Put
// it first (outermost) so that the recoverer runs on the same goroutine as the handler; a panic
// outside it is re-raised on the router's goroutine.
func OnLongLivedGoroutines(ctx context.Context, n int) message.HandlerMiddleware {
	type result struct {
		msgs  []*message.Message
		err   error
		panic any
	}
	type job struct {
		h    message.HandlerFunc
		msg  *message.Message
		done chan result
	}
	jobs := make(chan job)
	// A panic goes back to the router's goroutine, whose own recover handles it as before.
	run := func(h message.HandlerFunc, msg *message.Message) (r result) {
		defer func() {
			if p := recover(); p != nil {
				r = result{panic: p}
			}
		}()
		r.msgs, r.err = h(msg)
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
			j := job{h: h, msg: msg, done: make(chan result, 1)}
			select {
			case jobs <- j:
			case <-ctx.Done(): // shutting down: handle it here, as Watermill would
				return h(msg)
			}
			r := <-j.done
			if r.panic != nil {
				panic(r.panic)
			}
			return r.msgs, r.err
		}
	}
}
