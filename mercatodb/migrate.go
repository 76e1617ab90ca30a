// Package mercatodb owns orosync's view of Open Mercato's PostgreSQL database: the migration
// sets (Open Mercato's reference tables for dev/test databases, and orosync's own `orosync_`
// bookkeeping tables), connection helpers and the go-jet models generated under gen/.
//
// Only [MigrateOrosync] is ever run against a real Mercato database; it creates tables prefixed
// `orosync_` and never alters Mercato's tables. [MigrateMercato] recreates Mercato's tables
// exactly as testdata/mercato-ddl (a copy of Mercato's reference DDL) defines them and is meant for dev/test databases only.
package mercatodb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Goose version tables of the two migration sets. Both carry the orosync_ prefix so that
// everything orosync adds to a Mercato database is recognisable by name.
const (
	// MercatoVersionTable tracks the dev/test-only set that recreates Open Mercato's tables.
	MercatoVersionTable = "orosync_mercato_schema_version"
	// OrosyncVersionTable tracks orosync's own tables (the only set run against real Mercato).
	OrosyncVersionTable = "orosync_schema_version"
)

// Advisory lock ids (pg_try_advisory_lock) that serialise concurrent migrators of one database,
// e.g. several services starting at once. Distinct per set; scoped to the database by PostgreSQL.
const (
	mercatoLockID int64 = 0x6f726f73796e6301 // "orosync" + 1
	orosyncLockID int64 = 0x6f726f73796e6302 // "orosync" + 2
)

var (
	//go:embed migrations/mercato/*.sql
	mercatoMigrations embed.FS

	//go:embed migrations/orosync/*.sql
	orosyncMigrations embed.FS
)

type migrationSet struct {
	name      string // for errors and logs
	dir       string // directory inside fsys
	fsys      embed.FS
	tableName string
	lockID    int64
}

func mercatoSet() migrationSet {
	return migrationSet{
		name:      "mercato",
		dir:       "migrations/mercato",
		fsys:      mercatoMigrations,
		tableName: MercatoVersionTable,
		lockID:    mercatoLockID,
	}
}

func orosyncSet() migrationSet {
	return migrationSet{
		name:      "orosync",
		dir:       "migrations/orosync",
		fsys:      orosyncMigrations,
		tableName: OrosyncVersionTable,
		lockID:    orosyncLockID,
	}
}

func (s migrationSet) provider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(s.fsys, s.dir)
	if err != nil {
		return nil, fmt.Errorf("mercatodb: %s migrations: open embedded dir %s: %w", s.name, s.dir, err)
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(s.lockID),
		lock.WithLockTimeout(1, 300), // retry every second for up to 5 minutes
	)
	if err != nil {
		return nil, fmt.Errorf("mercatodb: %s migrations: session locker: %w", s.name, err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(s.tableName),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("mercatodb: %s migrations: new goose provider: %w", s.name, err)
	}
	return p, nil
}

// Option configures a migration run.
type Option func(*options)

type options struct{ log *slog.Logger }

// WithLogger logs each applied migration (set, version, file, duration) at INFO; without it nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

func (s migrationSet) up(ctx context.Context, db *sql.DB, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if db == nil {
		return fmt.Errorf("mercatodb: %s migrations: nil *sql.DB", s.name)
	}
	p, err := s.provider(db)
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil && !r.Empty && o.log != nil {
			o.log.InfoContext(ctx, "mercatodb: applied migration",
				slog.String("set", s.name),
				slog.Int64("version", r.Source.Version),
				slog.String("file", r.Source.Path),
				slog.Duration("duration", r.Duration))
		}
	}
	if err != nil {
		return fmt.Errorf("mercatodb: %s migrations: up (version table %s): %w", s.name, s.tableName, err)
	}
	return nil
}

// MigrateMercato applies the dev/test-only migration set that creates Open Mercato's tables
// exactly as testdata/mercato-ddl (a copy of Mercato's reference DDL) defines them (version table
// [MercatoVersionTable]). Never run it against a real Mercato database. Re-running is a no-op.
func MigrateMercato(ctx context.Context, db *sql.DB, opts ...Option) error {
	return mercatoSet().up(ctx, db, opts...)
}

// MigrateOrosync applies orosync's own migrations (tables prefixed orosync_, version table
// [OrosyncVersionTable]). It is the only migration set run against a real Mercato database and
// never alters Mercato's tables. Safe to call concurrently and repeatedly: a PostgreSQL advisory
// lock serialises migrators and goose skips versions already applied.
func MigrateOrosync(ctx context.Context, db *sql.DB, opts ...Option) error {
	return orosyncSet().up(ctx, db, opts...)
}

// OrosyncStatus reports the highest applied version of orosync's migration set, or 0 when the set
// has never been applied. It does not create the version table.
func OrosyncStatus(ctx context.Context, db *sql.DB) (version int64, err error) {
	return orosyncSet().status(ctx, db)
}

func (s migrationSet) status(ctx context.Context, db *sql.DB) (int64, error) {
	if db == nil {
		return 0, fmt.Errorf("mercatodb: %s migrations: nil *sql.DB", s.name)
	}
	var exists bool
	// to_regclass resolves through search_path, like goose's unqualified table name.
	if err := db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.tableName).Scan(&exists); err != nil {
		return 0, fmt.Errorf("mercatodb: %s migrations: look up version table %s: %w", s.name, s.tableName, err)
	}
	if !exists {
		return 0, nil
	}
	// Same query goose uses for the current version (provider mode deletes rows on down).
	var version sql.NullInt64
	q := `SELECT max(version_id) FROM ` + pgx.Identifier{s.tableName}.Sanitize()
	if err := db.QueryRowContext(ctx, q).Scan(&version); err != nil {
		return 0, fmt.Errorf("mercatodb: %s migrations: read version from %s: %w", s.name, s.tableName, err)
	}
	return version.Int64, nil
}
