// Package adapters holds the writer's outside world: Mercato's PostgreSQL and JetStream.
package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	pg "github.com/go-jet/jet/v2/postgres"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/table"
	"github.com/orosync/orosync/services/writer/domain"
)

// Scope is the Mercato tenant and organization an orosync connection writes into.
type Scope struct {
	TenantID       uuid.UUID
	OrganizationID uuid.UUID
}

// Store applies batches to Mercato's tables in one transaction each.
type Store struct {
	pool   *pgxpool.Pool
	scopes map[string]Scope
	now    func() time.Time
}

// NewStore needs a pool and the scope of every tenant it may see.
func NewStore(pool *pgxpool.Pool, scopes map[string]Scope, now func() time.Time) (*Store, error) {
	if pool == nil || len(scopes) == 0 {
		return nil, fmt.Errorf("writer store: a pool and at least one tenant scope are required")
	}
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, scopes: scopes, now: now}, nil
}

// Scope of a tenant, if configured.
func (s *Store) Scope(tenant string) (Scope, bool) {
	sc, ok := s.scopes[tenant]
	return sc, ok
}

// ids remembers the Mercato ids of a stored record.
type ids struct{ entity, profile uuid.UUID }

// ApplyBatch loads the stored state of the given records (locking their bookkeeping rows), lets plan decide, and
// persists the outcomes with their outbox events, all in one transaction. It returns the outcomes applied.
func (s *Store) ApplyBatch(ctx context.Context, keys []domain.Key, plan func(map[domain.Key]*domain.Stored) []domain.Outcome) ([]domain.Outcome, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return nil, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	stored, known, err := s.load(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	outcomes := plan(stored)
	if len(outcomes) == 0 {
		return nil, tx.Commit(ctx)
	}
	if err := s.persist(ctx, tx, outcomes, known); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("writer: commit: %w", err)
	}
	return outcomes, nil
}

const loadSQL = `
SELECT k.i, r.internal_entity_id, r.profile_id, r.source_updated_at, r.payload_hash, r.mapping_version,
       r.deleted_at IS NOT NULL, coalesce(e.display_name, ''), e.primary_email, e.primary_phone,
       p.first_name, p.last_name, p.job_title
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
LEFT JOIN customer_entities e ON e.id = r.internal_entity_id
LEFT JOIN customer_people p ON p.entity_id = r.internal_entity_id
ORDER BY r.tenant_id, r.organization_id, r.source_type, r.source_id
FOR UPDATE OF r`

func (s *Store) load(ctx context.Context, tx pgx.Tx, keys []domain.Key) (map[domain.Key]*domain.Stored, map[domain.Key]ids, error) {
	n := len(keys)
	ts, os, sts, sis := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]string, n), make([]string, n)
	for i, k := range keys {
		sc := s.scopes[k.Tenant]
		ts[i], os[i], sts[i], sis[i] = sc.TenantID, sc.OrganizationID, k.SourceType, k.SourceID
	}
	rows, err := tx.Query(ctx, loadSQL, ts, os, sts, sis)
	if err != nil {
		return nil, nil, fmt.Errorf("writer: loading %d records: %w", n, err)
	}
	defer rows.Close()
	stored := make(map[domain.Key]*domain.Stored, n)
	known := make(map[domain.Key]ids, n)
	for rows.Next() {
		var (
			i       int64
			st      domain.Stored
			id      ids
			profile *uuid.UUID
			updated time.Time
		)
		p := &st.Person
		if err := rows.Scan(&i, &id.entity, &profile, &updated, &st.Version.PayloadHash, &st.MappingVersion, &st.Deleted,
			&p.DisplayName, &p.PrimaryEmail, &p.PrimaryPhone, &p.FirstName, &p.LastName, &p.JobTitle); err != nil {
			return nil, nil, fmt.Errorf("writer: reading stored record: %w", err)
		}
		st.Version.UpdatedAt = updated.UTC()
		if profile != nil {
			id.profile = *profile
		}
		k := keys[i-1]
		stored[k], known[k] = &st, id
	}
	return stored, known, rows.Err()
}

