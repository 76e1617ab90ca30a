package dbtest_test

import (
	"context"
	"testing"

	"github.com/orosync/orosync/mercatodb"
	"github.com/orosync/orosync/mercatodb/dbtest"
)

func TestNewDatabaseLivesMigratedForItsTestOnly(t *testing.T) {
	var name string
	t.Run("use", func(t *testing.T) {
		url := dbtest.NewDatabase(t)
		db, err := mercatodb.OpenDB(url)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		ctx := t.Context()
		if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		v, err := mercatodb.OrosyncStatus(ctx, db)
		if err != nil || v < 1 {
			t.Fatalf("OrosyncStatus = %d, %v", v, err)
		}
		var n int
		err = db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = 'public' AND table_name IN ('customer_entities', 'sync_external_id_mappings', 'orosync_records', 'orosync_outbox')`).Scan(&n)
		if err != nil || n != 4 {
			t.Fatalf("expected tables present: n=%d err=%v", n, err)
		}
	})
	if name == "" {
		t.Fatal("subtest did not report its database")
	}

	admin, err := mercatodb.OpenDB(dbtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	var exists bool
	err = admin.QueryRowContext(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after the test finished", name)
	}
}

func TestNewDatabaseIsolation(t *testing.T) {
	a, b := dbtest.NewEmptyDatabase(t), dbtest.NewEmptyDatabase(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	for _, url := range []string{a, b} {
		db, err := mercatodb.OpenDB(url)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.QueryRowContext(t.Context(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&n)
		_ = db.Close()
		if err != nil || n != 0 {
			t.Errorf("empty database %s: %d tables, err %v", url, n, err)
		}
	}
}
