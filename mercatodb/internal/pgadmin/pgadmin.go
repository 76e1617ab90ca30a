// Package pgadmin holds the server-level helpers shared by dbtest and cmd/migrate-scratch:
// pointing a server URL at another database and dropping a database.
package pgadmin

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// WithDatabase returns serverURL with its database replaced by name. Both URL (postgres://…) and
// keyword/value (host=… dbname=…) forms are supported.
func WithDatabase(serverURL, name string) (string, error) {
	if isURL(serverURL) {
		u, err := url.Parse(serverURL)
		if err != nil {
			return "", fmt.Errorf("parse server url: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// Keyword/value DSN: a later keyword overrides an earlier one.
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name)
	return strings.TrimSpace(serverURL) + " dbname='" + quoted + "'", nil
}

// DropDatabase drops database name, if it exists, through a connection to serverURL (which must
// name a different database). WITH (FORCE) (PostgreSQL 13+) terminates connections left open.
func DropDatabase(ctx context.Context, serverURL, name string) error {
	cfg, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return fmt.Errorf("drop database %q: parse server url: %w", name, err)
	}
	// The maintenance database always exists; the one the server URL names may not (DATABASE_URL names the
	// demo's database, which the tests must not depend on).
	cfg.Database = "postgres"
	if name == cfg.Database {
		return fmt.Errorf("drop database %q: refusing to drop the maintenance database", name)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("drop database %q: connect to the postgres database: %w", name, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %q: %w", name, err)
	}
	return nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}
