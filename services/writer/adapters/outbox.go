package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
)

// Forwarder relays the transactional outbox to MERCATO_EVENTS: rows are deleted only after JetStream acknowledged
// them, and Nats-Msg-Id de-duplicates a relay interrupted between the two, so an event is never lost nor doubled.
type Forwarder struct {
	pool  *pgxpool.Pool
	js    jetstream.JetStream
	log   *slog.Logger
	wake  chan struct{}
	batch int
}

// NewForwarder relays from pool to js.
func NewForwarder(pool *pgxpool.Pool, js jetstream.JetStream, log *slog.Logger) *Forwarder {
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
	relayBatchesSQL = `
DELETE FROM orosync_outbox_batches
WHERE id IN (SELECT id FROM orosync_outbox_batches WHERE id < $2 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, events::text`
	// batchRowsPerRelay bounds a relay pass that takes batch rows (each holds up to a few thousand events).
	batchRowsPerRelay = 2
)

type outboxMsg struct {
	id                                    int64
	subject, msgID, typ, headers, payload string
}

// batchEvent is one event of an orosync_outbox_batches row.
type batchEvent struct {
	Subject string          `json:"s"`
	MsgID   string          `json:"m"`
	Type    string          `json:"t"`
	Headers json.RawMessage `json:"h"`
	Payload json.RawMessage `json:"p"`
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
	var msgs []outboxMsg
	switch {
	case batched != nil && (single == nil || *batched < *single):
		msgs, err = f.takeBatches(ctx, tx, upTo(single))
	case single != nil:
		msgs, err = f.takeRows(ctx, tx, upTo(batched))
	}
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].id < msgs[j].id }) // RETURNING has no order
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		msg := nats.NewMsg(m.subject)
		msg.Data = []byte(m.payload)
		h := map[string]string{}
		if err := gojson.Unmarshal([]byte(m.headers), &h); err != nil {
			return 0, fmt.Errorf("outbox row %d: headers: %w", m.id, err)
		}
		for k, v := range h {
			msg.Header.Set(k, v)
		}
		completeHeaders(msg.Header, m.msgID, m.typ)
		if futures[i], err = f.js.PublishMsgAsync(msg); err != nil {
			return 0, fmt.Errorf("outbox row %d: publishing to %s: %w", m.id, m.subject, err)
		}
	}
	for i, fut := range futures {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			return 0, fmt.Errorf("outbox row %d: not acknowledged: %w", msgs[i].id, err)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("outbox: commit: %w", err)
	}
	return len(msgs), nil
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

func (f *Forwarder) takeBatches(ctx context.Context, tx pgx.Tx, below int64) ([]outboxMsg, error) {
	rows, err := tx.Query(ctx, relayBatchesSQL, batchRowsPerRelay, below)
	if err != nil {
		return nil, fmt.Errorf("outbox: reading batches: %w", err)
	}
	defer rows.Close()
	var out []outboxMsg
	for rows.Next() {
		var (
			id  int64
			raw []byte
		)
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("outbox: scanning batch: %w", err)
		}
		var evts []batchEvent
		if err := gojson.Unmarshal(raw, &evts); err != nil { // half encoding/json's CPU on the relay's hot path
			return nil, fmt.Errorf("outbox batch %d: %w", id, err)
		}
		for _, e := range evts {
			out = append(out, outboxMsg{id: id, subject: e.Subject, msgID: e.MsgID, typ: e.Type, headers: string(e.Headers),
				payload: string(e.Payload)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: reading batches: %w", err)
	}
	return out, nil
}

// outboxHeaders is the JSON of an event's CloudEvents headers as the outbox stores them: without those the relay
// derives from the row's own columns or that never vary (id and Nats-Msg-Id are msg_id, type is event_type,
// specversion and content type are constant), which halves an outbox row.
func outboxHeaders(env events.Envelope) string {
	// What json.Marshal of the map of the remaining headers writes (keys sorted), without the map: ce-dataschema,
	// ce-source, ce-subject, ce-time, those set.
	var buf [256]byte
	b := append(buf[:0], '{')
	if env.DataSchema != "" {
		b = appendHeader(b, events.HeaderDataSchema, env.DataSchema)
	}
	b = appendHeader(b, events.HeaderSource, env.Source)
	if env.Subject != "" {
		b = appendHeader(b, events.HeaderSubject, env.Subject)
	}
	b = append(b, `,"`+events.HeaderTime+`":"`...)
	b = env.Time.UTC().AppendFormat(b, time.RFC3339Nano) // no character to escape
	return string(append(b, '"', '}'))
}

func appendHeader(b []byte, k, v string) []byte {
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = appendJSONString(b, k)
	return appendJSONString(append(b, ':'), v)
}

// completeHeaders adds what outboxHeaders left out (rows written before it kept them all are unchanged).
func completeHeaders(h nats.Header, msgID, typ string) {
	h.Set(nats.MsgIdHdr, msgID)
	for k, v := range map[string]string{events.HeaderID: msgID, events.HeaderType: typ, events.HeaderSpecVersion: events.SpecVersion,
		events.HeaderDataContentType: "application/json"} {
		if h.Get(k) == "" {
			h.Set(k, v)
		}
	}
}
