package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

// ApplyBatch loads the stored state of the given records (locking their bookkeeping rows) and the email
// candidates of new ones, lets plan decide, and persists the outcomes with their outbox events and conflicts, all
// in one transaction. It returns the outcomes applied.
func (s *Store) ApplyBatch(ctx context.Context, lookup app.Lookup, plan func(domain.State) []domain.Outcome) ([]domain.Outcome, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return nil, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	stored, known, err := s.load(ctx, tx, lookup.Keys)
	if err != nil {
		return nil, err
	}
	state := domain.State{Records: stored}
	if s.MatchEmails {
		if state.Candidates, err = s.candidates(ctx, tx, lookup, stored); err != nil {
			return nil, err
		}
	}
	outcomes := plan(state)
	if len(outcomes) == 0 {
		return nil, tx.Commit(ctx)
	}
	if err := s.persist(ctx, tx, outcomes, known, ""); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("writer: commit: %w", err)
	}
	return outcomes, nil
}

// loadSQL looks each key up in orosync_records' primary key (a LATERAL subquery: one index probe per key, whatever
// the table's size and statistics; a join let the planner hash the whole table, 10 ms per 1,000-key batch at 20,000
// records and growing with it) and locks the rows in key order (the keys are sorted first), so concurrent batches
// cannot deadlock on them.
const loadSQL = `
SELECT k.i, r.internal_entity_id, r.profile_id, r.source_updated_at, r.payload_hash, r.mapping_version,
       r.deleted, r.display_name, r.primary_email, r.primary_phone, r.first_name, r.last_name, r.job_title, r.snapshot,
       r.local_at, r.deleted_source_updated_at, r.deleted_payload_hash, r.has_profile, r.company_entity_id
FROM (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS u(t, o, st, si, i)
      ORDER BY t, o, st, si) k
CROSS JOIN LATERAL (
  SELECT r.internal_entity_id, r.profile_id, r.source_updated_at, r.payload_hash, r.mapping_version,
         r.deleted_at IS NOT NULL AS deleted, coalesce(e.display_name, '') AS display_name, e.primary_email, e.primary_phone,
         p.first_name, p.last_name, p.job_title, r.snapshot, coalesce(e.updated_at, r.updated_at) AS local_at,
         r.deleted_source_updated_at, r.deleted_payload_hash, p.id IS NOT NULL AS has_profile, p.company_entity_id
  FROM orosync_records r
  LEFT JOIN customer_entities e ON e.id = r.internal_entity_id
  LEFT JOIN customer_people p ON p.entity_id = r.internal_entity_id
  WHERE r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
  FOR UPDATE OF r) r`

func (s *Store) load(ctx context.Context, tx pgx.Tx, keys []domain.Key) (map[domain.Key]*domain.Stored, map[domain.Key]ids, error) {
	n := len(keys)
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, loadSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, nil, fmt.Errorf("writer: loading %d records: %w", n, err)
	}
	defer rows.Close()
	stored := make(map[domain.Key]*domain.Stored, n)
	known := make(map[domain.Key]ids, n)
	// The scan targets live across rows (each one taken by address per row was an allocation); the snapshot is
	// read from the driver's buffer, decoded before the next row.
	var (
		i                int64
		entity           uuid.UUID
		profile          pgtype.UUID
		updated, localAt time.Time
		snapshot         pgtype.DriverBytes
		endAt            *time.Time
		endHash          *string
		company          pgtype.UUID
		companyLoaded    bool
	)
	for rows.Next() {
		row := &struct {
			st   domain.Stored
			base events.Person
		}{}
		st, p := &row.st, &row.st.Person
		entity = uuid.UUID{}
		if err := rows.Scan(&i, rowkit.ScanUUID(&entity), &profile, &updated, &st.Version.PayloadHash, &st.MappingVersion, &st.Deleted,
			&p.DisplayName, &p.PrimaryEmail, &p.PrimaryPhone, &p.FirstName, &p.LastName, &p.JobTitle, &snapshot, &localAt, &endAt, &endHash,
			&companyLoaded, &company); err != nil {
			return nil, nil, fmt.Errorf("writer: reading stored record: %w", err)
		}
		k := keys[i-1]
		c := s.ciphers[k.Tenant]
		decryptPerson(c, p)
		if snapshot != nil {
			if err := rowkit.OpenJSON(c, snapshot, &row.base); err != nil {
				return nil, nil, fmt.Errorf("writer: snapshot of %s/%s: %w", k.SourceType, k.SourceID, err)
			}
			st.Base = &row.base
		}
		st.Version.UpdatedAt = updated.UTC()
		if endAt != nil && endHash != nil {
			st.DeletedUpTo = &events.SourceVersion{UpdatedAt: endAt.UTC(), PayloadHash: *endHash}
		}
		st.LocalUpdatedAt = localAt.UTC()
		id := ids{entity: entity, companyLoaded: companyLoaded}
		if company.Valid {
			id.company = company.Bytes
		}
		if profile.Valid {
			id.profile = profile.Bytes
		} else {
			st.Missing = true // known from a tombstone only
		}
		stored[k], known[k] = st, id
	}
	return stored, known, rows.Err()
}

