// Package relay is the writer's second loop: it relays the transactional outbox (orosync_outbox and
// orosync_outbox_batches) to MERCATO_EVENTS, publishing the batches its own process just wrote from memory.
package relay

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// Forwarder relays the transactional outbox to MERCATO_EVENTS: rows are deleted only after JetStream acknowledged
// them, and Nats-Msg-Id de-duplicates a relay interrupted between the two, so an event is never lost nor doubled.
type Forwarder struct {
	pool  *pgxpool.Pool
	js    jetstream.JetStream
	log   *slog.Logger
	wake  chan struct{}
	batch int
	// Recent, shared with this process's Store, holds the events of batch rows it just inserted: those are
	// published from memory. Nil: every row is read from its table.
	Recent *Cache
	// Relayed, when set, hears the outcome of each relay pass in Run (metrics).
	Relayed func(n int, err error)
	// Limit is the largest message MERCATO_EVENTS takes, DeadLetterLimit OROSYNC_DLQ's (natsconn.Limit); 0 leaves
	// the checks to the server. An event MERCATO_EVENTS will not take is dead-lettered in its place.
	Limit, DeadLetterLimit int
	// DeadLettered, when set, is called for each event dead-lettered (metrics).
	DeadLettered func()
}

// New relays from pool to js.
func New(pool *pgxpool.Pool, js jetstream.JetStream, log *slog.Logger) *Forwarder {
	return &Forwarder{pool: pool, js: js, log: log, wake: make(chan struct{}, 1), batch: 1000}
}

// Wake asks for a relay soon (after a commit); it never blocks.
func (f *Forwarder) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx is done. Rows left by a crash are picked up by the periodic pass.
func (f *Forwarder) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		n, err := f.RelayOnce(ctx)
		if err != nil && ctx.Err() == nil {
			f.log.Warn("outbox relay failed; will retry", "err", err)
		}
		if f.Relayed != nil && (n > 0 || err != nil && ctx.Err() == nil) {
			f.Relayed(n, err)
		}
		if n > 0 && err == nil {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-tick.C:
		}
	}
}

// The relay takes the rows of one table at a time, an id range that no row of the other table interleaves, so
// events go out in commit order across orosync_outbox and orosync_outbox_batches (one id sequence). Rows are
// deleted (and so locked) by the relay's transaction, which commits only after JetStream acknowledged every
// message; a failed relay rolls back and the rows are there again. (A SELECT ... FOR UPDATE then a DELETE wrote
// every row twice.) SKIP LOCKED lets several relays share the tables.
const (
	relayHeadsSQL = `SELECT (SELECT min(id) FROM orosync_outbox), (SELECT min(id) FROM orosync_outbox_batches)`
	relaySQL      = `
DELETE FROM orosync_outbox WHERE id IN (SELECT id FROM orosync_outbox WHERE id < $2 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, subject, msg_id, event_type, headers::text, payload::text`
	// The events of rows whose ids are in $3 (the relay holds them in memory) are not sent back.
	relayBatchesSQL = `
DELETE FROM orosync_outbox_batches
WHERE id IN (SELECT id FROM orosync_outbox_batches WHERE id < $2 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, CASE WHEN id = ANY($3::bigint[]) THEN NULL ELSE events::text END`
	// batchRowsPerRelay bounds a relay pass that takes batch rows (each holds up to a few thousand events).
	batchRowsPerRelay = 2
)

type outboxMsg struct {
	id                                    int64
	subject, msgID, typ, headers, payload string
}

// RelayOnce publishes the next outbox rows, in id order, and deletes them; it returns how many events it relayed.
func (f *Forwarder) RelayOnce(ctx context.Context) (int, error) {
	tx, err := f.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var single, batched *int64
	if err := tx.QueryRow(ctx, relayHeadsSQL).Scan(&single, &batched); err != nil {
		return 0, fmt.Errorf("outbox: reading: %w", err)
	}
	var (
		msgs    []outboxMsg
		fromMem []int64
	)
	switch {
	case batched != nil && (single == nil || *batched < *single):
		msgs, fromMem, err = f.takeBatches(ctx, tx, upTo(single))
	case single != nil:
		msgs, err = f.takeRows(ctx, tx, upTo(batched))
	}
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].id < msgs[j].id }) // RETURNING has no order
	out := make([]*nats.Msg, len(msgs))
	for i, m := range msgs {
		msg := &nats.Msg{Subject: m.subject, Data: []byte(m.payload), Header: make(nats.Header, 9)}
		if err := setHeaders(msg.Header, m.headers); err != nil {
			return 0, fmt.Errorf("outbox row %d: headers: %w", m.id, err)
		}
		completeHeaders(msg.Header, m.msgID, m.typ)
		if size := natsconn.Size(msg); f.Limit > 0 && size > f.Limit {
			msg = f.oversize(msg, size)
		}
		out[i] = msg
	}
	if err := f.publishAll(ctx, msgs, out); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("outbox: commit: %w", err)
	}
	f.Recent.forget(fromMem)
	return len(msgs), nil
}

