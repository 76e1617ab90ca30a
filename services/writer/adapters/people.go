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
	tx, err := s.begin(ctx)
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
// the table's size and statistics; a join let the planner hash the whole table) and locks the rows in key order (the keys are sorted first), so concurrent batches
// cannot deadlock on them.
const loadSQL = `
SELECT k.i, r.internal_entity_id, r.profile_id, r.source_updated_at, r.payload_hash, r.mapping_version,
       r.deleted, r.display_name, r.primary_email, r.primary_phone, r.first_name, r.last_name, r.job_title, r.snapshot,
       r.local_at, r.deleted_source_updated_at, r.deleted_payload_hash, r.has_profile, r.company_entity_id,
       r.description, r.linked_in_url, r.twitter_url, r.source, r.status
FROM (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS u(t, o, st, si, i)
      ORDER BY t, o, st, si) k
CROSS JOIN LATERAL (
  SELECT r.internal_entity_id, r.profile_id, r.source_updated_at, r.payload_hash, r.mapping_version,
         r.deleted_at IS NOT NULL AS deleted, coalesce(e.display_name, '') AS display_name, e.primary_email, e.primary_phone,
         p.first_name, p.last_name, p.job_title, r.snapshot, coalesce(e.updated_at, r.updated_at) AS local_at,
         r.deleted_source_updated_at, r.deleted_payload_hash, p.id IS NOT NULL AS has_profile, p.company_entity_id,
         e.description, p.linked_in_url, p.twitter_url, e.source, e.status
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
			&companyLoaded, &company, &p.Description, &p.LinkedInURL, &p.TwitterURL, &p.Source, &p.Status); err != nil {
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
	p.Description, p.LinkedInURL, p.TwitterURL = c.DecPtr(p.Description), c.DecPtr(p.LinkedInURL), c.DecPtr(p.TwitterURL)
	p.Source, p.Status = c.DecPtr(p.Source), c.DecPtr(p.Status) // encrypted only where a tenant's map says so
}

func (u *updates) addMercato(id ids, mapping uuid.UUID, o domain.Outcome, pc profileColumns) {
	if u.entity == nil {
		n := u.n
		u.entity, u.mapping, u.display, u.deleted = make([]uuid.UUID, 0, n), make([]uuid.UUID, 0, n), make([]string, 0, n), make([]bool, 0, n)
		u.email, u.phone, u.first, u.last, u.job = make([]*string, 0, n), make([]*string, 0, n), make([]*string, 0, n), make([]*string, 0, n),
			make([]*string, 0, n)
		u.desc, u.source, u.status, u.linkedIn, u.twitter = make([]*string, 0, n), make([]*string, 0, n), make([]*string, 0, n),
			make([]*string, 0, n), make([]*string, 0, n)
	}
	p := o.After.Person
	u.entity, u.mapping = append(u.entity, id.entity), append(u.mapping, mapping)
	u.display = append(u.display, pc.entity.Enc("display_name", p.DisplayName))
	u.email = append(u.email, pc.entity.EncPtr("primary_email", p.PrimaryEmail))
	u.phone = append(u.phone, pc.entity.EncPtr("primary_phone", p.PrimaryPhone))
	u.first = append(u.first, pc.profile.EncPtr("first_name", p.FirstName))
	u.last = append(u.last, pc.profile.EncPtr("last_name", p.LastName))
	u.job = append(u.job, pc.profile.EncPtr("job_title", p.JobTitle))
	u.desc, u.source, u.status = append(u.desc, pc.entity.EncPtr("description", p.Description)),
		append(u.source, pc.entity.EncPtr("source", p.Source)), append(u.status, pc.entity.EncPtr("status", p.Status))
	u.linkedIn = append(u.linkedIn, pc.profile.EncPtr("linked_in_url", p.LinkedInURL))
	u.twitter = append(u.twitter, pc.profile.EncPtr("twitter_url", p.TwitterURL))
	u.deleted = append(u.deleted, o.After.Deleted)
}

const updateEntitiesSQL = `
UPDATE customer_entities e SET display_name = v.display_name, primary_email = v.email, primary_phone = v.phone,
       description = v.description, source = v.source, status = v.status,
       deleted_at = CASE WHEN v.deleted THEN coalesce(e.deleted_at, $9) ELSE NULL END, updated_at = $9
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::text[], $8::text[])
     AS v(id, display_name, email, phone, deleted, description, source, status)
