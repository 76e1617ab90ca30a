package adapters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DatabaseDown says whether a failed batch failed because of the database rather than its changes: the server
// is unreachable, restarting or shutting down, or the transaction lost a serialization race. Such a batch is
// retried as it is, however long that takes; only failures of the changes themselves count towards
// dead-lettering (a PostgreSQL restart must not send good changes to the dead-letter stream).
func (s *Store) DatabaseDown(ctx context.Context, err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) == 5 && pgErr.Code[:2] == "08", // connection exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // admin/crash shutdown, cannot connect now
			pgErr.Code == "53300",                        // too many connections
			pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false // the server answered: the statement itself failed
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &netErr) || errors.As(err, &connErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) {
		return true
	}
	// Anything else that did not come from the server (a connection closed under the statement, ...): ask it.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.pool.Ping(pctx) != nil
}

// NewPool opens a pool configured for the writer's statements (PoolConfig). With replicationRole its sessions
// apply as logical replication does (session_replication_role = replica): PostgreSQL fires no triggers on the
// writer's rows, Mercato's foreign-key checks included (four per contact, each locking the referenced entity
// row). The writer already orders its rows so that every reference exists (and parks what waits for a record not
// written yet); what the checks still guard against is Mercato hard-deleting a company while a link to it is
// written. Meant for initial imports and replays; needs a role allowed to set the parameter.
func NewPool(ctx context.Context, url string, replicationRole bool) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(url)
	if err != nil {
		return nil, err
	}
	if replicationRole {
		cfg.ConnConfig.RuntimeParams["session_replication_role"] = "replica"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("writer: database: %w", err)
	}
	return pool, nil
}

// PoolConfig is the writer's pool configuration: every statement is planned for its own arguments, and only the
// writer's statements are. The statements unnest arrays whose length only a custom plan sees; a prepared
// statement may switch to a generic plan after five executions, built for "10 rows" and whatever the table held
// then (a nested loop over a sequential scan). So statements go as unnamed statements (pgx's
// QueryExecModeCacheDescribe: parsed and planned with their arguments on every execution, their result
// descriptions cached), not through plan_cache_mode = force_custom_plan: that setting also re-plans every
// foreign-key check Mercato's constraints run inside our inserts (one SELECT ... FOR KEY SHARE per row and
// constraint), which then lose their cached plans (services/writer/README.md has the figures).
func PoolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("writer: database url: %w", err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	return cfg, nil
}
