package adapters

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

// Record aggregates (deals, interactions, comments, merged b2b customers) share one write path: the version rules
// of domain.PlanRecords decide the state of each record, orosync_records keeps it (snapshot = the last applied
// value), and a per-aggregate reconcile brings Mercato's rows in line with it, comparing with what Mercato holds
// (so a state applied twice writes nothing and emits nothing). References to Oro records not written yet are kept
// in orosync_waiting_refs; when such a record is written, ResolveWaiting reconciles the waiting records again
// from their snapshots. Both take a per-tenant advisory lock so a record and its target written concurrently
// cannot miss each other.

// recState is one record aggregate to reconcile.
type recState[T any] struct {
	key domain.Key
	sc  Scope
	// id is the record's deterministic id (the Mercato row id for deals and interactions).
	id uuid.UUID
	st domain.RecordStored[T]
	// prev is the value reconciled before (nil: none), so rows of targets a version dropped can be removed.
	prev *T
	// relink: reconciled again because a record it references was written; only its relations are brought in
	// line (rows that do not exist yet are written), values edited in Mercato meanwhile are left alone.
	relink bool
}

// reconciled is what a reconcile wrote: outbox rows, per record (by index) the references still unresolved and
// the id of its Mercato row (profile_id of the bookkeeping; nil while it has none).
type reconciled struct {
	outbox  []model.OrosyncOutbox
	waiting map[int][]events.OroRef
	rowID   map[int]*uuid.UUID
	dict    dictionary
}

func newReconciled() *reconciled {
	return &reconciled{waiting: map[int][]events.OroRef{}, rowID: map[int]*uuid.UUID{}, dict: dictionary{}}
}

// recordKind is one record aggregate's part of the shared path.
type recordKind[T any] struct {
	aggregate string
	payload   func(events.Change) *T
	reconcile func(ctx context.Context, s *Store, tx pgx.Tx, rs []recState[T], out *reconciled, now time.Time) error
}

