package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

const clearWaitingSQL = `
DELETE FROM orosync_waiting_refs w
USING unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS k(t, o, st, si)
WHERE w.tenant_id = k.t AND w.organization_id = k.o AND w.owner_source_type = k.st AND w.owner_source_id = k.si`

const addWaitingSQL = `
INSERT INTO orosync_waiting_refs (tenant_id, organization_id, owner_source_type, owner_source_id, target_source_type,
       target_source_id, created_at)
SELECT v.t, v.o, v.ost, v.osi, v.tst, v.tsi, $7
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS v(t, o, ost, osi, tst, tsi)
ON CONFLICT DO NOTHING`

// setWaiting replaces the waiting references of the given owners (by index into owners).
func (s *Store) setWaiting(ctx context.Context, tx pgx.Tx, owners []domain.Key, waiting map[int][]events.OroRef, now time.Time) error {
	if len(owners) == 0 {
		return nil
	}
	ts, os, sts, sis := s.keyColumns(owners)
	if _, err := tx.Exec(ctx, clearWaitingSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis); err != nil {
		return fmt.Errorf("writer: clearing waiting references: %w", err)
	}
	var wt, wo []uuid.UUID
	var ost, osi, tst, tsi []string
	for i, refs := range waiting {
		for _, r := range refs {
			wt, wo = append(wt, ts[i]), append(wo, os[i])
			ost, osi, tst, tsi = append(ost, sts[i]), append(osi, sis[i]), append(tst, r.Type), append(tsi, r.ID)
		}
	}
	if len(wt) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, addWaitingSQL, rowkit.UUIDs(wt), rowkit.UUIDs(wo), ost, osi, tst, tsi, now); err != nil {
		return fmt.Errorf("writer: parking references: %w", err)
	}
	return nil
}

const takeWaitingSQL = `
DELETE FROM orosync_waiting_refs w
USING unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS k(t, o, st, si)
WHERE w.tenant_id = k.t AND w.organization_id = k.o AND w.target_source_type = k.st AND w.target_source_id = k.si
RETURNING w.tenant_id, w.organization_id, w.owner_source_type, w.owner_source_id`

const ownerTypesSQL = `
SELECT k.i, r.internal_entity_type
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si`

// ResolveWaiting reconciles again, from their last applied versions, the records waiting for any of the given
// records (written by a batch that committed), and then the records waiting for those, a few levels deep (an
// interaction on a deal waits for the deal's first person). It returns how many records it reconciled.
func (s *Store) ResolveWaiting(ctx context.Context, arrived []domain.Key) (app.Result, error) {
	var total app.Result
	for depth := 0; depth < 4 && len(arrived) > 0; depth++ {
		next, res, err := s.resolveWaitingOnce(ctx, arrived)
		if err != nil {
			return total, err
		}
		total.Records += len(next)
		total.Created, total.Updated, total.Deleted = total.Created+res.Created, total.Updated+res.Updated, total.Deleted+res.Deleted
		arrived = next
	}
	return total, nil
}

// anyWaitingSQL tells whether any record waits for the given ones.
const anyWaitingSQL = `
SELECT EXISTS (SELECT 1 FROM orosync_waiting_refs w
               JOIN unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS k(t, o, st, si)
                 ON w.tenant_id = k.t AND w.organization_id = k.o AND w.target_source_type = k.st AND w.target_source_id = k.si)`

// anyWaiting asks, in one round trip, whether resolveWaitingOnce has anything to do (most batches: nothing, and
// its transaction was four round trips). The statements are one pipeline, so one implicit transaction: the
// advisory locks are held while the check runs, as in resolveWaitingOnce, so a record parked concurrently either
// committed before (and is seen) or takes the lock after, and then sees the records the batch committed.
func (s *Store) anyWaiting(ctx context.Context, arrived []domain.Key) (bool, error) {
	b := &pgx.Batch{}
	for _, t := range sortedTenants(arrived) {
		b.Queue(`SELECT pg_advisory_xact_lock(hashtext('orosync-refs/' || $1))`, t)
	}
	ts, os, sts, sis := s.keyColumns(arrived)
	var found bool
	b.Queue(anyWaitingSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis).QueryRow(func(r pgx.Row) error { return r.Scan(&found) })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return false, fmt.Errorf("writer: waiting references: %w", err)
	}
	return found, nil
}