func decryptPerson(c *rowkit.Cipher, p *events.Person) {
	if c == nil {
		return
	}
	p.DisplayName = c.Decrypt(p.DisplayName)
	p.PrimaryEmail, p.PrimaryPhone = c.DecPtr(p.PrimaryEmail), c.DecPtr(p.PrimaryPhone)
	p.FirstName, p.LastName, p.JobTitle = c.DecPtr(p.FirstName), c.DecPtr(p.LastName), c.DecPtr(p.JobTitle)
}

// persist writes outcomes; salt distinguishes the event ids of a second write of the same source version (a
// conflict resolution) from the first.
func (s *Store) persist(ctx context.Context, tx pgx.Tx, outcomes []domain.Outcome, known map[domain.Key]ids, salt string) error {
	now := s.now().UTC()
	var (
		entities []model.CustomerEntities
		people   []model.CustomerPeople
		mappings []model.SyncExternalIDMappings
		records  []model.OrosyncRecords
		outbox   []model.OrosyncOutbox
		upd      = updates{now: now, n: len(outcomes)}
		dict     = dictionary{}
		links    []linkSync
		addrs    []addressSync
		cfs      []cfRecord
		// recordsNew: no record of the batch has a row yet (none known from a tombstone only), so the records
		// are inserted without ON CONFLICT.
		recordsNew = true
	)
	for _, o := range outcomes {
		sc := s.scopes[o.Key.Tenant]
		c := s.ciphers[o.Key.Tenant]
		id, ok := known[o.Key]
		if !o.Applied {
			ok = ok && o.Before != nil
		} else {
			p := o.After.Person
			var deletedAt *time.Time
			if o.After.Deleted {
				deletedAt = &now
			}
			var snapshot *string
			baseJSON := []byte("null") // of o.After.Base, compared below
			if o.After.Base != nil {
				plain, err := rowkit.MarshalJSON(o.After.Base)
				if err != nil {
					return fmt.Errorf("writer: encoding: %w", err)
				}
				sealed := rowkit.Seal(c, plain)
				snapshot, baseJSON = &sealed, plain
			}
			if o.Changed && !o.After.Deleted {
				dict.add(o.Key.Tenant, "job_title", o.After.Person.JobTitle)
			}
			if o.Before == nil || !ok || o.Before.Missing {
				recordsNew = recordsNew && o.Before == nil
				id = newIDs(sc, o.Key)
				switch {
				case o.After.Missing:
					// Only the bookkeeping row, below.
				case o.Link != nil:
					id.entity, _ = uuid.Parse(o.Link.EntityID)
					id.profile, _ = uuid.Parse(o.Link.ProfileID)
					upd.addMercato(id, rowkit.MappingID(sc, o.Key), o, c)
				default:
					entities = rowkit.AppendSized(entities, len(outcomes), model.CustomerEntities{ID: id.entity, OrganizationID: sc.OrganizationID, TenantID: sc.TenantID,
						Kind: "person", DisplayName: c.Enc(p.DisplayName), PrimaryEmail: c.EncPtr(p.PrimaryEmail), PrimaryPhone: c.EncPtr(p.PrimaryPhone),
						IsActive: true, CreatedAt: now, UpdatedAt: now, DeletedAt: deletedAt})
					people = rowkit.AppendSized(people, len(outcomes), model.CustomerPeople{ID: id.profile, OrganizationID: sc.OrganizationID, TenantID: sc.TenantID,
						FirstName: c.EncPtr(p.FirstName), LastName: c.EncPtr(p.LastName), JobTitle: c.EncPtr(p.JobTitle),
						CreatedAt: now, UpdatedAt: now, EntityID: id.entity})
				}
				var profile *uuid.UUID
				if !o.After.Missing {
					mappings = rowkit.AppendSized(mappings, len(outcomes), model.SyncExternalIDMappings{ID: rowkit.MappingID(sc, o.Key), IntegrationID: events.SyncOrigin,
						InternalEntityType: events.AggregatePerson, InternalEntityID: id.entity, ExternalID: o.Key.SourceID,
						SyncStatus: "synced", LastSyncedAt: &now, OrganizationID: sc.OrganizationID, TenantID: sc.TenantID,
						CreatedAt: now, UpdatedAt: now, DeletedAt: deletedAt})
					p := id.profile
					profile = &p
				}
				records = rowkit.AppendSized(records, len(outcomes), model.OrosyncRecords{TenantID: sc.TenantID, OrganizationID: sc.OrganizationID,
					SourceType: o.Key.SourceType, SourceID: o.Key.SourceID, InternalEntityType: events.AggregatePerson,
					InternalEntityID: id.entity, ProfileID: profile, SourceUpdatedAt: o.After.Version.UpdatedAt,
					PayloadHash: o.After.Version.PayloadHash, MappingVersion: o.After.MappingVersion, DeletedAt: deletedAt,
					CreatedAt: now, UpdatedAt: now, Snapshot: snapshot, WrittenAt: &now,
					DeletedSourceUpdatedAt: endAt(o.After.DeletedUpTo), DeletedPayloadHash: endHash(o.After.DeletedUpTo)})
			} else {
				if o.Changed {
					upd.addMercato(id, rowkit.MappingID(sc, o.Key), o, c)
				}
				if o.Changed || !sameBookkeepingJSON(o.Before.Version, o.After.Version, o.Before.Deleted, o.After.Deleted,
					o.Before.DeletedUpTo, o.After.DeletedUpTo, o.Before.Base, baseJSON) {
					upd.addRecord(id, o, snapshot)
				}
			}
			for _, evt := range o.Events {
				row, err := rowkit.CustomerEventRow(o.Key.Tenant, personEvent(evt), sc, id.entity, id.profile, o.After.Version, o.After.MappingVersion, salt)
				if err != nil {
					return err
				}
				outbox = rowkit.AppendSized(outbox, len(outcomes), row)
			}
			if o.SyncLinks && !o.After.Missing {
				links = rowkit.AppendSized(links, len(outcomes), linkSync{tenant: o.Key.Tenant, person: id.entity, company: id.company, companyLoaded: id.companyLoaded, links: o.Links, version: o.After.Version,
					mapping: o.After.MappingVersion})
				as := addressSync{tenant: o.Key.Tenant, person: id.entity, want: o.Addresses, version: o.After.Version,
					mapping: o.After.MappingVersion}
				if o.Before != nil && o.Before.Base != nil {
					as.prev = o.Before.Base.Addresses
				}
				addrs = rowkit.AppendSized(addrs, len(outcomes), as)
				if cf := personCustomFields(o, id, sc); cf != nil {
					cfs = append(cfs, *cf)
				}
			}
		}
		for _, cf := range o.Conflicts {
			var entity *uuid.UUID
			if ok {
				e := id.entity
				entity = &e
			}
			row, err := s.queueConflict(ctx, tx, o.Key, sc, c, entity, cf, now)
			if err != nil {
				return err
			}
			if row != nil {
				outbox = append(outbox, *row)
			}
		}
	}
	fresh := make(map[uuid.UUID]bool, len(entities))
	for _, e := range entities {
		fresh[e.ID] = true
	}
	lp, err := s.planLinks(ctx, tx, links, fresh)
	if err != nil {
		return err
	}
	for i := range people {
		if c, ok := lp.primary[people[i].EntityID]; ok {
			people[i].CompanyEntityID = &c
		}
	}
	// The writes up to the links' go in one round trip (lp.exec sends them).
	p := &pipeline{}
	if err := insertRows(ctx, p, entities, people, mappings, records, recordsNew); err != nil {
		return err
	}
	if err := upd.exec(ctx, p); err != nil {
		return err
	}
	if err := dict.ensure(ctx, p, s.scopes, now); err != nil {
		return err
	}
	linked, err := lp.exec(ctx, tx, p, now)
	if err != nil {
		return err
	}
	addressed, err := s.syncAddresses(ctx, tx, addrs, now)
	if err != nil {
		return err
	}
	target, _ := customFieldsOf(events.AggregatePerson)
	customized, err := syncCustomFields(ctx, tx, target, cfs, now)
	if err != nil {
		return err
	}
	linked = append(linked, customized...)
	if extra := len(linked) + len(addressed); extra > cap(outbox)-len(outbox) {
		outbox = append(make([]model.OrosyncOutbox, 0, len(outbox)+extra), outbox...)
	}
	return s.insertOutbox(ctx, tx, append(append(outbox, linked...), addressed...))
}

