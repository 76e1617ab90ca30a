package mercatodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/orosync/orosync/mercatodb/internal/pgadmin"
)

// (dbtest imports this package, so the in-package test builds its database by hand.)
func newEmptyDB(t *testing.T) string {
	t.Helper()
	server := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if u := os.Getenv("DATABASE_URL"); u != "" {
		var err error
		if server, err = pgadmin.WithDatabase(u, "postgres"); err != nil {
			t.Fatal(err)
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "orosync_test_" + hex.EncodeToString(b[:])
	url, err := pgadmin.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureDatabase(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pgadmin.DropDatabase(ctx, server, name); err != nil {
			t.Error(err)
		}
	})
	return url
}

func TestDownMigrationsDropEverything(t *testing.T) {
	ctx := t.Context()
	db, err := OpenDB(newEmptyDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	for round := range 2 { // down must leave a state from which up works again
		if err := MigrateMercato(ctx, db); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := MigrateOrosync(ctx, db); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, set := range []migrationSet{orosyncSet(), mercatoSet()} {
			p, err := set.provider(db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.DownTo(ctx, 0); err != nil {
				t.Fatalf("round %d: %s down: %v", round, set.name, err)
			}
		}
		var n int
		err := db.QueryRowContext(ctx, `
			SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND NOT starts_with(c.relname, $1) AND NOT starts_with(c.relname, $2)`,
			MercatoVersionTable, OrosyncVersionTable, // the version tables with their pkey and id sequence
		).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("round %d: %d relations left after down", round, n)
		}
		if v, err := OrosyncStatus(ctx, db); err != nil || v != 0 {
			t.Fatalf("round %d: OrosyncStatus after down = %d, %v", round, v, err)
		}
	}
}
