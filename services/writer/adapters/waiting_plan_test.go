package adapters

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// A table that grew since its last ANALYZE (autovacuum off, or not yet run) has no statistics: every lookup of
// waiting references must still find its rows by its own key, not filter a whole tenant per key.
func TestWaitingReferenceLookupsFindRowsByTheirKeyWithoutStatistics(t *testing.T) {
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, dbtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tenant, org := uuid.New(), uuid.New()
	if _, err := pool.Exec(ctx, `
INSERT INTO orosync_waiting_refs (tenant_id, organization_id, owner_source_type, owner_source_id, target_source_type,
       target_source_id)
SELECT $1, $2, 'contacts', i::text, 'users', (i % 20)::text FROM generate_series(1, 20000) AS i`, tenant, org); err != nil {
		t.Fatal(err)
	}
	ts, os := rowkit.UUIDs([]uuid.UUID{tenant, tenant}), rowkit.UUIDs([]uuid.UUID{org, org})
	lookups := []struct {
		name, sql, key string
		types, ids     []string
	}{
		{"clearing an owner's", clearWaitingSQL, "owner_source_id", []string{"contacts", "contacts"}, []string{"7", "8"}},
		{"taking a target's", takeWaitingSQL, "target_source_id", []string{"users", "users"}, []string{"7", "8"}},
		{"asking for a target's", anyWaitingSQL, "target_source_id", []string{"users", "users"}, []string{"7", "8"}},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			plan := explain(ctx, t, pool, l.sql, ts, os, l.types, l.ids)
			if !strings.Contains(plan, "Index Cond: (("+l.key+" = ") || strings.Contains(plan, "Rows Removed by Filter") {
				t.Errorf("the lookup does not find rows by %s:\n%s", l.key, plan)
			}
		})
	}
}

// explain runs sql under EXPLAIN ANALYZE in a transaction it rolls back, and returns the plan.
func explain(ctx context.Context, t *testing.T, pool *pgxpool.Pool, sql string, args ...any) string {
	t.Helper()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
