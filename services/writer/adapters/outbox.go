package adapters

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/app"
)

const insertOutboxSQL = `
INSERT INTO orosync_outbox (subject, msg_id, event_type, headers, payload)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[])
ON CONFLICT (msg_id) DO NOTHING`

// outboxBatchEvents is the number of events from which a transaction writes them as one orosync_outbox_batches
// row rather than one orosync_outbox row each.
const outboxBatchEvents = 100

const insertOutboxBatchSQL = `INSERT INTO orosync_outbox_batches (events) VALUES ($1::json) RETURNING id`

// insertOutbox writes a transaction's events. Many events become one orosync_outbox_batches row (an outbox row per
// event weighed on the batch's WAL, and its relay deleted as many rows); a few, one orosync_outbox
// row each, de-duplicated on msg_id. Batch rows are not de-duplicated there: the same event written twice is
// published twice with the same Nats-Msg-Id, and MERCATO_EVENTS keeps one (its duplicate window is an hour).
// Rows written in a traced context carry its trace context in their headers (traceparent, tracestate), which the
// relay publishes with the event. The batch row's JSON is built in a buffer of s.outboxBufs, free again once the
// statement returned.
func (s *Store) insertOutbox(ctx context.Context, tx pgx.Tx, rows []model.OrosyncOutbox) error {
	n := len(rows)
	if n == 0 {
		return nil
	}
	if trace := tracing.Context(ctx); trace != nil { // the writer's batch span: its events continue its trace
		traced := make([]model.OrosyncOutbox, n)
		for i, r := range rows {
			r.Headers = rowkit.WithHeaders(r.Headers, trace)
			traced[i] = r
		}
		rows = traced
	}
	if n >= outboxBatchEvents {
		buf, _ := s.outboxBufs.Get().(*[]byte)
		if buf == nil {
			buf = new([]byte)
		}
		defer s.outboxBufs.Put(buf)
		*buf = rowkit.AppendOutboxBatchJSON((*buf)[:0], rows)
		var id int64
		if err := tx.QueryRow(ctx, insertOutboxBatchSQL, *buf).Scan(&id); err != nil { // []byte: sent as is
			return fmt.Errorf("writer: writing outbox: %w", err)
		}
		s.Recent.Put(id, rows)
		return nil
	}
	subject, msgID, typ, headers, payload := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rows {
		subject[i], msgID[i], typ[i], headers[i], payload[i] = r.Subject, r.MsgID, r.EventType, r.Headers, r.Payload
	}
	if _, err := tx.Exec(ctx, insertOutboxSQL, subject, msgID, typ, headers, payload); err != nil {
		return fmt.Errorf("writer: writing outbox: %w", err)
	}
	return nil
}

// countEvents counts the Mercato events written, so the caller knows to wake the outbox relay.
func countEvents(rows []model.OrosyncOutbox) app.Result {
	var r app.Result
	for _, row := range rows {
		switch {
		case strings.HasPrefix(row.EventType, "customers.next_interaction."): // comes with its interaction's event
		case strings.HasSuffix(row.EventType, ".created"):
			r.Created++
		case strings.HasSuffix(row.EventType, ".updated"):
			r.Updated++
		case strings.HasSuffix(row.EventType, ".deleted"):
			r.Deleted++
		}
	}
	return r
}
