package adapters

import (
	"context"
	"fmt"
	"sort"
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
	// steps are the states this batch's versions led through, in order (none for a relink).
	steps []domain.RecordStored[T]
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
	// owners are the Mercato user columns of its rows (nil: none).
	owners *recordOwners[T]
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
	tx, err := s.begin(ctx)
	if err != nil {
		return app.Result{}, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	keys := domain.KeysOf(changes)
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
		rs[i] = recState[T]{key: o.Key, sc: sc, id: newIDs(sc, o.Key).entity, st: o.After, steps: o.Steps}
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
	if err := reconcileRecordOwners(ctx, s, tx, kind, rs, out, now); err != nil {
		return app.Result{}, err
	}
	if err := reconcileCustomFields(ctx, s, tx, kind.aggregate, rs, out, now); err != nil {
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
			WrittenAt: &now, DeletedSourceUpdatedAt: endAt(r.st.DeletedUpTo), DeletedPayloadHash: endHash(r.st.DeletedUpTo)})
		// A merged record is no external id of the company it fills: Mercato keeps one live mapping per local record
		// (data_sync/lib/id-mapping.ts storeExternalIdMapping), the account's.
		if row != nil && kind.aggregate != events.AggregateCompanyMerge {
			mappings = append(mappings, mappingRow{id: rowkit.MappingID(r.sc, r.key), sc: r.sc, aggregate: kind.aggregate, entity: *row,
				external: rowkit.ExternalID(r.key), deleted: r.st.Deleted})
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