// updates collects the rewrites of existing records as columns, applied set-based with unnest: go-jet has no
// unnest-driven UPDATE ... FROM, so these statements are written out; only rows whose values differ are touched,
// so Mercato's updated_at moves only when something changed. Each also restricts the table to the batch's keys
// (key = ANY(ids)): joined to the unnest alone, the planner hashed the whole table (at 20,000 people, 13 ms for a
// statement that updated nothing); so it scans the table with a hashed filter, or probes the index once the table
// is large. (With encryption every rewritten value differs, so
// the decision is made on decrypted values in domain.Plan: only outcomes with Changed reach these rows.)
type updates struct {
	now time.Time
	n   int // the outcomes of the batch: room for as many rows is made at the first row
	// Mercato rows whose mapped values or deletion changed.
	entity, mapping                []uuid.UUID
	display                        []string
	email, phone, first, last, job []*string
	deleted                        []bool
	// Bookkeeping of every applied outcome.
	recEntity              []uuid.UUID
	recUpdated             []time.Time
	recHash, recMapping    []string
	recSnaps               []*string
	recDeleted, recChanged []bool
	recEndAt               []*time.Time
	recEndHash             []*string
}

func (u *updates) addMercato(id ids, mapping uuid.UUID, o domain.Outcome, c *rowkit.Cipher) {
	if u.entity == nil {
		n := u.n
		u.entity, u.mapping, u.display, u.deleted = make([]uuid.UUID, 0, n), make([]uuid.UUID, 0, n), make([]string, 0, n), make([]bool, 0, n)
		u.email, u.phone, u.first, u.last, u.job = make([]*string, 0, n), make([]*string, 0, n), make([]*string, 0, n), make([]*string, 0, n),
			make([]*string, 0, n)
	}
	p := o.After.Person
	u.entity, u.mapping = append(u.entity, id.entity), append(u.mapping, mapping)
	u.display = append(u.display, c.Enc(p.DisplayName))
	u.email = append(u.email, c.EncPtr(p.PrimaryEmail))
	u.phone = append(u.phone, c.EncPtr(p.PrimaryPhone))
	u.first = append(u.first, c.EncPtr(p.FirstName))
	u.last = append(u.last, c.EncPtr(p.LastName))
	u.job = append(u.job, c.EncPtr(p.JobTitle))
	u.deleted = append(u.deleted, o.After.Deleted)
}

