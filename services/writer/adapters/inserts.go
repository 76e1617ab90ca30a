package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// The inserts take go-jet's generated models (so column sets follow `make gen`) but send them as one array per
// column through unnest: a batch costs a handful of parameters instead of one per value, and no reflection
// (go-jet's MODELS spent more CPU than PostgreSQL did on a 1,000-contact batch).

const insertEntitiesSQL = `
INSERT INTO customer_entities (id, organization_id, tenant_id, kind, display_name, primary_email, primary_phone, is_active,
       created_at, updated_at, deleted_at, description, source, status)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[],
       $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[], $14::text[])`

const insertPeopleSQL = `
INSERT INTO customer_people (id, organization_id, tenant_id, first_name, last_name, job_title, created_at, updated_at, entity_id,
       company_entity_id, linked_in_url, twitter_url)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
       $8::timestamptz[], $9::uuid[], $10::uuid[], $11::text[], $12::text[])`

const insertMappingsSQL = `
INSERT INTO sync_external_id_mappings (id, integration_id, internal_entity_type, internal_entity_id, external_id, sync_status,
       last_synced_at, organization_id, tenant_id, created_at, updated_at, deleted_at)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[], $8::uuid[],
       $9::uuid[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[])`

// insertRecordsSQL is an upsert: a record known from a tombstone only already has its row. A batch whose records
// are all new to orosync inserts them plainly (an ON CONFLICT insert also logs a confirmation per row).
const insertRecordsSQL = newRecordsSQL + `
ON CONFLICT (tenant_id, organization_id, source_type, source_id) DO UPDATE SET
       profile_id = EXCLUDED.profile_id, source_updated_at = EXCLUDED.source_updated_at, payload_hash = EXCLUDED.payload_hash,
       mapping_version = EXCLUDED.mapping_version, deleted_at = EXCLUDED.deleted_at, updated_at = EXCLUDED.updated_at,
       snapshot = EXCLUDED.snapshot, written_at = EXCLUDED.written_at,
       deleted_source_updated_at = EXCLUDED.deleted_source_updated_at, deleted_payload_hash = EXCLUDED.deleted_payload_hash`

const newRecordsSQL = `
INSERT INTO orosync_records (tenant_id, organization_id, source_type, source_id, internal_entity_type, internal_entity_id,
       profile_id, source_updated_at, payload_hash, mapping_version, deleted_at, created_at, updated_at, snapshot, written_at,
       deleted_source_updated_at, deleted_payload_hash)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::uuid[], $8::timestamptz[],
       $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::json[], $15::timestamptz[],
       $16::timestamptz[], $17::text[])`

// insertRows inserts a batch's new rows: entities, people, external ids and bookkeeping (recordsNew: no record has a
// row yet, so without ON CONFLICT).
func insertRows(ctx context.Context, tx execer, entities []model.CustomerEntities, people []model.CustomerPeople,
	mappings []model.SyncExternalIDMappings, records []model.OrosyncRecords, recordsNew bool) error {
	if err := insertEntities(ctx, tx, entities); err != nil {
		return err
	}
	if err := insertPeople(ctx, tx, people); err != nil {
		return err
	}
	if err := insertMappings(ctx, tx, mappings); err != nil {
		return err
	}
	return insertRecords(ctx, tx, records, recordsNew)
}

func insertEntities(ctx context.Context, tx execer, entities []model.CustomerEntities) error {
	n := len(entities)
	if n == 0 {
		return nil
	}
	var (
		id, org, ten     = make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
		kind, display    = make([]string, n), make([]string, n)
		email, phone     = make([]*string, n), make([]*string, n)
		active           = make([]bool, n)
		created, updated = make([]time.Time, n), make([]time.Time, n)
		deleted          = make([]*time.Time, n)
		desc, src, st    = make([]*string, n), make([]*string, n), make([]*string, n)
	)
	for i, e := range entities {
		id[i], org[i], ten[i], kind[i], display[i], email[i], phone[i] = e.ID, e.OrganizationID, e.TenantID, e.Kind, e.DisplayName, e.PrimaryEmail, e.PrimaryPhone
		active[i], created[i], updated[i], deleted[i] = e.IsActive, e.CreatedAt, e.UpdatedAt, e.DeletedAt
		desc[i], src[i], st[i] = e.Description, e.Source, e.Status
	}
	if _, err := tx.Exec(ctx, insertEntitiesSQL, rowkit.UUIDs(id), rowkit.UUIDs(org), rowkit.UUIDs(ten), rowkit.Texts(kind), rowkit.Texts(display), rowkit.OptTexts(email), rowkit.OptTexts(phone),
		active, rowkit.Times(created), rowkit.Times(updated), rowkit.OptTimes(deleted), rowkit.OptTexts(desc), rowkit.OptTexts(src),
		rowkit.OptTexts(st)); err != nil {
		return fmt.Errorf("writer: inserting people: %w", err)
	}
	return nil
}

