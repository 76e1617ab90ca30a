package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// rowState is a record aggregate's Mercato row as loaded for a reconcile.
type rowState struct {
	domain.RowState
	// encrypted columns as stored (compared decrypted, kept when equal)
	a, b *string
	// entity is the row's entity_id (interactions, comments).
	entity *uuid.UUID
}

// loadRowStates locks and reads the rows (id, two encrypted columns, deleted, entity, status) a reconcile compares
// with.
func loadRowStates(ctx context.Context, tx pgx.Tx, sql string, ids []uuid.UUID) (map[uuid.UUID]rowState, error) {
	out := map[uuid.UUID]rowState{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, sql, rowkit.UUIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("writer: loading rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		st := rowState{RowState: domain.RowState{Exists: true}}
		if err := rows.Scan(&id, &st.a, &st.b, &st.Deleted, &st.entity, &st.Status); err != nil {
			return nil, fmt.Errorf("writer: loading rows: %w", err)
		}
		out[id] = st
	}
	return out, rows.Err()
}

func parseDate(s *string) *time.Time {
	if s == nil {
		return nil
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano} {
		if t, err := time.Parse(layout, *s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}