// addRecord: records are addressed by their unique internal entity id.
func (u *updates) addRecord(id ids, o domain.Outcome, snapshot *string) {
	if u.recEntity == nil {
		n := u.n
		u.recEntity, u.recUpdated, u.recHash, u.recMapping = make([]uuid.UUID, 0, n), make([]time.Time, 0, n), make([]string, 0, n), make([]string, 0, n)
		u.recSnaps, u.recDeleted, u.recChanged = make([]*string, 0, n), make([]bool, 0, n), make([]bool, 0, n)
		u.recEndAt, u.recEndHash = make([]*time.Time, 0, n), make([]*string, 0, n)
	}
	u.recEntity = append(u.recEntity, id.entity)
	u.recUpdated = append(u.recUpdated, o.After.Version.UpdatedAt)
	u.recHash = append(u.recHash, o.After.Version.PayloadHash)
	u.recMapping = append(u.recMapping, o.After.MappingVersion)
	u.recDeleted = append(u.recDeleted, o.After.Deleted)
	u.recSnaps = append(u.recSnaps, snapshot)
	u.recChanged = append(u.recChanged, o.Changed)
	u.recEndAt = append(u.recEndAt, endAt(o.After.DeletedUpTo))
	u.recEndHash = append(u.recEndHash, endHash(o.After.DeletedUpTo))
}

