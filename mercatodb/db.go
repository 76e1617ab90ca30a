package mercatodb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// maintenanceDB is the database EnsureDatabase connects to in order to create another one.
const maintenanceDB = "postgres"

// OpenDB opens a *sql.DB backed by the pgx stdlib driver. url is a PostgreSQL connection URL or
// keyword/value DSN as understood by pgx. The URL is validated, but no connection is made.
func OpenDB(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("mercatodb: parse database url: %w", err)
	}
	return stdlib.OpenDB(*cfg), nil
}

// EnsureDatabase creates the database named in url if it does not exist yet. It connects to the
// same server's `postgres` database (same host, port, user and TLS settings) to do so. Concurrent
// callers racing to create the same database all succeed.
func EnsureDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("mercatodb: ensure database: parse database url: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return errors.New("mercatodb: ensure database: url names no database")
	}

	admin := cfg.Copy()
	admin.Database = maintenanceDB
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("mercatodb: ensure database %q: connect to %q database: %w", name, maintenanceDB, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()

	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("mercatodb: ensure database %q: look up pg_database: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		if isDuplicateDatabase(err) {
			return nil // created concurrently by someone else
		}
		return fmt.Errorf("mercatodb: ensure database %q: create: %w", name, err)
	}
	return nil
}

// isDuplicateDatabase reports whether err says the database already exists: duplicate_database
// (42P04), or unique_violation (23505) on pg_database when two CREATE DATABASE statements race.
func isDuplicateDatabase(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "42P04" || pgErr.Code == "23505"
}
