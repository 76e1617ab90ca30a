// Package dbtest creates throwaway PostgreSQL databases for tests.
//
// The server is taken from the DATABASE_URL environment variable (any database on the server; it
// is used for CREATE/DROP DATABASE), defaulting to [DefaultServerURL]. Every call creates a
// database with a unique name (orosync_test_<random>) that is dropped, with any open connections
// terminated, when the test finishes.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/orosync/orosync/events/redact"
	"github.com/orosync/orosync/mercatodb"
	"github.com/orosync/orosync/mercatodb/internal/pgadmin"
)

// DefaultServerURL is used when DATABASE_URL is unset.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// EnvServerURL names the environment variable that overrides DefaultServerURL.
const EnvServerURL = "DATABASE_URL"

const (
	namePrefix   = "orosync_test_"
	setupTimeout = 2 * time.Minute
	dropTimeout  = 30 * time.Second
)

// ServerURL returns the URL of the server tests run against (DATABASE_URL or DefaultServerURL).
// The URL returned names the maintenance database "postgres": the database DATABASE_URL names (the demo's) need
// not exist for the tests.
func ServerURL() string {
	if u := os.Getenv(EnvServerURL); u != "" {
		if m, err := pgadmin.WithDatabase(u, "postgres"); err == nil {
			return m
		}
		return u
	}
	return DefaultServerURL
}

// NewDatabase creates a fresh database with both migration sets applied (Open Mercato's reference
// tables and orosync's own tables) and returns its URL. The database is dropped on test cleanup.
func NewDatabase(t testing.TB) (url string) {
	t.Helper()
	url = NewEmptyDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := mercatodb.OpenDB(url)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer func() { _ = db.Close() }()
	if err := mercatodb.MigrateMercato(ctx, db); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if err := mercatodb.MigrateOrosync(ctx, db); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return url
}

// NewEmptyDatabase creates a fresh, empty database and returns its URL. The database is dropped
// on test cleanup.
func NewEmptyDatabase(t testing.TB) (url string) {
	t.Helper()
	server := ServerURL()
	name, err := randomName()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	url, err = pgadmin.WithDatabase(server, name)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := mercatodb.EnsureDatabase(ctx, url); err != nil {
		t.Fatalf("dbtest: create test database (server %s from $%s): %v", redact.URL(server), EnvServerURL, err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		if err := pgadmin.DropDatabase(ctx, server, name); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	return url
}

func randomName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	return namePrefix + hex.EncodeToString(b[:]), nil
}
