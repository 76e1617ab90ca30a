package natsconn

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StartupWait bounds how long a service waits at start-up for JetStream to answer (Retry): a stream without a
// leader for a moment (a node lost, an election) is waited out rather than ending the process.
const StartupWait = 2 * time.Minute

// Retry calls fn until it succeeds, fails for good (a stream, consumer or bucket that does not exist, a
// permissions violation) or StartupWait passed, pausing between attempts (100 ms doubling to 5 s) and logging
// each failure as what.
func Retry(ctx context.Context, what string, log *slog.Logger, fn func(context.Context) error) error {
	if log == nil {
		log = slog.Default()
	}
	deadline := time.Now().Add(StartupWait)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil || permanent(err) || time.Now().After(deadline) {
			return err
		}
		log.Warn("JetStream did not answer; trying again", "what", what, "retry_in", wait.String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// permanent says whether err will not pass by waiting.
func permanent(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, nats.ErrPermissionViolation) ||
		errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrConnectionClosed)
}
