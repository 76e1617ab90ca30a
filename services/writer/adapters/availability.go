package adapters

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