WHERE e.id = ANY($1::uuid[]) AND e.id = v.id
      AND (e.display_name, e.primary_email, e.primary_phone, e.description, e.source, e.status, e.deleted_at IS NOT NULL)
      IS DISTINCT FROM (v.display_name, v.email, v.phone, v.description, v.source, v.status, v.deleted)`

const updatePeopleSQL = `
UPDATE customer_people p SET first_name = v.first, last_name = v.last, job_title = v.job, linked_in_url = v.linked_in,
       twitter_url = v.twitter, updated_at = $7
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS v(entity_id, first, last, job, linked_in, twitter)
WHERE p.entity_id = ANY($1::uuid[]) AND p.entity_id = v.entity_id
      AND (p.first_name, p.last_name, p.job_title, p.linked_in_url, p.twitter_url)
      IS DISTINCT FROM (v.first, v.last, v.job, v.linked_in, v.twitter)`

const updateMappingsSQL = `
UPDATE sync_external_id_mappings m SET deleted_at = CASE WHEN v.deleted THEN coalesce(m.deleted_at, $3) ELSE NULL END,
       sync_status = 'synced', last_synced_at = $3, updated_at = $3
FROM unnest($1::uuid[], $2::boolean[]) AS v(id, deleted)
WHERE m.id = ANY($1::uuid[]) AND m.id = v.id AND (m.deleted_at IS NOT NULL) IS DISTINCT FROM v.deleted`

func (u *updates) exec(ctx context.Context, tx execer) error {
	if len(u.entity) > 0 {
		if _, err := tx.Exec(ctx, updateEntitiesSQL, rowkit.UUIDs(u.entity), rowkit.Texts(u.display), rowkit.OptTexts(u.email), rowkit.OptTexts(u.phone),
			u.deleted, rowkit.OptTexts(u.desc), rowkit.OptTexts(u.source), rowkit.OptTexts(u.status), u.now); err != nil {
			return fmt.Errorf("writer: updating people: %w", err)
		}
		if _, err := tx.Exec(ctx, updatePeopleSQL, rowkit.UUIDs(u.entity), rowkit.OptTexts(u.first), rowkit.OptTexts(u.last), rowkit.OptTexts(u.job),
			rowkit.OptTexts(u.linkedIn), rowkit.OptTexts(u.twitter), u.now); err != nil {
			return fmt.Errorf("writer: updating person profiles: %w", err)
		}
		if _, err := tx.Exec(ctx, updateMappingsSQL, rowkit.UUIDs(u.mapping), u.deleted, u.now); err != nil {
			return fmt.Errorf("writer: updating external ids: %w", err)
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

// updates collects the rewrites of existing people as columns, applied set-based with unnest: go-jet has no
// unnest-driven UPDATE ... FROM, so these statements are written out; only rows whose values differ are touched,
// so Mercato's updated_at moves only when something changed. Each also restricts the table to the batch's keys
// (key = ANY(ids)): joined to the unnest alone, the planner hashed the whole table; so it scans the table with a
// hashed filter, or probes the index once the table is large. (With encryption every rewritten value differs, so
// the decision is made on decrypted values in domain.Plan: only outcomes with Changed reach these rows.)
type updates struct {
	now time.Time
	n   int // the outcomes of the batch: room for as many rows is made at the first row
	// Mercato rows whose mapped values or deletion changed.
	entity, mapping                         []uuid.UUID
	display                                 []string
	email, phone, first, last, job          []*string
	desc, source, status, linkedIn, twitter []*string
	deleted                                 []bool
}

// personWrites collects the person path's own rows: inserts of people new to Mercato, updates of known ones, and
// the company links to keep.
type personWrites struct {
	entities []model.CustomerEntities
	people   []model.CustomerPeople
	upd      updates
	links    []linkSync
	// recordsNew: no record of the batch has a row yet (none known from a tombstone only), so the records are
	// inserted without ON CONFLICT.
	recordsNew bool
}

// persist writes outcomes; salt distinguishes the event ids of a second write of the same source version (a
// conflict resolution) from the first.
func (s *Store) persist(ctx context.Context, tx pgx.Tx, outcomes []domain.Outcome, known map[domain.Key]ids, salt string) error {
	now := s.now().UTC()
	w := newProfileWrites(events.AggregatePerson, now, len(outcomes))
	pw := &personWrites{upd: updates{now: now, n: len(outcomes)}, recordsNew: true}
	for _, o := range outcomes {
		id, ok := known[o.Key]
		if !o.Applied {
			ok = ok && o.Before != nil
		} else {
			var err error
			if id, err = s.applyPerson(w, pw, o, id, ok, salt); err != nil {
				return err
			}
		}
		if len(o.Conflicts) == 0 {
			continue
		}
		var entity *uuid.UUID
		if ok {
			e := id.entity
			entity = &e
		}
		if err := s.queueConflicts(ctx, tx, w, o.Key, entity, o.Conflicts); err != nil {
			return err
		}
	}
	return s.writePeople(ctx, tx, w, pw)
}

// applyPerson adds the rows of an applied outcome (id: its loaded ids, if known) and returns the record's ids.
func (s *Store) applyPerson(w *profileWrites, pw *personWrites, o domain.Outcome, id ids, known bool, salt string) (ids, error) {
	sc, c, pc := s.scopes[o.Key.Tenant], s.ciphers[o.Key.Tenant], s.profileColumns(o.Key.Tenant, rowkit.EntityPersonProfile)
	snapshot, baseJSON, err := sealPersonBase(c, o.After.Base)
	if err != nil {
		return id, err
	}
	if o.Changed && !o.After.Deleted {
		// Mercato's people commands ensure these (commands/people.ts ensureDictionaryEntry).
		p := &o.After.Person
		w.dict.add(o.Key.Tenant, "job_title", p.JobTitle)
		w.dict.add(o.Key.Tenant, "status", p.Status)
		w.dict.add(o.Key.Tenant, "source", p.Source)
	}
	b := bookkeeping{key: o.Key, sc: sc, missing: o.After.Missing, deleted: o.After.Deleted, changed: o.Changed,
		version: o.After.Version, mapping: o.After.MappingVersion, upTo: o.After.DeletedUpTo, snapshot: snapshot}
	if o.Before == nil || !known || o.Before.Missing {
		pw.recordsNew = pw.recordsNew && o.Before == nil
		id = newIDs(sc, o.Key)
		switch {
		case o.After.Missing:
			// Only the bookkeeping row.
		case o.Link != nil:
			id.entity, _ = uuid.Parse(o.Link.EntityID)
			id.profile, _ = uuid.Parse(o.Link.ProfileID)
			pw.upd.addMercato(id, rowkit.MappingID(sc, o.Key), o, pc)
		default:
			pw.insert(id, sc, pc, o.After.Person, w.deletedAt(b.deleted), w.now, w.n)
		}
		b.entity, b.profile = id.entity, id.profile
		w.newRecord(b)
	} else {
		if o.Changed {
			pw.upd.addMercato(id, rowkit.MappingID(sc, o.Key), o, pc)
			w.cascade.add(id.entity, id.profile, o.Before.Deleted, o.After.Deleted)
		}
		b.entity = id.entity
		if o.Changed || !sameBookkeepingJSON(o.Before.Version, o.After.Version, o.Before.Deleted, o.After.Deleted,
			o.Before.DeletedUpTo, o.After.DeletedUpTo, o.Before.Base, baseJSON) {
			w.rewriteRecord(b)
		}
	}
	for _, evt := range o.Events {
		row, err := rowkit.CustomerEventRow(o.Key.Tenant, personEvent(evt), sc, id.entity, id.profile, o.After.Version,
			o.After.MappingVersion, salt)
		if err != nil {
			return id, err
		}
		w.outbox = rowkit.AppendSized(w.outbox, w.n, row)
	}
	if o.SyncLinks && !o.After.Missing {
		// Mercato's delete and its undo take and restore links and addresses unannounced.
		deletedOrBack := o.Before != nil && !o.Before.Missing && o.Before.Deleted != o.After.Deleted
		pw.links = rowkit.AppendSized(pw.links, w.n, linkSync{tenant: o.Key.Tenant, person: id.entity, company: id.company,
			companyLoaded: id.companyLoaded, links: o.Links, version: o.After.Version, mapping: o.After.MappingVersion,
			silent: deletedOrBack})
		var prev []events.Address
		if o.Before != nil && o.Before.Base != nil {
			prev = o.Before.Base.Addresses
		}
		w.keepAddresses(o.Key, id.entity, o.Addresses, prev, o.After.Version, o.After.MappingVersion, deletedOrBack)
		s.keepPersonCustomFields(w, o, id, sc)
	}
	return id, nil
}

// sealPersonBase is the snapshot column of a person's Oro values (nil: none) and their plain JSON ("null": none).
func sealPersonBase(c *rowkit.Cipher, base *events.Person) (*string, []byte, error) {
	if base == nil {
		return nil, []byte("null"), nil
	}
	plain, err := rowkit.MarshalJSON(base)
	if err != nil {
		return nil, nil, fmt.Errorf("writer: encoding: %w", err)
	}
	sealed := rowkit.Seal(c, plain)
	return &sealed, plain, nil
}

// insert adds the rows of a person new to Mercato.
func (pw *personWrites) insert(id ids, sc Scope, pc profileColumns, p events.Person, deletedAt *time.Time, now time.Time, n int) {
	ent, prof := pc.entity, pc.profile
	pw.entities = rowkit.AppendSized(pw.entities, n, model.CustomerEntities{ID: id.entity, OrganizationID: sc.OrganizationID,
		TenantID: sc.TenantID, Kind: "person", DisplayName: ent.Enc("display_name", p.DisplayName),
		PrimaryEmail: ent.EncPtr("primary_email", p.PrimaryEmail), PrimaryPhone: ent.EncPtr("primary_phone", p.PrimaryPhone),
		Description: ent.EncPtr("description", p.Description), Source: ent.EncPtr("source", p.Source),
		Status: ent.EncPtr("status", p.Status), IsActive: true, CreatedAt: now, UpdatedAt: now, DeletedAt: deletedAt})
	pw.people = rowkit.AppendSized(pw.people, n, model.CustomerPeople{ID: id.profile, OrganizationID: sc.OrganizationID,
		TenantID: sc.TenantID, FirstName: prof.EncPtr("first_name", p.FirstName), LastName: prof.EncPtr("last_name", p.LastName),
		JobTitle: prof.EncPtr("job_title", p.JobTitle), LinkedInURL: prof.EncPtr("linked_in_url", p.LinkedInURL),
		TwitterURL: prof.EncPtr("twitter_url", p.TwitterURL), CreatedAt: now, UpdatedAt: now, EntityID: id.entity})
}

// keepPersonCustomFields: Oro's values of the version applied (the snapshot, not the merged values written) against
// those last synced. Nothing for a deleted person.
func (s *Store) keepPersonCustomFields(w *profileWrites, o domain.Outcome, id ids, sc Scope) {
	if o.After.Deleted || o.After.Missing {
		return
	}
	next := o.After.Person.CustomFields
	if o.After.Base != nil {
		next = o.After.Base.CustomFields
	}
	var prev map[string]any
	hasPrev := o.Before != nil && o.Before.Base != nil
	if hasPrev {
		prev = o.Before.Base.CustomFields
	}
	n := len(w.cfs)
	w.keepCustomFields(o.Key, sc, id, len(o.Events) > 0, o.After.Version, o.After.MappingVersion, next, prev, hasPrev)
	if n < len(w.cfs) && o.Before != nil && !o.Before.Missing && o.Before.Deleted {
		w.cfs[n].restored = true // brought back: Mercato's undo sets its values again, notifying
	}
}

// writePeople resolves the people's company links, then writes the batch's rows up to the links' in one round
// trip, and the shared tail.
func (s *Store) writePeople(ctx context.Context, tx pgx.Tx, w *profileWrites, pw *personWrites) error {
	fresh := make(map[uuid.UUID]bool, len(pw.entities))
	for _, e := range pw.entities {
		fresh[e.ID] = true
	}
	lp, err := s.planLinks(ctx, tx, pw.links, fresh)
	if err != nil {
		return err
	}
	for i := range pw.people {
		if c, ok := lp.primary[pw.people[i].EntityID]; ok {
			pw.people[i].CompanyEntityID = &c
		}
	}
	p := &pipeline{} // sent by lp.exec
	if err := insertRows(ctx, p, pw.entities, pw.people, w.mappings, w.records, pw.recordsNew); err != nil {
		return err
	}
	if err := w.cascade.exec(ctx, p, w.now); err != nil {
		return err
	}
	if err := pw.upd.exec(ctx, p); err != nil {
		return err
	}
	if err := w.rewrites.exec(ctx, p, events.AggregatePerson, w.now); err != nil {
		return err
	}
	if err := w.dict.ensure(ctx, p, s.scopes, w.now); err != nil {
		return err
	}
	linked, err := lp.exec(ctx, tx, p, w.now)
	if err != nil {
		return err
	}
	return s.writeTail(ctx, tx, w, linked)
}
