package adapters

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// People and companies share the tail of their write path: the bookkeeping and external ids of their records, the
// dictionary values, addresses and custom fields of their profiles, their conflicts, and the outbox. Each path adds
// its own rows (people.go, companies.go) to a profileWrites and ends with writeTail.

// profileWrites collects what a batch of person or company outcomes writes besides their own Mercato rows.
type profileWrites struct {
	aggregate string
	now       time.Time
	n         int // outcomes in the batch: room is made for as many rows at the first
	mappings  []model.SyncExternalIDMappings
	records   []model.OrosyncRecords
	rewrites  recordRewrites
	outbox    []model.OrosyncOutbox
	dict      dictionary
	addrs     []addressSync
	cfs       []cfRecord
	cascade   cascade
}

func newProfileWrites(aggregate string, now time.Time, n int) *profileWrites {
	return &profileWrites{aggregate: aggregate, now: now, n: n, dict: dictionary{}}
}

// bookkeeping is a record's orosync_records state after a batch.
type bookkeeping struct {
	key              domain.Key
	sc               Scope
	entity, profile  uuid.UUID
	missing, deleted bool
	// changed: Mercato's rows were written (written_at moves).
	changed  bool
	version  events.SourceVersion
	mapping  string
	upTo     *events.SourceVersion
	snapshot *string
}

// deletedAt is the deleted_at of rows written deleted (nil: live); rows share the one time of the batch.
func (w *profileWrites) deletedAt(deleted bool) *time.Time {
	if !deleted {
		return nil
	}
	return &w.now
}

// newRecord adds the bookkeeping row of a record new to orosync (or known from a tombstone only) and, once it has
// Mercato rows, its external id.
func (w *profileWrites) newRecord(b bookkeeping) {
	now, deletedAt := &w.now, w.deletedAt(b.deleted)
	var profile *uuid.UUID
	if !b.missing {
		w.mappings = rowkit.AppendSized(w.mappings, w.n, model.SyncExternalIDMappings{ID: rowkit.MappingID(b.sc, b.key),
			IntegrationID: events.SyncOrigin, InternalEntityType: w.aggregate, InternalEntityID: b.entity, ExternalID: rowkit.ExternalID(b.key),
			SyncStatus: "synced", LastSyncedAt: now, OrganizationID: b.sc.OrganizationID, TenantID: b.sc.TenantID,
			CreatedAt: *now, UpdatedAt: *now, DeletedAt: deletedAt})
		p := b.profile
		profile = &p
	}
	w.records = rowkit.AppendSized(w.records, w.n, model.OrosyncRecords{TenantID: b.sc.TenantID, OrganizationID: b.sc.OrganizationID,
		SourceType: b.key.SourceType, SourceID: b.key.SourceID, InternalEntityType: w.aggregate, InternalEntityID: b.entity,
		ProfileID: profile, SourceUpdatedAt: b.version.UpdatedAt, PayloadHash: b.version.PayloadHash, MappingVersion: b.mapping,
		DeletedAt: deletedAt, CreatedAt: *now, UpdatedAt: *now, Snapshot: b.snapshot, WrittenAt: now,
		DeletedSourceUpdatedAt: endAt(b.upTo), DeletedPayloadHash: endHash(b.upTo)})
}

// keepAddresses brings a person's or company's addresses in line with its last version (prev: those orosync wrote
// for the version before); silent when the version deletes or brings back the entity.
func (w *profileWrites) keepAddresses(k domain.Key, entity uuid.UUID, want, prev []events.Address, v events.SourceVersion, mapping string,
	silent bool) {
	w.addrs = rowkit.AppendSized(w.addrs, w.n, addressSync{tenant: k.Tenant, person: entity, want: want, prev: prev, version: v,
		mapping: mapping, silent: silent})
}

// keepCustomFields brings the custom fields of a profile row (id.profile) in line with Oro's values of the version applied
// (next), compared with those last synced (prev, when hasPrev).
func (w *profileWrites) keepCustomFields(k domain.Key, sc Scope, id ids, announced bool, v events.SourceVersion,
	mapping string, next, prev map[string]any, hasPrev bool) {
	if cf := profileCustomFields(w.aggregate, k, sc, id, announced, v, mapping, next, prev, hasPrev); cf != nil {
		w.cfs = append(w.cfs, *cf)
	}
}

// queueConflicts opens (or refreshes) the review-queue entries of a record; newly opened ones are announced.
func (s *Store) queueConflicts(ctx context.Context, tx pgx.Tx, w *profileWrites, k domain.Key, entity *uuid.UUID,
	conflicts []domain.Conflict) error {
	for _, cf := range conflicts {
		row, err := s.queueConflict(ctx, tx, k, s.scopes[k.Tenant], s.ciphers[k.Tenant], entity, cf, w.now)
		if err != nil {
			return err
		}
		if row != nil {
			w.outbox = append(w.outbox, *row)
		}
	}
	return nil
}

