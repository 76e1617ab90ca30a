// Package ports drives the writer: a JetStream pull consumer feeding batches to the ApplyChanges use case.
package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

// Consumer fetches batches from MERCATO_CHANGES, applies them in one transaction each, and acknowledges only
// after commit. It is a pull loop on nats.go's jetstream API rather than a Watermill handler because the unit of
// work is a batch, not a message.
type Consumer struct {
	JS          jetstream.JetStream
	Consumer    jetstream.Consumer
	Apply       app.ApplyChanges
	KnownTenant func(string) bool
	Committed   func(app.Result) // called after each commit (wakes the outbox relay, feeds metrics)
	Log         *slog.Logger
	BatchSize   int
	// A change failing this many deliveries on its own is dead-lettered.
	MaxFailures uint64
	// DatabaseDown says whether a failure is the database's (unreachable, restarting, refusing writes) rather than
	// the batch's, and why: such a batch is kept and retried until it commits, nothing is dead-lettered. Nil: every
	// failure is the batch's.
	DatabaseDown func(context.Context, error) (bool, string)
	// Paused, when set, hears why the writer waits for the database, and "" once a batch commits again (metrics,
	// readiness).
	Paused func(why string)
	Now    func() time.Time
	// DeadLettered, when set, is called for each change parked in the dead-letter stream (metrics).
	DeadLettered func()
	// Tracer, when set, continues each change's trace (traceBatch); nil: no spans.
	Tracer *tracing.Tracer
}

// DatabaseUnavailable is logged (warning, with why and the SQLSTATE) each time a batch waits for the database to
// come back or take writes again.
const DatabaseUnavailable = "writer: database unavailable or refusing writes; retrying the batch"

type pending struct {
	msg    jetstream.Msg
	change events.Change
}

// Run consumes until ctx is done. The next batch is fetched and decoded while the current one is applied, so
// the database does not wait for NATS between batches (the consumer's max_ack_pending leaves room for two).
func (c *Consumer) Run(ctx context.Context) error {
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = 5
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	batches := make(chan []pending, 1)
	go func() {
		defer close(batches)
		for ctx.Err() == nil {
			work := c.fetch(ctx)
			if len(work) == 0 {
				continue
			}
			select {
			case batches <- work:
			case <-ctx.Done():
				return // unacknowledged: redelivered
			}
		}
	}()
	for work := range batches {
		bctx, end := c.traceBatch(ctx, work)
		c.apply(bctx, work)
		end()
	}
	return nil
}

// fetch takes the next batch from the stream; changes that cannot be parsed are dead-lettered. It waits up to a
// second for the first change, then restWait for the rest of the batch: a change arriving at an idle writer is
// applied within restWait rather than at the end of a one-second fetch (README, "Freshness"), and changes arriving
// together still share a transaction.
func (c *Consumer) fetch(ctx context.Context) []pending {
	first, err := c.Consumer.Fetch(1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		c.fetchFailed(ctx, err)
		return nil
	}
	work, got := c.take(ctx, first, nil)
	if got == 0 || c.BatchSize <= 1 {
		return work
	}
	rest, err := c.Consumer.Fetch(c.BatchSize-1, jetstream.FetchMaxWait(restWait))
	if err != nil {
		if ctx.Err() == nil {
			c.Log.Debug("writer fetch of the rest of a batch failed", "err", err)
		}
		return work
	}
	work, _ = c.take(ctx, rest, work)
	return work
}

// restWait is how long a batch whose first change arrived waits for more: changes arriving together (an import, a
// replay) share a transaction, and a live edit waits no longer than this.
const restWait = 50 * time.Millisecond

func (c *Consumer) fetchFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	c.Log.Warn("writer fetch failed", "err", err)
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

// take appends batch's changes to work, dead-lettering those that cannot be parsed, and says how many messages
// the batch held.
func (c *Consumer) take(ctx context.Context, batch jetstream.MessageBatch, work []pending) ([]pending, int) {
	got := 0
	for m := range batch.Messages() {
		got++
		ch, err := c.parse(m)
		if err != nil {
			c.deadLetter(ctx, m, err)
			continue
		}
		work = append(work, pending{m, ch})
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
		c.Log.Debug("writer fetch ended early", "err", err)
	}
	return work, got
}