func insertPeople(ctx context.Context, tx execer, people []model.CustomerPeople) error {
	n := len(people)
	if n == 0 {
		return nil
	}
	var (
		id, org, ten, entity = make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
		first, last, job     = make([]*string, n), make([]*string, n), make([]*string, n)
		created, updated     = make([]time.Time, n), make([]time.Time, n)
		company              = make([]*uuid.UUID, n)
		linkedIn, twitter    = make([]*string, n), make([]*string, n)
	)
	for i, p := range people {
		id[i], org[i], ten[i], entity[i], first[i], last[i], job[i] = p.ID, p.OrganizationID, p.TenantID, p.EntityID, p.FirstName, p.LastName, p.JobTitle
		created[i], updated[i], company[i], linkedIn[i], twitter[i] = p.CreatedAt, p.UpdatedAt, p.CompanyEntityID, p.LinkedInURL, p.TwitterURL
	}
	if _, err := tx.Exec(ctx, insertPeopleSQL, rowkit.UUIDs(id), rowkit.UUIDs(org), rowkit.UUIDs(ten), rowkit.OptTexts(first), rowkit.OptTexts(last), rowkit.OptTexts(job),
		rowkit.Times(created), rowkit.Times(updated), rowkit.UUIDs(entity), rowkit.OptUUIDs(company), rowkit.OptTexts(linkedIn),
		rowkit.OptTexts(twitter)); err != nil {
		return fmt.Errorf("writer: inserting person profiles: %w", err)
	}
	return nil
}

func insertMappings(ctx context.Context, tx execer, mappings []model.SyncExternalIDMappings) error {
	n := len(mappings)
	if n == 0 {
		return nil
	}
	var (
		id, internal, org, ten  = make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
		integ, typ, ext, status = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		synced, deleted         = make([]*time.Time, n), make([]*time.Time, n)
		created, updated        = make([]time.Time, n), make([]time.Time, n)
	)
	for i, m := range mappings {
		id[i], internal[i], org[i], ten[i] = m.ID, m.InternalEntityID, m.OrganizationID, m.TenantID
		integ[i], typ[i], ext[i], status[i] = m.IntegrationID, m.InternalEntityType, m.ExternalID, m.SyncStatus
		synced[i], deleted[i], created[i], updated[i] = m.LastSyncedAt, m.DeletedAt, m.CreatedAt, m.UpdatedAt
	}
	if _, err := tx.Exec(ctx, insertMappingsSQL, rowkit.UUIDs(id), rowkit.Texts(integ), rowkit.Texts(typ), rowkit.UUIDs(internal), rowkit.Texts(ext), rowkit.Texts(status),
		rowkit.OptTimes(synced), rowkit.UUIDs(org), rowkit.UUIDs(ten), rowkit.Times(created), rowkit.Times(updated), rowkit.OptTimes(deleted)); err != nil {
		return fmt.Errorf("writer: inserting external ids: %w", err)
	}
	return nil
}

func insertRecords(ctx context.Context, tx execer, records []model.OrosyncRecords, recordsNew bool) error {
	n := len(records)
	if n == 0 {
		return nil
	}
	var (
		ten, org, internal         = make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
		profile                    = make([]*uuid.UUID, n)
		st, si, typ, hash, mapping = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		srcAt, created, updated    = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		deleted, written, endAt    = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		snapshot, endHash          = make([]*string, n), make([]*string, n)
	)
	for i, r := range records {
		ten[i], org[i], internal[i], profile[i] = r.TenantID, r.OrganizationID, r.InternalEntityID, r.ProfileID
		st[i], si[i], typ[i], hash[i], mapping[i] = r.SourceType, r.SourceID, r.InternalEntityType, r.PayloadHash, r.MappingVersion
		srcAt[i], created[i], updated[i] = r.SourceUpdatedAt, r.CreatedAt, r.UpdatedAt
		deleted[i], written[i], endAt[i], snapshot[i], endHash[i] = r.DeletedAt, r.WrittenAt, r.DeletedSourceUpdatedAt, r.Snapshot, r.DeletedPayloadHash
	}
	sql := insertRecordsSQL
	if recordsNew {
		sql = newRecordsSQL
	}
	if _, err := tx.Exec(ctx, sql, rowkit.UUIDs(ten), rowkit.UUIDs(org), rowkit.Texts(st), rowkit.Texts(si), rowkit.Texts(typ), rowkit.UUIDs(internal), rowkit.OptUUIDs(profile),
		rowkit.Times(srcAt), rowkit.Texts(hash), rowkit.Texts(mapping), rowkit.OptTimes(deleted), rowkit.Times(created), rowkit.Times(updated), snapshot,
		rowkit.OptTimes(written), rowkit.OptTimes(endAt), rowkit.OptTexts(endHash)); err != nil {
		return fmt.Errorf("writer: inserting records: %w", err)
	}
	return nil
}