// writeTail writes the addresses and custom fields collected, then the outbox: the records' own events, then
// linked (their company links' events), then those of custom fields and addresses.
func (s *Store) writeTail(ctx context.Context, tx pgx.Tx, w *profileWrites, linked []model.OrosyncOutbox) error {
	addressed, err := s.syncAddresses(ctx, tx, w.addrs, w.now)
	if err != nil {
		return err
	}
	target, _ := customFieldsOf(w.aggregate)
	customized, err := s.syncCustomFields(ctx, tx, target, w.cfs, w.now)
	if err != nil {
		return err
	}
	outbox := w.outbox
	if extra := len(linked) + len(customized) + len(addressed); extra > cap(outbox)-len(outbox) {
		outbox = append(make([]model.OrosyncOutbox, 0, len(outbox)+extra), outbox...)
	}
	return s.insertOutbox(ctx, tx, append(append(append(outbox, linked...), customized...), addressed...))
}

// recordRewrites are the new states of known records' bookkeeping rows, as columns.
type recordRewrites struct {
	tenant, org      []uuid.UUID
	sourceType, id   []string
	entity           []uuid.UUID
	updated          []time.Time
	hash, mapping    []string
	snaps            []*string
	deleted, changed []bool
	endAt            []*time.Time
	endHash          []*string
}

// rewriteRecord adds the new state of a known record's bookkeeping row, addressed by its key.
func (w *profileWrites) rewriteRecord(b bookkeeping) {
	r, n := &w.rewrites, w.n
	r.tenant, r.org = rowkit.AppendSized(r.tenant, n, b.sc.TenantID), rowkit.AppendSized(r.org, n, b.sc.OrganizationID)
	r.sourceType, r.id = rowkit.AppendSized(r.sourceType, n, b.key.SourceType), rowkit.AppendSized(r.id, n, b.key.SourceID)
	r.entity, r.updated = rowkit.AppendSized(r.entity, n, b.entity), rowkit.AppendSized(r.updated, n, b.version.UpdatedAt)
	r.hash, r.mapping = rowkit.AppendSized(r.hash, n, b.version.PayloadHash), rowkit.AppendSized(r.mapping, n, b.mapping)
	r.deleted, r.snaps = rowkit.AppendSized(r.deleted, n, b.deleted), rowkit.AppendSized(r.snaps, n, b.snapshot)
	r.changed = rowkit.AppendSized(r.changed, n, b.changed)
	r.endAt, r.endHash = rowkit.AppendSized(r.endAt, n, endAt(b.upTo)), rowkit.AppendSized(r.endHash, n, endHash(b.upTo))
}

// updateRecordsSQL rewrites records found by their primary key (and still the Mercato row they were). Every
// condition is a join on the unnested rows, so the planner probes the key per row or, knowingly, scans a small
// table; a constant condition on the type let it read every record of the type when it had no statistics.
const updateRecordsSQL = `
UPDATE orosync_records r SET source_updated_at = v.updated, payload_hash = v.hash, mapping_version = v.mapping,
       deleted_at = CASE WHEN v.deleted THEN coalesce(r.deleted_at, $14) ELSE NULL END, updated_at = $14,
       snapshot = v.snapshot, written_at = CASE WHEN v.changed THEN $14 ELSE r.written_at END,
       deleted_source_updated_at = v.end_at, deleted_payload_hash = v.end_hash
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::timestamptz[], $7::text[], $8::text[],
            $9::boolean[], $10::json[], $11::boolean[], $12::timestamptz[], $13::text[], $15::text[])
     AS v(t, o, st, si, entity_id, updated, hash, mapping, deleted, snapshot, changed, end_at, end_hash, type)
WHERE r.tenant_id = v.t AND r.organization_id = v.o AND r.source_type = v.st AND r.source_id = v.si
  AND r.internal_entity_id = v.entity_id AND r.internal_entity_type = v.type`

func (r *recordRewrites) exec(ctx context.Context, tx execer, aggregate string, now time.Time) error {
	if len(r.entity) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, updateRecordsSQL, rowkit.UUIDs(r.tenant), rowkit.UUIDs(r.org), rowkit.Texts(r.sourceType),
		rowkit.Texts(r.id), rowkit.UUIDs(r.entity), rowkit.Times(r.updated), rowkit.Texts(r.hash), rowkit.Texts(r.mapping),
		r.deleted, r.snaps, r.changed, rowkit.OptTimes(r.endAt), rowkit.OptTexts(r.endHash), now,
		rowkit.Texts(slices.Repeat([]string{aggregate}, len(r.entity)))); err != nil {
		return fmt.Errorf("writer: updating %s records: %w", aggregate, err)
	}
	return nil
}