// rereconcile reconciles records again from their stored state.
func rereconcile[T any](ctx context.Context, s *Store, tx pgx.Tx, kind recordKind[T], keys []domain.Key) (app.Result, error) {
	stored, err := loadRecords[T](ctx, s, tx, keys)
	if err != nil {
		return app.Result{}, err
	}
	var rs []recState[T]
	for _, k := range keys {
		st, ok := stored[k]
		if !ok {
			continue
		}
		sc := s.scopes[k.Tenant]
		r := recState[T]{key: k, sc: sc, id: newIDs(sc, k).entity, st: *st, relink: true}
		if !st.Missing {
			v := st.Value
			r.prev = &v
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return app.Result{}, nil
	}
	return reconcileRecords(ctx, s, tx, kind, rs)
}

func (s *Store) resolveWaitingOnce(ctx context.Context, arrived []domain.Key) ([]domain.Key, app.Result, error) {
	if found, err := s.anyWaiting(ctx, arrived); err != nil || !found {
		return nil, app.Result{}, err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, app.Result{}, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := lockRefs(ctx, tx, arrived); err != nil {
		return nil, app.Result{}, err
	}
	owners, err := s.takeWaiting(ctx, tx, arrived)
	if err != nil {
		return nil, app.Result{}, err
	}
	if len(owners) == 0 {
		return nil, app.Result{}, tx.Commit(ctx)
	}
	byType, err := s.ownerTypes(ctx, tx, owners)
	if err != nil {
		return nil, app.Result{}, err
	}
	done, res, err := s.rereconcileAll(ctx, tx, byType)
	if err != nil {
		return nil, res, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, res, fmt.Errorf("writer: commit: %w", err)
	}
	return done, res, nil
}

// takeWaiting deletes the waiting references to the arrived records and returns the records that waited.
func (s *Store) takeWaiting(ctx context.Context, tx pgx.Tx, arrived []domain.Key) ([]domain.Key, error) {
	ts, os, sts, sis := s.keyColumns(arrived)
	rows, err := tx.Query(ctx, takeWaitingSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, fmt.Errorf("writer: waiting references: %w", err)
	}
	defer rows.Close()
	tenantOf := map[[2]uuid.UUID]string{}
	for name, sc := range s.scopes {
		tenantOf[[2]uuid.UUID{sc.TenantID, sc.OrganizationID}] = name
	}
	seen := map[domain.Key]bool{}
	var owners []domain.Key
	for rows.Next() {
		var t, o uuid.UUID
		var st, si string
		if err := rows.Scan(&t, &o, &st, &si); err != nil {
			return nil, fmt.Errorf("writer: waiting references: %w", err)
		}
		tenant, ok := tenantOf[[2]uuid.UUID{t, o}]
		k := domain.Key{Tenant: tenant, SourceType: st, SourceID: si}
		if ok && !seen[k] {
			seen[k] = true
			owners = append(owners, k)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: waiting references: %w", err)
	}
	return owners, nil
}

// ownerTypes groups records by their aggregate.
func (s *Store) ownerTypes(ctx context.Context, tx pgx.Tx, owners []domain.Key) (map[string][]domain.Key, error) {
	ts, os, sts, sis := s.keyColumns(owners)
	rows, err := tx.Query(ctx, ownerTypesSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, fmt.Errorf("writer: waiting records: %w", err)
	}
	defer rows.Close()
	byType := map[string][]domain.Key{}
	for rows.Next() {
		var i int64
		var typ string
		if err := rows.Scan(&i, &typ); err != nil {
			return nil, fmt.Errorf("writer: waiting records: %w", err)
		}
		byType[typ] = append(byType[typ], owners[i-1])
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: waiting records: %w", err)
	}
	return byType, nil
}

// rereconcileAll reconciles the records of each kind again (people and companies: their owners), merged companies
// first; it returns those it did.
func (s *Store) rereconcileAll(ctx context.Context, tx pgx.Tx, byType map[string][]domain.Key) ([]domain.Key, app.Result, error) {
	var (
		done []domain.Key
		res  app.Result
	)
	if keys := append(byType[events.AggregatePerson], byType[events.AggregateCompany]...); len(keys) > 0 {
		r, err := s.reconcileProfileColumns(ctx, tx, keys, nil, nil) // owners only: no stage staged
		if err != nil {
			return nil, res, err
		}
		res, done = r, keys
	}
	for _, typ := range []string{events.AggregateCompanyMerge, events.AggregateDeal, events.AggregateInteraction, events.AggregateComment} {
		keys := byType[typ]
		if len(keys) == 0 {
			continue
		}
		var (
			r   app.Result
			err error
		)
		switch typ {
		case events.AggregateDeal:
			r, err = rereconcile(ctx, s, tx, dealKind(), keys)
		case events.AggregateInteraction:
			r, err = rereconcile(ctx, s, tx, interactionKind(), keys)
		case events.AggregateComment:
			r, err = rereconcile(ctx, s, tx, commentKind(), keys)
		case events.AggregateCompanyMerge:
			r, err = rereconcile(ctx, s, tx, mergeKind(), keys)
		}
		res.Created, res.Updated, res.Deleted = res.Created+r.Created, res.Updated+r.Updated, res.Deleted+r.Deleted
		if err != nil {
			return nil, res, err
		}
		done = append(done, keys...)
	}
	return done, res, nil
}
