package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	pg "github.com/go-jet/jet/v2/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/mercatodb/gen/mercato/public/table"
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
		if n == f.batch {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-tick.C:
		}
	}
}

// RelayOnce publishes one batch of outbox rows and deletes them; it returns how many it relayed.
func (f *Forwarder) RelayOnce(ctx context.Context) (int, error) {
	tx, err := f.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	o := table.OrosyncOutbox
	query, args := pg.SELECT(o.ID, o.Subject, o.MsgID, o.Headers, o.Payload).FROM(o).
		ORDER_BY(o.ID).LIMIT(int64(f.batch)).FOR(pg.UPDATE().SKIP_LOCKED()).Sql()
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("outbox: reading: %w", err)
	}
	var (
		ids     []int64
		futures []jetstream.PubAckFuture
	)
	for rows.Next() {
		var (
			id                      int64
			subject, msgID, headers string
			payload                 string
		)
		if err := rows.Scan(&id, &subject, &msgID, &headers, &payload); err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox: scanning: %w", err)
		}
		msg := nats.NewMsg(subject)
		msg.Data = []byte(payload)
		h := map[string]string{}
		if err := json.Unmarshal([]byte(headers), &h); err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox row %d: headers: %w", id, err)
		}
		for k, v := range h {
			msg.Header.Set(k, v)
		}
		msg.Header.Set(nats.MsgIdHdr, msgID)
		fut, err := f.js.PublishMsgAsync(msg)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox row %d: publishing to %s: %w", id, subject, err)
		}
		ids = append(ids, id)
		futures = append(futures, fut)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("outbox: reading: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	for i, fut := range futures {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			return 0, fmt.Errorf("outbox row %d: not acknowledged: %w", ids[i], err)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	ref := make([]pg.Expression, len(ids))
	for i, id := range ids {
		ref[i] = pg.Int64(id)
	}
	query, args = o.DELETE().WHERE(o.ID.IN(ref...)).Sql()
	if _, err := tx.Exec(ctx, query, args...); err != nil {
		return 0, fmt.Errorf("outbox: deleting relayed rows: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("outbox: commit: %w", err)
	}
	return len(ids), nil
}