const updateEntitiesSQL = `
UPDATE customer_entities e SET display_name = v.display_name, primary_email = v.email, primary_phone = v.phone,
       deleted_at = CASE WHEN v.deleted THEN coalesce(e.deleted_at, $6) ELSE NULL END, updated_at = $6
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::boolean[]) AS v(id, display_name, email, phone, deleted)
WHERE e.id = ANY($1::uuid[]) AND e.id = v.id AND (e.display_name, e.primary_email, e.primary_phone, e.deleted_at IS NOT NULL)
      IS DISTINCT FROM (v.display_name, v.email, v.phone, v.deleted)`

const updatePeopleSQL = `
UPDATE customer_people p SET first_name = v.first, last_name = v.last, job_title = v.job, updated_at = $5
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS v(entity_id, first, last, job)
WHERE p.entity_id = ANY($1::uuid[]) AND p.entity_id = v.entity_id
      AND (p.first_name, p.last_name, p.job_title) IS DISTINCT FROM (v.first, v.last, v.job)`

const updateMappingsSQL = `
UPDATE sync_external_id_mappings m SET deleted_at = CASE WHEN v.deleted THEN coalesce(m.deleted_at, $3) ELSE NULL END,
       sync_status = 'synced', last_synced_at = $3, updated_at = $3
FROM unnest($1::uuid[], $2::boolean[]) AS v(id, deleted)
WHERE m.id = ANY($1::uuid[]) AND m.id = v.id AND (m.deleted_at IS NOT NULL) IS DISTINCT FROM v.deleted`

const updateRecordsSQL = `
UPDATE orosync_records r SET source_updated_at = v.updated, payload_hash = v.hash, mapping_version = v.mapping,
       deleted_at = CASE WHEN v.deleted THEN coalesce(r.deleted_at, $10) ELSE NULL END, updated_at = $10,
       snapshot = v.snapshot, written_at = CASE WHEN v.changed THEN $10 ELSE r.written_at END,
       deleted_source_updated_at = v.end_at, deleted_payload_hash = v.end_hash
FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::boolean[], $6::json[], $7::boolean[],
            $8::timestamptz[], $9::text[])
     AS v(entity_id, updated, hash, mapping, deleted, snapshot, changed, end_at, end_hash)
WHERE r.internal_entity_type = 'customers.person' AND r.internal_entity_id = ANY($1::uuid[]) AND r.internal_entity_id = v.entity_id`

func (u *updates) exec(ctx context.Context, tx execer) error {
	if len(u.entity) > 0 {
		if _, err := tx.Exec(ctx, updateEntitiesSQL, rowkit.UUIDs(u.entity), rowkit.Texts(u.display), rowkit.OptTexts(u.email), rowkit.OptTexts(u.phone),
			u.deleted, u.now); err != nil {
			return fmt.Errorf("writer: updating people: %w", err)
		}
		if _, err := tx.Exec(ctx, updatePeopleSQL, rowkit.UUIDs(u.entity), rowkit.OptTexts(u.first), rowkit.OptTexts(u.last), rowkit.OptTexts(u.job), u.now); err != nil {
			return fmt.Errorf("writer: updating person profiles: %w", err)
		}
		if _, err := tx.Exec(ctx, updateMappingsSQL, rowkit.UUIDs(u.mapping), u.deleted, u.now); err != nil {
			return fmt.Errorf("writer: updating external ids: %w", err)
		}
	}
	if len(u.recEntity) > 0 {
		if _, err := tx.Exec(ctx, updateRecordsSQL, rowkit.UUIDs(u.recEntity), rowkit.Times(u.recUpdated), rowkit.Texts(u.recHash), rowkit.Texts(u.recMapping),
			u.recDeleted, u.recSnaps, u.recChanged, rowkit.OptTimes(u.recEndAt), rowkit.OptTexts(u.recEndHash), u.now); err != nil {
			return fmt.Errorf("writer: updating records: %w", err)
		}
	}
	return nil
}

// personEvent is "customers.person." + action, the usual names without a concatenation.
func personEvent(action string) string {
	switch action {
	case "created":
		return "customers.person.created"
	case "updated":
		return "customers.person.updated"
	case "deleted":
		return "customers.person.deleted"
	}
	return "customers.person." + action
}
