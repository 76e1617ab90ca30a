package adapters

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/app"
)

// Oro users and business units (orosync.user) have no Mercato table: they are kept as directory entries in
// orosync_records only (version, deletion, snapshot, sealed like any snapshot when the tenant encrypts), so owners
// and assignees, which every aggregate references by Oro id, can be named and later resolved to Mercato users.
// No Mercato row, external id or event is written for them.

// ApplyUsers applies a batch of orosync.user changes in one transaction.
func (s *Store) ApplyUsers(ctx context.Context, changes []events.Change) (app.Result, error) {
	return applyRecords(ctx, s, userKind(), changes)
}

func userKind() recordKind[events.User] {
	return recordKind[events.User]{aggregate: events.AggregateUser,
		payload: func(c events.Change) *events.User { return c.User },
		reconcile: func(context.Context, *Store, pgx.Tx, []recState[events.User], *reconciled, time.Time) error {
			return nil
		}}
}