func (c *Consumer) apply(ctx context.Context, work []pending) {
	changes := make([]events.Change, len(work))
	for i, p := range work {
		changes[i] = p.change
	}
	res, err := c.Apply.Handle(ctx, changes)
	paused := false
	for wait := 250 * time.Millisecond; err != nil && ctx.Err() == nil; {
		down, why := c.databaseDown(ctx, err)
		if !down {
			break
		}
		c.Log.Warn(DatabaseUnavailable, "why", why, "changes", len(work), "retry_in", wait, "err", err)
		if c.Paused != nil {
			c.Paused(why)
			paused = true
		}
		for _, p := range work {
			_ = p.msg.InProgress() // keeps the batch ours while the database is away
		}
		select {
		case <-ctx.Done():
			return // unacknowledged: redelivered
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
		res, err = c.Apply.Handle(ctx, changes)
	}
	if paused {
		c.Paused("") // writing again, whatever this batch's outcome
	}
	if err == nil {
		for _, p := range work {
			_ = p.msg.Ack()
		}
		if c.Committed != nil {
			c.Committed(res)
		}
		return
	}
	if ctx.Err() != nil {
		return // shutting down: unacknowledged messages are redelivered
	}
	if len(work) == 1 {
		c.fail(ctx, work[0], err)
		return
	}
	// One bad change must not hold back the batch: bisect it, so the good changes commit in a few transactions
	// (about two per halving: 20 for a batch of 1,000 with one bad change, not 1,000) and the bad one is isolated.
	// The halves keep the batch's order, so a record's versions still apply in the order they came.
	c.Log.Debug("writer batch failed; applying it in halves", "changes", len(work), "err", err)
	half := len(work) / 2
	c.apply(ctx, work[:half])
	c.apply(ctx, work[half:])
}

func (c *Consumer) databaseDown(ctx context.Context, err error) (bool, string) {
	if c.DatabaseDown == nil {
		return false, ""
	}
	return c.DatabaseDown(ctx, err)
}

func (c *Consumer) fail(ctx context.Context, p pending, err error) {
	meta, merr := p.msg.Metadata()
	if merr == nil && meta.NumDelivered >= c.MaxFailures {
		c.deadLetter(ctx, p.msg, fmt.Errorf("failed %d times, last: %w", meta.NumDelivered, err))
		return
	}
	c.Log.Warn("writer change failed; will retry", "record", p.change.Source.String(), "err", err)
	_ = p.msg.NakWithDelay(time.Second)
}

func (c *Consumer) parse(m jetstream.Msg) (events.Change, error) {
	var ch events.Change
	// goccy/go-json decodes a change in about half the CPU of encoding/json, with the same result (a test
	// compares them on every kind of change).
	if err := gojson.Unmarshal(m.Data(), &ch); err != nil {
		return ch, fmt.Errorf("change body is not JSON of a Change: %w", err)
	}
	if !c.KnownTenant(ch.Tenant) {
		return ch, fmt.Errorf("%s: tenant %q has no Mercato tenant/organization configured", ch.Source, ch.Tenant)
	}
	return ch, domain.ValidateChange(ch)
}

func (c *Consumer) deadLetter(ctx context.Context, m jetstream.Msg, cause error) {
	var ch events.Change
	_ = json.Unmarshal(m.Data(), &ch)
	dl := events.DeadLetter{Stage: "writer", Reason: cause.Error(), Stream: events.StreamMercatoChanges,
		Subject: m.Subject(), MsgID: m.Headers().Get(events.HeaderID), FailedAt: c.Now().UTC()}
	if ch.Source.ID != "" {
		ref := ch.Source
		dl.Record = &ref
	}
	if meta, err := m.Metadata(); err == nil {
		dl.Sequence = meta.Sequence.Stream
	}
	dl.Headers = map[string]string{}
	for k, v := range m.Headers() {
		dl.Headers[k] = strings.Join(v, ",")
	}
	dl.SetPayload(m.Data())
	subject, env, body := dl.Message()
	msg := nats.NewMsg(subject)
	msg.Data = body
	env.Apply(msg.Header)
	if _, err := c.JS.PublishMsg(ctx, msg); err != nil {
		c.Log.Error("writer could not dead-letter a change; leaving it for redelivery", "subject", m.Subject(), "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	c.Log.Warn("change dead-lettered", "subject", m.Subject(), "reason", dl.Reason)
	_ = m.Ack()
	if c.DeadLettered != nil {
		c.DeadLettered()
	}
}
