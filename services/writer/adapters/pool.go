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

// DatabaseDown says whether a failed batch failed because of the database rather than its changes, and why: the
// server is unreachable, restarting or shutting down, the transaction lost a serialization race, or PostgreSQL
// refuses writes for reasons of its own (read-only after a failover, disk full, out of memory or another resource,
// a statement timeout, a permission revoked, an I/O error). Such a batch is retried as it is, however long that
// takes; only failures of the changes themselves count towards dead-lettering (a PostgreSQL restart or a full disk
// must not send good changes to the dead-letter stream).
func (s *Store) DatabaseDown(ctx context.Context, err error) (bool, string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if why := refusal(pgErr.Code); why != "" {
			return true, why + " (SQLSTATE " + pgErr.Code + ")"
		}
		return false, "" // the server answered: the statement itself failed
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &netErr) || errors.As(err, &connErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) {
		return true, "unreachable"
	}
	// Anything else that did not come from the server (a connection closed under the statement, ...): ask it.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if s.pool.Ping(pctx) != nil {
		return true, "unreachable"
	}
	return false, ""
}

// refusal names an SQLSTATE that is the database's doing, not the batch's ("" for the others).
func refusal(code string) string {
	class := ""
	if len(code) == 5 {
		class = code[:2]
	}
	switch {
	case class == "08":
		return "connection lost"
	case code == "57P01", code == "57P02", code == "57P03":
		return "shutting down or starting"
	case code == "40001", code == "40P01":
		return "serialization failure or deadlock"
	case code == "25006":
		return "read-only (a standby, or after a failover)"
	case code == "53100":
		return "disk full"
	case code == "53200":
		return "out of memory"
	case class == "53":
		return "out of a resource"
	case code == "57014":
		return "statement timeout or cancelled"
	case code == "55P03":
		return "lock timeout"
	case code == "42501":
		return "permission denied"
	case class == "58":
		return "system or I/O error"
	}
	return ""
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