func (s *Store) persist(ctx context.Context, tx pgx.Tx, outcomes []domain.Outcome, known map[domain.Key]ids) error {
	now := s.now().UTC()
	var (
		entities []model.CustomerEntities
		people   []model.CustomerPeople
		mappings []model.SyncExternalIDMappings
		records  []model.OrosyncRecords
		outbox   []model.OrosyncOutbox
		upd      updates
	)
	for _, o := range outcomes {
		sc := s.scopes[o.Key.Tenant]
		p := o.After.Person
		var deletedAt *time.Time
		if o.After.Deleted {
			deletedAt = &now
		}
		id, ok := known[o.Key]
		if o.Before == nil || !ok {
			id = ids{entity: uuid.New(), profile: uuid.New()}
			entities = append(entities, model.CustomerEntities{ID: id.entity, OrganizationID: sc.OrganizationID, TenantID: sc.TenantID,
				Kind: "person", DisplayName: p.DisplayName, PrimaryEmail: p.PrimaryEmail, PrimaryPhone: p.PrimaryPhone,
				IsActive: true, CreatedAt: now, UpdatedAt: now, DeletedAt: deletedAt})
			people = append(people, model.CustomerPeople{ID: id.profile, OrganizationID: sc.OrganizationID, TenantID: sc.TenantID,
				FirstName: p.FirstName, LastName: p.LastName, JobTitle: p.JobTitle, CreatedAt: now, UpdatedAt: now, EntityID: id.entity})
			mappings = append(mappings, model.SyncExternalIDMappings{ID: uuid.New(), IntegrationID: events.SyncOrigin,
				InternalEntityType: events.AggregatePerson, InternalEntityID: id.entity, ExternalID: o.Key.SourceID,
				SyncStatus: "synced", LastSyncedAt: &now, OrganizationID: sc.OrganizationID, TenantID: sc.TenantID,
				CreatedAt: now, UpdatedAt: now, DeletedAt: deletedAt})
			profile := id.profile
			records = append(records, model.OrosyncRecords{TenantID: sc.TenantID, OrganizationID: sc.OrganizationID,
				SourceType: o.Key.SourceType, SourceID: o.Key.SourceID, InternalEntityType: events.AggregatePerson,
				InternalEntityID: id.entity, ProfileID: &profile, SourceUpdatedAt: o.After.Version.UpdatedAt,
				PayloadHash: o.After.Version.PayloadHash, MappingVersion: o.After.MappingVersion, DeletedAt: deletedAt,
				CreatedAt: now, UpdatedAt: now})
		} else {
			upd.add(id, o, now)
		}
		for _, evt := range o.Events {
			row, err := outboxRow(o, evt, id, sc)
			if err != nil {
				return err
			}
			outbox = append(outbox, row)
		}
	}
	if len(entities) > 0 {
		if err := execJet(ctx, tx, "inserting people", table.CustomerEntities.INSERT(table.CustomerEntities.AllColumns).MODELS(entities)); err != nil {
			return err
		}
		if err := execJet(ctx, tx, "inserting person profiles", table.CustomerPeople.INSERT(table.CustomerPeople.AllColumns).MODELS(people)); err != nil {
			return err
		}
		if err := execJet(ctx, tx, "inserting external ids", table.SyncExternalIDMappings.INSERT(table.SyncExternalIDMappings.AllColumns).MODELS(mappings)); err != nil {
			return err
		}
		if err := execJet(ctx, tx, "inserting records", table.OrosyncRecords.INSERT(table.OrosyncRecords.AllColumns).MODELS(records)); err != nil {
			return err
		}
	}
	if err := upd.exec(ctx, tx); err != nil {
		return err
	}
	if len(outbox) > 0 {
		o := table.OrosyncOutbox
		stmt := o.INSERT(o.Subject, o.MsgID, o.EventType, o.Headers, o.Payload).MODELS(outbox).ON_CONFLICT(o.MsgID).DO_NOTHING()
		if err := execJet(ctx, tx, "writing outbox", stmt); err != nil {
			return err
		}
	}
	return nil
}

func execJet(ctx context.Context, tx pgx.Tx, what string, stmt pg.Statement) error {
	query, args := stmt.Sql()
	if _, err := tx.Exec(ctx, query, args...); err != nil {
		return fmt.Errorf("writer: %s: %w", what, err)
	}
	return nil
}

// updates collects the rewrites of existing records as columns, applied set-based with unnest: go-jet has no
// unnest-driven UPDATE ... FROM, so these statements are written out; only rows whose values differ are touched,
// so Mercato's updated_at moves only when something changed.
type updates struct {
	now time.Time
	// Mercato rows whose mapped values or deletion changed.
	entity                         []uuid.UUID
	display                        []string
	email, phone, first, last, job []*string
	deleted                        []bool
	// Bookkeeping of every applied outcome.
	recEntity           []uuid.UUID
	recUpdated          []time.Time
	recHash, recMapping []string
	recDeleted          []bool
}

