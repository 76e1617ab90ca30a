package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	pg "github.com/go-jet/jet/v2/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/mercatodb/gen/mercato/public/table"
	"github.com/orosync/orosync/services/reconciler/domain"
)

// Records reads orosync's bookkeeping (orosync_records): one row per synced Oro record.
type Records struct {
	pool *pgxpool.Pool
}

// NewRecords needs a pool.
func NewRecords(pool *pgxpool.Pool) (*Records, error) {
	if pool == nil {
		return nil, errors.New("records: a database pool is required")
	}
	return &Records{pool: pool}, nil
}

// heldIDsSQL streams the live ids of one type, with the updatedAt of the version applied, in Oro's numeric order;
// ids that are not numbers (or too long to be one) come last, where the merge reports them as unparsable.
const heldIDsSQL = `
SELECT source_id, source_updated_at FROM orosync_records
WHERE tenant_id = $1 AND organization_id = $2 AND source_type = $3 AND deleted_at IS NULL
ORDER BY (CASE WHEN source_id ~ '^[0-9]{1,19}$' THEN source_id::numeric END) NULLS LAST, source_id`

// HeldIDs is an open stream of held ids. The query's snapshot is taken when it starts, so everything it yields
// was held before the Oro listing that follows began.
type HeldIDs struct {
	rows pgx.Rows
	typ  string
}

// StreamHeld starts streaming the live ids of typ in scope; rows are read from the connection as Next asks, never
// all at once. Close it.
func (s *Records) StreamHeld(ctx context.Context, scope domain.Scope, typ string) (*HeldIDs, error) {
	rows, err := s.pool.Query(ctx, heldIDsSQL, scope.TenantID, scope.OrganizationID, typ)
	if err != nil {
		return nil, fmt.Errorf("streaming live %s ids: %w", typ, err)
	}
	return &HeldIDs{rows: rows, typ: typ}, nil
}

// Next yields the next id and the updatedAt of its applied version; ok is false at the end.
func (h *HeldIDs) Next() (string, time.Time, bool, error) {
	if !h.rows.Next() {
		if err := h.rows.Err(); err != nil {
			return "", time.Time{}, false, fmt.Errorf("streaming live %s ids: %w", h.typ, err)
		}
		return "", time.Time{}, false, nil
	}
	var (
		id string
		at time.Time
	)
	if err := h.rows.Scan(&id, &at); err != nil {
		return "", time.Time{}, false, fmt.Errorf("streaming live %s ids: %w", h.typ, err)
	}
	return id, at.UTC(), true, nil
}

// Close ends the stream.
func (h *HeldIDs) Close() { h.rows.Close() }

// Live returns the records among ids still held as live, with their last applied version (the tombstones' last
// seen version). Asked in batches, so a large set of deletions is not one huge statement.
func (s *Records) Live(ctx context.Context, scope domain.Scope, typ string, ids []string) ([]domain.Held, error) {
	var held []domain.Held
	const batch = 5000
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		list := make([]pg.Expression, len(part))
		for i, id := range part {
			list[i] = pg.String(id)
		}
		r := table.OrosyncRecords
		query, args := pg.SELECT(r.SourceID, r.SourceUpdatedAt, r.PayloadHash).
			FROM(r).
			WHERE(pg.AND(
				r.TenantID.EQ(pg.UUID(scope.TenantID)),
				r.OrganizationID.EQ(pg.UUID(scope.OrganizationID)),
				r.SourceType.EQ(pg.String(typ)),
				r.DeletedAt.IS_NULL(),
				r.SourceID.IN(list...),
			)).Sql()
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("reading live %s records: %w", typ, err)
		}
		for rows.Next() {
			var (
				h       domain.Held
				updated time.Time
			)
			if err := rows.Scan(&h.ID, &updated, &h.Version.PayloadHash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading live %s records: %w", typ, err)
			}
			h.Version.UpdatedAt = updated.UTC()
			held = append(held, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reading live %s records: %w", typ, err)
		}
	}
	return held, nil
}

// LiveCount counts the live records of typ in scope (the breaker's base on the audit path).
func (s *Records) LiveCount(ctx context.Context, scope domain.Scope, typ string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM orosync_records
WHERE tenant_id = $1 AND organization_id = $2 AND source_type = $3 AND deleted_at IS NULL`,
		scope.TenantID, scope.OrganizationID, typ).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting live %s records: %w", typ, err)
	}
	return n, nil
}
