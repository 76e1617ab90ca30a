package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

type rowState struct {
	exists, deleted bool
	// encrypted columns as stored (compared decrypted, kept when equal)
	a, b *string
	// entity is the row's entity_id (interactions, comments).
	entity *uuid.UUID
	// status is the row's status (deals).
	status *string
}

// rowEvent is the event a write caused: created (new, or back from deleted), deleted, updated (values changed).
func rowEvent(before rowState, deleted, written bool) string {
	switch {
	case !before.exists:
		if deleted {
			return "" // a version a tombstone already ended: Mercato never saw it live
		}
		return "created"
	case before.deleted && !deleted:
		return "created"
	case !before.deleted && deleted:
		return "deleted"
	case !deleted && written:
		return "updated"
	}
	return ""
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
		st := rowState{exists: true}
		if err := rows.Scan(&id, &st.a, &st.b, &st.deleted, &st.entity, &st.status); err != nil {
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
