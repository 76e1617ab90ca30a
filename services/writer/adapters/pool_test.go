package adapters_test

import (
	"context"
	"testing"
	"time"
)

// TestWriterStatementsArePlannedForTheirArgumentsWhileForeignKeyChecksKeepCachedPlans applies more batches than
// PostgreSQL needs to switch a prepared statement to a generic plan (five) through NewPool's pool, on one
// connection, and reads that connection's state: none of the writer's statements is a prepared statement (each is
// planned with the arrays it is given), and plan_cache_mode is PostgreSQL's default, so the foreign-key checks
// Mercato's constraints run inside the inserts reuse their cached plans instead of being planned for every row.
func TestWriterStatementsArePlannedForTheirArgumentsWhileForeignKeyChecksKeepCachedPlans(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, apply := oneConnectionWriter(ctx, t)
	if _, err := apply.Handle(ctx, benchAccountChanges()); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if _, err := apply.Handle(ctx, benchChanges(i*50, 50, 10, "", "v1")); err != nil {
			t.Fatal(err)
		}
	}
	var prepared int
	var mode string
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_prepared_statements), current_setting('plan_cache_mode')`).
		Scan(&prepared, &mode); err != nil {
		t.Fatal(err)
	}
	if prepared != 0 {
		t.Errorf("%d prepared statements on the writer's connection, want none (each statement planned with its arguments)", prepared)
	}
	if mode != "auto" {
		t.Errorf("plan_cache_mode = %s, want auto (foreign-key checks keep their cached plans)", mode)
	}
	var people int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM customer_people WHERE company_entity_id IS NOT NULL`).Scan(&people); err != nil {
		t.Fatal(err)
	}
	if people != 350 {
		t.Errorf("%d people with their company, want 350", people)
	}
}
