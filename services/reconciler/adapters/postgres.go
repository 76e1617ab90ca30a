package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	pg "github.com/go-jet/jet/v2/postgres"
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

// Live returns the records of typ held as live (not soft-deleted) in scope, with their last applied version.
func (s *Records) Live(ctx context.Context, scope domain.Scope, typ string) ([]domain.Held, error) {
	r := table.OrosyncRecords
	query, args := pg.SELECT(r.SourceID, r.SourceUpdatedAt, r.PayloadHash).
		FROM(r).
		WHERE(pg.AND(
			r.TenantID.EQ(pg.UUID(scope.TenantID)),
			r.OrganizationID.EQ(pg.UUID(scope.OrganizationID)),
			r.SourceType.EQ(pg.String(typ)),
			r.DeletedAt.IS_NULL(),
		)).Sql()
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading live %s records: %w", typ, err)
	}
	defer rows.Close()
	var held []domain.Held
	for rows.Next() {
		var (
			h       domain.Held
			updated time.Time
		)
		if err := rows.Scan(&h.ID, &updated, &h.Version.PayloadHash); err != nil {
			return nil, fmt.Errorf("reading live %s records: %w", typ, err)
		}
		h.Version.UpdatedAt = updated.UTC()
		held = append(held, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading live %s records: %w", typ, err)
	}
	return held, nil
}
