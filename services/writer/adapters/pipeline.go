package adapters

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// execer runs a statement whose result is not needed: a transaction, or a pipeline that sends it later.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// pipeline queues a transaction's writes and sends them in one round trip (pgx.Batch): a batch's writes depend on
// its loads, not on each other's results, and each statement was a round trip of its own (on a loaded machine
// each one waits to be scheduled twice). A failing statement fails flush; PostgreSQL skips the rest, and the
// transaction rolls back.
type pipeline struct{ b pgx.Batch }

// Exec queues the statement; errors come from flush.
func (p *pipeline) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (p *pipeline) flush(ctx context.Context, tx pgx.Tx) error {
	if p.b.Len() == 0 {
		return nil
	}
	err := tx.SendBatch(ctx, &p.b).Close()
	p.b = pgx.Batch{}
	if err != nil {
		return fmt.Errorf("writer: writing the batch: %w", err)
	}
	return nil
}