func (u *updates) add(id ids, o domain.Outcome, now time.Time) {
	u.now = now
	if o.Changed {
		p := o.After.Person
		u.entity = append(u.entity, id.entity)
		u.display = append(u.display, p.DisplayName)
		u.email = append(u.email, p.PrimaryEmail)
		u.phone = append(u.phone, p.PrimaryPhone)
		u.first = append(u.first, p.FirstName)
		u.last = append(u.last, p.LastName)
		u.job = append(u.job, p.JobTitle)
		u.deleted = append(u.deleted, o.After.Deleted)
	}
	// Records are addressed by their unique internal entity id.
	u.recEntity = append(u.recEntity, id.entity)
	u.recUpdated = append(u.recUpdated, o.After.Version.UpdatedAt)
	u.recHash = append(u.recHash, o.After.Version.PayloadHash)
	u.recMapping = append(u.recMapping, o.After.MappingVersion)
	u.recDeleted = append(u.recDeleted, o.After.Deleted)
}

const updateEntitiesSQL = `
UPDATE customer_entities e SET display_name = v.display_name, primary_email = v.email, primary_phone = v.phone,
       deleted_at = CASE WHEN v.deleted THEN coalesce(e.deleted_at, $6) ELSE NULL END, updated_at = $6
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::boolean[]) AS v(id, display_name, email, phone, deleted)
WHERE e.id = v.id AND (e.display_name, e.primary_email, e.primary_phone, e.deleted_at IS NOT NULL)
      IS DISTINCT FROM (v.display_name, v.email, v.phone, v.deleted)`

const updatePeopleSQL = `
UPDATE customer_people p SET first_name = v.first, last_name = v.last, job_title = v.job, updated_at = $5
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS v(entity_id, first, last, job)
WHERE p.entity_id = v.entity_id AND (p.first_name, p.last_name, p.job_title) IS DISTINCT FROM (v.first, v.last, v.job)`

const updateMappingsSQL = `
UPDATE sync_external_id_mappings m SET deleted_at = CASE WHEN v.deleted THEN coalesce(m.deleted_at, $3) ELSE NULL END,
       sync_status = 'synced', last_synced_at = $3, updated_at = $3
FROM unnest($1::uuid[], $2::boolean[]) AS v(entity_id, deleted)
WHERE m.integration_id = 'sync_orocrm' AND m.internal_entity_type = 'customers.person' AND m.internal_entity_id = v.entity_id
      AND (m.deleted_at IS NOT NULL) IS DISTINCT FROM v.deleted`

const updateRecordsSQL = `
UPDATE orosync_records r SET source_updated_at = v.updated, payload_hash = v.hash, mapping_version = v.mapping,
       deleted_at = CASE WHEN v.deleted THEN coalesce(r.deleted_at, $6) ELSE NULL END, updated_at = $6
FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::boolean[]) AS v(entity_id, updated, hash, mapping, deleted)
WHERE r.internal_entity_type = 'customers.person' AND r.internal_entity_id = v.entity_id`

func (u *updates) exec(ctx context.Context, tx pgx.Tx) error {
	if len(u.recEntity) == 0 {
		return nil
	}
	if len(u.entity) > 0 {
		if _, err := tx.Exec(ctx, updateEntitiesSQL, u.entity, u.display, u.email, u.phone, u.deleted, u.now); err != nil {
			return fmt.Errorf("writer: updating people: %w", err)
		}
		if _, err := tx.Exec(ctx, updatePeopleSQL, u.entity, u.first, u.last, u.job, u.now); err != nil {
			return fmt.Errorf("writer: updating person profiles: %w", err)
		}
		if _, err := tx.Exec(ctx, updateMappingsSQL, u.entity, u.deleted, u.now); err != nil {
			return fmt.Errorf("writer: updating external ids: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, updateRecordsSQL, u.recEntity, u.recUpdated, u.recHash, u.recMapping, u.recDeleted, u.now); err != nil {
		return fmt.Errorf("writer: updating records: %w", err)
	}
	return nil
}

func outboxRow(o domain.Outcome, action string, id ids, sc Scope) (model.OrosyncOutbox, error) {
	name := "customers.person." + action
	payload := events.CustomerEvent{ID: id.profile.String(), EntityID: id.entity.String(),
		OrganizationID: sc.OrganizationID.String(), TenantID: sc.TenantID.String(), SyncOrigin: events.SyncOrigin}
	subject, err := events.EventSubject(o.Key.Tenant, name, id.entity.String())
	if err != nil {
		return model.OrosyncOutbox{}, err
	}
	v := o.After.Version
	env := events.Envelope{
		ID:     events.ID("evt", name, id.entity.String(), v.UpdatedAt.Format(time.RFC3339Nano), v.PayloadHash, o.After.MappingVersion),
		Source: events.Source(o.Key.Tenant, "writer"), Type: name, Subject: id.entity.String(), Time: time.Now().UTC(),
	}
	body, _ := json.Marshal(payload)
	headers, _ := json.Marshal(env.Headers())
	return model.OrosyncOutbox{Subject: subject, MsgID: env.ID, EventType: name, Headers: string(headers), Payload: string(body)}, nil
}