// publishAll publishes out (the events of msgs) and waits for every acknowledgement; an event the server refuses
// as too big is dead-lettered in its place.
func (f *Forwarder) publishAll(ctx context.Context, msgs []outboxMsg, out []*nats.Msg) error {
	futures := make([]jetstream.PubAckFuture, len(out))
	for i := 0; i < len(out); i++ {
		fut, err := f.js.PublishMsgAsync(out[i])
		if natsconn.TooBig(err) && !isDeadLetter(out[i]) {
			out[i] = f.oversize(out[i], natsconn.Size(out[i]))
			i-- // publish the dead letter in its place
			continue
		}
		if err != nil {
			return fmt.Errorf("outbox row %d: publishing to %s: %w", msgs[i].id, out[i].Subject, err)
		}
		futures[i] = fut
	}
	for i, fut := range futures {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			if !natsconn.TooBig(err) || isDeadLetter(out[i]) {
				return fmt.Errorf("outbox row %d: not acknowledged: %w", msgs[i].id, err)
			}
			if _, err := f.js.PublishMsg(ctx, f.oversize(out[i], natsconn.Size(out[i]))); err != nil {
				return fmt.Errorf("outbox row %d: dead letter of an event too big: %w", msgs[i].id, err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// oversize is the dead letter of an event MERCATO_EVENTS will not take (size bytes): the event with its headers,
// for a redrive once the stream takes it.
func (f *Forwarder) oversize(msg *nats.Msg, size int) *nats.Msg {
	where := "the record is written in Mercato; only its event is held here: raise MERCATO_EVENTS' max_msg_size and redrive it"
	dl := events.Oversize("writer", nil, events.StreamMercatoEvents, msg.Subject, msg.Data, size, f.Limit, where, time.Now())
	dl.MsgID = msg.Header.Get(nats.MsgIdHdr)
	dl.Headers = make(map[string]string, len(msg.Header))
	for k, v := range msg.Header {
		if k != nats.MsgIdHdr {
			dl.Headers[k] = strings.Join(v, ",")
		}
	}
	dl.SetPayload(msg.Data)
	f.log.Warn("event dead-lettered: too big for its stream", "subject", msg.Subject, "size", size, "limit", f.Limit)
	if f.DeadLettered != nil {
		f.DeadLettered()
	}
	return natsconn.DeadLetterMsg(dl, f.DeadLetterLimit)
}

func isDeadLetter(msg *nats.Msg) bool {
	return msg.Header.Get(events.HeaderType) == events.TypeDeadLetter
}

func upTo(next *int64) int64 {
	if next == nil {
		return math.MaxInt64
	}
	return *next
}

func (f *Forwarder) takeRows(ctx context.Context, tx pgx.Tx, below int64) ([]outboxMsg, error) {
	rows, err := tx.Query(ctx, relaySQL, f.batch, below)
	if err != nil {
		return nil, fmt.Errorf("outbox: reading: %w", err)
	}
	defer rows.Close()
	var out []outboxMsg
	for rows.Next() {
		var m outboxMsg
		if err := rows.Scan(&m.id, &m.subject, &m.msgID, &m.typ, &m.headers, &m.payload); err != nil {
			return nil, fmt.Errorf("outbox: scanning: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: reading: %w", err)
	}
	return out, nil
}

// takeBatches deletes the next batch rows and returns their events, and the ids of the rows whose events came
// from f.Recent.
func (f *Forwarder) takeBatches(ctx context.Context, tx pgx.Tx, below int64) ([]outboxMsg, []int64, error) {
	held := f.Recent.held()
	heldIDs := make([]int64, 0, len(held))
	for id := range held {
		heldIDs = append(heldIDs, id)
	}
	rows, err := tx.Query(ctx, relayBatchesSQL, batchRowsPerRelay, below, heldIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: reading batches: %w", err)
	}
	defer rows.Close()
	var (
		out     []outboxMsg
		fromMem []int64
	)
	for rows.Next() {
		var (
			id  int64
			raw []byte
		)
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, nil, fmt.Errorf("outbox: scanning batch: %w", err)
		}
		if raw == nil { // in held: the row committed with exactly these events
			for _, r := range held[id] {
				out = append(out, outboxMsg{id: id, subject: r.Subject, msgID: r.MsgID, typ: r.EventType, headers: r.Headers,
					payload: r.Payload})
			}
			fromMem = append(fromMem, id)
			continue
		}
		var evts []rowkit.BatchEvent
		if err := gojson.Unmarshal(raw, &evts); err != nil { // half encoding/json's CPU on the relay's hot path
			return nil, nil, fmt.Errorf("outbox batch %d: %w", id, err)
		}
		for _, e := range evts {
			out = append(out, outboxMsg{id: id, subject: e.Subject, msgID: e.MsgID, typ: e.Type, headers: string(e.Headers),
				payload: string(e.Payload)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("outbox: reading batches: %w", err)
	}
	return out, fromMem, nil
}