func keysOf(changes []events.Change) []domain.Key {
	var keys []domain.Key
	seen := map[domain.Key]bool{}
	for _, c := range changes {
		k := domain.Key{Tenant: c.Tenant, SourceType: c.Source.Type, SourceID: c.Source.ID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

func sortedTenants(keys []domain.Key) []string {
	tenants := map[string]bool{}
	for _, k := range keys {
		tenants[k.Tenant] = true
	}
	names := make([]string, 0, len(tenants))
	for t := range tenants {
		names = append(names, t)
	}
	sort.Strings(names)
	return names
}

func lockRefs(ctx context.Context, tx pgx.Tx, keys []domain.Key) error {
	for _, t := range sortedTenants(keys) {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('orosync-refs/' || $1))`, t); err != nil {
			return fmt.Errorf("writer: locking references of %s: %w", t, err)
		}
	}
	return nil
}

// applyRecords applies changes of one record aggregate in one transaction.
func applyRecords[T any](ctx context.Context, s *Store, kind recordKind[T], changes []events.Change) (app.Result, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return app.Result{}, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	keys := keysOf(changes)
	if err := lockRefs(ctx, tx, keys); err != nil {
		return app.Result{}, err
	}
	stored, err := loadRecords[T](ctx, s, tx, keys)
	if err != nil {
		return app.Result{}, err
	}
	outcomes := domain.PlanRecords(stored, changes, kind.payload)
	if len(outcomes) == 0 {
		return app.Result{}, tx.Commit(ctx)
	}
	rs := make([]recState[T], len(outcomes))
	for i, o := range outcomes {
		sc := s.scopes[o.Key.Tenant]
		rs[i] = recState[T]{key: o.Key, sc: sc, id: newIDs(sc, o.Key).entity, st: o.After}
		if o.Before != nil && !o.Before.Missing {
			v := o.Before.Value
			rs[i].prev = &v
		}
	}
	res, err := reconcileRecords(ctx, s, tx, kind, rs)
	if err != nil {
		return app.Result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return app.Result{}, fmt.Errorf("writer: commit: %w", err)
	}
	res.Records = len(outcomes)
	return res, nil
}

// reconcileRecords writes Mercato's rows, the bookkeeping, the external ids, the waiting references and the
// outbox of the given records.
func reconcileRecords[T any](ctx context.Context, s *Store, tx pgx.Tx, kind recordKind[T], rs []recState[T]) (app.Result, error) {
	now := s.now().UTC()
	out := newReconciled()
	if err := kind.reconcile(ctx, s, tx, rs, out, now); err != nil {
		return app.Result{}, err
	}
	if err := reconcileCustomFields(ctx, tx, kind.aggregate, rs, out, now); err != nil {
		return app.Result{}, err
	}
	var (
		records  []model.OrosyncRecords
		mappings []mappingRow
		owners   []domain.Key
	)
	for i, r := range rs {
		var snap *string
		if !r.st.Missing {
			sealed, err := rowkit.SealJSON(s.ciphers[r.key.Tenant], r.st.Value)
			if err != nil {
				return app.Result{}, err
			}
			snap = &sealed
		}
		var deletedAt *time.Time
		if r.st.Deleted {
			deletedAt = &now
		}
		row := out.rowID[i]
		records = append(records, model.OrosyncRecords{TenantID: r.sc.TenantID, OrganizationID: r.sc.OrganizationID,
			SourceType: r.key.SourceType, SourceID: r.key.SourceID, InternalEntityType: kind.aggregate, InternalEntityID: r.id,
			ProfileID: row, SourceUpdatedAt: r.st.Version.UpdatedAt, PayloadHash: r.st.Version.PayloadHash,
			MappingVersion: r.st.MappingVersion, DeletedAt: deletedAt, CreatedAt: now, UpdatedAt: now, Snapshot: snap,
			WrittenAt: &now, DeletedSourceUpdatedAt: recEndAt(r.st.DeletedUpTo), DeletedPayloadHash: recEndHash(r.st.DeletedUpTo)})
		if row != nil {
			typ := kind.aggregate
			if typ == events.AggregateCompanyMerge {
				typ = events.AggregateCompany // a second external id of the company it is merged into
			}
			mappings = append(mappings, mappingRow{id: rowkit.MappingID(r.sc, r.key), sc: r.sc, aggregate: typ, entity: *row,
				external: r.key.SourceID, deleted: r.st.Deleted})
		}
		owners = append(owners, r.key)
	}
	if err := insertRows(ctx, tx, nil, nil, nil, records, false); err != nil {
		return app.Result{}, err
	}
	if err := upsertMappings(ctx, tx, mappings, now); err != nil {
		return app.Result{}, err
	}
	if err := s.setWaiting(ctx, tx, owners, out.waiting, now); err != nil {
		return app.Result{}, err
	}
	if err := out.dict.ensure(ctx, tx, s.scopes, now); err != nil {
		return app.Result{}, err
	}
	return countEvents(out.outbox), s.insertOutbox(ctx, tx, out.outbox)
}

// countEvents counts the Mercato events written, so the caller knows to wake the outbox relay.
func countEvents(rows []model.OrosyncOutbox) app.Result {
	var r app.Result
	for _, row := range rows {
		switch {
		case strings.HasSuffix(row.EventType, ".created"):
			r.Created++
		case strings.HasSuffix(row.EventType, ".updated"):
			r.Updated++
		case strings.HasSuffix(row.EventType, ".deleted"):
			r.Deleted++
		}
	}
	return r
}

// loadRecordsSQL: one primary-key probe per key, rows locked in key order (see loadSQL).
const loadRecordsSQL = `
SELECT k.i, r.source_updated_at, r.payload_hash, r.mapping_version, r.deleted, r.deleted_source_updated_at,
       r.deleted_payload_hash, r.snapshot
FROM (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS u(t, o, st, si, i)
      ORDER BY t, o, st, si) k
CROSS JOIN LATERAL (
  SELECT r.source_updated_at, r.payload_hash, r.mapping_version, r.deleted_at IS NOT NULL AS deleted,
         r.deleted_source_updated_at, r.deleted_payload_hash, r.snapshot
  FROM orosync_records r
  WHERE r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
  FOR UPDATE OF r) r`

func loadRecords[T any](ctx context.Context, s *Store, tx pgx.Tx, keys []domain.Key) (map[domain.Key]*domain.RecordStored[T], error) {
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, loadRecordsSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, fmt.Errorf("writer: loading %d records: %w", len(keys), err)
	}
	defer rows.Close()
	stored := make(map[domain.Key]*domain.RecordStored[T], len(keys))
	for rows.Next() {
		var (
			i        int64
			st       domain.RecordStored[T]
			updated  time.Time
			endAt    *time.Time
			endHash  *string
			snapshot []byte
		)
		if err := rows.Scan(&i, &updated, &st.Version.PayloadHash, &st.MappingVersion, &st.Deleted, &endAt, &endHash, &snapshot); err != nil {
			return nil, fmt.Errorf("writer: reading stored record: %w", err)
		}
		k := keys[i-1]
		st.Version.UpdatedAt = updated.UTC()
		if endAt != nil && endHash != nil {
			st.DeletedUpTo = &events.SourceVersion{UpdatedAt: endAt.UTC(), PayloadHash: *endHash}
		}
		if snapshot == nil {
			st.Missing = true
		} else if err := rowkit.OpenJSON(s.ciphers[k.Tenant], snapshot, &st.Value); err != nil {
			return nil, fmt.Errorf("writer: snapshot of %s/%s: %w", k.SourceType, k.SourceID, err)
		}
		stored[k] = &st
	}
	return stored, rows.Err()
}

// mappingRow is one sync_external_id_mappings row of a record aggregate.
type mappingRow struct {
	id        uuid.UUID
	sc        Scope
	aggregate string
	entity    uuid.UUID
	external  string
	deleted   bool
}

const upsertMappingsSQL = `
INSERT INTO sync_external_id_mappings (id, integration_id, internal_entity_type, internal_entity_id, external_id, sync_status,
       last_synced_at, organization_id, tenant_id, created_at, updated_at, deleted_at)
SELECT v.id, 'sync_orocrm', v.typ, v.entity, v.ext, 'synced', $8::timestamptz, v.org, v.ten, $8, $8, CASE WHEN v.deleted THEN $8::timestamptz END
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::boolean[])
     AS v(id, typ, entity, ext, org, ten, deleted)
ORDER BY v.id
ON CONFLICT (id) DO UPDATE SET internal_entity_id = EXCLUDED.internal_entity_id,
       deleted_at = CASE WHEN EXCLUDED.deleted_at IS NULL THEN NULL ELSE coalesce(sync_external_id_mappings.deleted_at, EXCLUDED.deleted_at) END,
       last_synced_at = EXCLUDED.last_synced_at, updated_at = EXCLUDED.updated_at
WHERE (sync_external_id_mappings.internal_entity_id, sync_external_id_mappings.deleted_at IS NOT NULL)
      IS DISTINCT FROM (EXCLUDED.internal_entity_id, EXCLUDED.deleted_at IS NOT NULL)`

// upsertMappings keeps the external ids of record aggregates as Mercato's storeExternalIdMapping does (one live
// row per record, soft-deleted with it); the id is deterministic, so orosync's row is unique.
func upsertMappings(ctx context.Context, tx pgx.Tx, ms []mappingRow, now time.Time) error {
	n := len(ms)
	if n == 0 {
		return nil
	}
	id, entity, org, ten := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	typ, ext, deleted := make([]string, n), make([]string, n), make([]bool, n)
	for i, m := range ms {
		id[i], entity[i], org[i], ten[i] = m.id, m.entity, m.sc.OrganizationID, m.sc.TenantID
		typ[i], ext[i], deleted[i] = m.aggregate, m.external, m.deleted
	}
	if _, err := tx.Exec(ctx, upsertMappingsSQL, rowkit.UUIDs(id), typ, rowkit.UUIDs(entity), ext, rowkit.UUIDs(org), rowkit.UUIDs(ten), deleted, now); err != nil {
		return fmt.Errorf("writer: external ids: %w", err)
	}
	return nil
}

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

// target is what an Oro reference resolved to.
type target struct {
	kind string // person, company, deal
	id   uuid.UUID
}

const resolveRefsSQL = `
SELECT k.i, r.internal_entity_type, r.internal_entity_id, r.profile_id
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si`

// refKey is an Oro reference within a tenant.
type refKey struct {
	tenant string
	events.OroRef
}

// resolveRefs resolves Oro references to the Mercato rows orosync wrote for them. A record known but of no
// resolvable kind (an interaction, a user) is returned in never: waiting for it is pointless.
func (s *Store) resolveRefs(ctx context.Context, tx pgx.Tx, refs []refKey) (found map[refKey]target, never map[refKey]bool, err error) {
	found, never = map[refKey]target{}, map[refKey]bool{}
	if len(refs) == 0 {
		return found, never, nil
	}
	keys := make([]domain.Key, len(refs))
	for i, r := range refs {
		keys[i] = domain.Key{Tenant: r.tenant, SourceType: r.Type, SourceID: r.ID}
	}
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, resolveRefsSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, nil, fmt.Errorf("writer: resolving references: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i       int64
			typ     string
			id      uuid.UUID
			profile *uuid.UUID
		)
		if err := rows.Scan(&i, &typ, &id, &profile); err != nil {
			return nil, nil, fmt.Errorf("writer: resolving references: %w", err)
		}
		r := refs[i-1]
		switch typ {
		case events.AggregatePerson, events.AggregateCompany, events.AggregateDeal:
			if profile != nil {
				found[r] = target{kind: events.AggregateToken(typ), id: id}
			}
		case events.AggregateCompanyMerge:
			if profile != nil {
				found[r] = target{kind: "company", id: *profile}
			}
		default:
			never[r] = true
		}
	}
	return found, never, rows.Err()
}

// dealSnapshotsSQL reads the last applied values of deals (by their Mercato id).
const dealSnapshotsSQL = `
SELECT internal_entity_id, snapshot FROM orosync_records
WHERE internal_entity_type = 'customers.deal' AND internal_entity_id = ANY($1::uuid[]) AND snapshot IS NOT NULL`

// dealEntities gives the customer entity a deal stands for when an interaction or comment targets only the deal
// (entity_id is NOT NULL in Mercato): its first company written, else its first person, in the deal's last
// applied version (not its link rows, which a deleted deal no longer has), so the choice does not depend on the
// order records arrived in. pending lists, per deal, its people and companies not written yet: a record standing
// on the deal waits for them too (a deleted deal no longer waits for them itself).
func (s *Store) dealEntities(ctx context.Context, tx pgx.Tx, tenant map[uuid.UUID]string) (out map[uuid.UUID]uuid.UUID,
	pending map[uuid.UUID][]events.OroRef, err error) {
	out, pending = map[uuid.UUID]uuid.UUID{}, map[uuid.UUID][]events.OroRef{}
	if len(tenant) == 0 {
		return out, pending, nil
	}
	ids := make([]uuid.UUID, 0, len(tenant))
	for id := range tenant {
		ids = append(ids, id)
	}
	rows, err := tx.Query(ctx, dealSnapshotsSQL, rowkit.UUIDs(ids))
	if err != nil {
		return nil, nil, fmt.Errorf("writer: entities of deals: %w", err)
	}
	deals := map[uuid.UUID]events.Deal{}
	var refs []refKey
	for rows.Next() {
		var id uuid.UUID
		var snapshot []byte
		if err := rows.Scan(&id, &snapshot); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("writer: entities of deals: %w", err)
		}
		var d events.Deal
		if err := rowkit.OpenJSON(s.ciphers[tenant[id]], snapshot, &d); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("writer: snapshot of deal %s: %w", id, err)
		}
		deals[id] = d
		for _, r := range append(append([]events.OroRef{}, d.Companies...), d.People...) {
			refs = append(refs, refKey{tenant[id], r})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("writer: entities of deals: %w", err)
	}
	found, never, err := s.resolveRefs(ctx, tx, refs)
	if err != nil {
		return nil, nil, err
	}
	for id, d := range deals {
		for _, group := range []struct {
			refs []events.OroRef
			kind string
		}{{d.Companies, "company"}, {d.People, "person"}} {
			for _, r := range group.refs {
				k := refKey{tenant[id], r}
				t, ok := found[k]
				switch {
				case !ok && !never[k]:
					pending[id] = append(pending[id], r)
				case ok && t.kind == group.kind:
					if _, done := out[id]; !done {
						out[id] = t.id
					}
				}
			}
		}
	}
	return out, pending, nil
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

func (s *Store) resolveWaitingOnce(ctx context.Context, arrived []domain.Key) ([]domain.Key, app.Result, error) {
	var res app.Result
	if found, err := s.anyWaiting(ctx, arrived); err != nil || !found {
		return nil, res, err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return nil, res, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := lockRefs(ctx, tx, arrived); err != nil {
		return nil, res, err
	}
	ts, os, sts, sis := s.keyColumns(arrived)
	rows, err := tx.Query(ctx, takeWaitingSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, res, fmt.Errorf("writer: waiting references: %w", err)
	}
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
			rows.Close()
			return nil, res, fmt.Errorf("writer: waiting references: %w", err)
		}
		tenant, ok := tenantOf[[2]uuid.UUID{t, o}]
		k := domain.Key{Tenant: tenant, SourceType: st, SourceID: si}
		if ok && !seen[k] {
			seen[k] = true
			owners = append(owners, k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, res, fmt.Errorf("writer: waiting references: %w", err)
	}
	if len(owners) == 0 {
		return nil, res, tx.Commit(ctx)
	}
	ts, os, sts, sis = s.keyColumns(owners)
	rows, err = tx.Query(ctx, ownerTypesSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, res, fmt.Errorf("writer: waiting records: %w", err)
	}
	byType := map[string][]domain.Key{}
	for rows.Next() {
		var i int64
		var typ string
		if err := rows.Scan(&i, &typ); err != nil {
			rows.Close()
			return nil, res, fmt.Errorf("writer: waiting records: %w", err)
		}
		byType[typ] = append(byType[typ], owners[i-1])
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, res, fmt.Errorf("writer: waiting records: %w", err)
	}
	var done []domain.Key
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
	if err := tx.Commit(ctx); err != nil {
		return nil, res, fmt.Errorf("writer: commit: %w", err)
	}
	return done, res, nil
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

func recEndAt(v *events.SourceVersion) *time.Time {
	if v == nil {
		return nil
	}
	t := v.UpdatedAt
	return &t
}

func recEndHash(v *events.SourceVersion) *string {
	if v == nil {
		return nil
	}
	h := v.PayloadHash
	return &h
}
