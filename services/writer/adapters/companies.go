package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// ApplyCompanies applies a batch of customers.company changes in one transaction: customer_entities (kind
// company) + customer_companies, external ids, bookkeeping and outbox events, with the version rules of
// domain.PlanCompanies. Person links parked for a company that arrives here are applied in the same transaction.
func (s *Store) ApplyCompanies(ctx context.Context, rules domain.Policies, changes []events.Change) ([]domain.CompanyOutcome, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	stored, known, err := s.loadCompanies(ctx, tx, domain.KeysOf(changes))
	if err != nil {
		return nil, err
	}
	outcomes := domain.PlanCompanies(stored, rules, changes)
	if len(outcomes) == 0 {
		return nil, tx.Commit(ctx)
	}
	if err := s.persistCompanies(ctx, tx, outcomes, known); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("writer: commit: %w", err)
	}
	return outcomes, nil
}

const loadCompaniesSQL = `
SELECT k.i, r.internal_entity_id, r.profile_id, r.source_updated_at, r.payload_hash, r.mapping_version,
       r.deleted_at IS NOT NULL, coalesce(e.display_name, ''), e.primary_email, e.primary_phone, e.description,
       c.legal_name, c.website_url, c.industry, r.deleted_source_updated_at, r.deleted_payload_hash, r.snapshot,
       coalesce(e.updated_at, r.updated_at)
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
LEFT JOIN customer_entities e ON e.id = r.internal_entity_id
LEFT JOIN customer_companies c ON c.entity_id = r.internal_entity_id
ORDER BY r.tenant_id, r.organization_id, r.source_type, r.source_id
FOR UPDATE OF r`

func (s *Store) loadCompanies(ctx context.Context, tx pgx.Tx, keys []domain.Key) (map[domain.Key]*domain.CompanyStored, map[domain.Key]ids, error) {
	n := len(keys)
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, loadCompaniesSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, nil, fmt.Errorf("writer: loading %d companies: %w", n, err)
	}
	defer rows.Close()
	stored := make(map[domain.Key]*domain.CompanyStored, n)
	known := make(map[domain.Key]ids, n)
	for rows.Next() {
		var (
			i        int64
			st       domain.CompanyStored
			id       ids
			profile  pgtype.UUID
			updated  time.Time
			endAt    *time.Time
			endHash  *string
			snapshot []byte
		)
		c := &st.Company
		if err := rows.Scan(&i, rowkit.ScanUUID(&id.entity), &profile, &updated, &st.Version.PayloadHash, &st.MappingVersion, &st.Deleted,
			&c.DisplayName, &c.PrimaryEmail, &c.PrimaryPhone, &c.Description, &c.LegalName, &c.WebsiteURL, &c.Industry, &endAt, &endHash,
			&snapshot, &st.LocalUpdatedAt); err != nil {
			return nil, nil, fmt.Errorf("writer: reading stored company: %w", err)
		}
		k := keys[i-1]
		if snapshot != nil {
			var base events.Company
			if err := rowkit.OpenJSON(s.ciphers[k.Tenant], snapshot, &base); err != nil {
				return nil, nil, fmt.Errorf("writer: snapshot of %s/%s: %w", k.SourceType, k.SourceID, err)
			}
			st.Base = &base
		}
		if fc := s.ciphers[k.Tenant]; fc != nil {
			c.DisplayName = fc.Decrypt(c.DisplayName)
			c.PrimaryEmail, c.PrimaryPhone, c.Description = fc.DecPtr(c.PrimaryEmail), fc.DecPtr(c.PrimaryPhone), fc.DecPtr(c.Description)
			c.LegalName, c.WebsiteURL, c.Industry = fc.DecPtr(c.LegalName), fc.DecPtr(c.WebsiteURL), fc.DecPtr(c.Industry)
		}
		st.Version.UpdatedAt, st.LocalUpdatedAt = updated.UTC(), st.LocalUpdatedAt.UTC()
		if endAt != nil && endHash != nil {
			st.DeletedUpTo = &events.SourceVersion{UpdatedAt: endAt.UTC(), PayloadHash: *endHash}
		}
		if profile.Valid {
			id.profile = profile.Bytes
		} else {
			st.Missing = true
		}
		stored[k], known[k] = &st, id
	}
	return stored, known, rows.Err()
}

const insertCompanyEntitiesSQL = `
INSERT INTO customer_entities (id, organization_id, tenant_id, kind, display_name, description, primary_email, primary_phone,
       is_active, created_at, updated_at, deleted_at)
SELECT v.id, $2, $3, 'company', v.display, v.description, v.email, v.phone, true, $8, $8, v.deleted
FROM unnest($1::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $9::timestamptz[])
     AS v(id, display, description, email, phone, deleted)`

const insertCompaniesSQL = `
INSERT INTO customer_companies (id, organization_id, tenant_id, legal_name, website_url, industry, created_at, updated_at, entity_id)
SELECT v.id, $2, $3, v.legal, v.website, v.industry, $7, $7, v.entity_id
FROM unnest($1::uuid[], $4::text[], $5::text[], $6::text[], $8::uuid[]) AS v(id, legal, website, industry, entity_id)`

const updateCompanyEntitiesSQL = `
UPDATE customer_entities e SET display_name = v.display, description = v.description, primary_email = v.email,
       primary_phone = v.phone, deleted_at = CASE WHEN v.deleted THEN coalesce(e.deleted_at, $7) ELSE NULL END, updated_at = $7
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[])
     AS v(id, display, description, email, phone, deleted)
WHERE e.id = v.id AND (e.display_name, e.description, e.primary_email, e.primary_phone, e.deleted_at IS NOT NULL)
      IS DISTINCT FROM (v.display, v.description, v.email, v.phone, v.deleted)`

const updateCompaniesSQL = `
UPDATE customer_companies c SET legal_name = v.legal, website_url = v.website, industry = v.industry, updated_at = $5
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS v(entity_id, legal, website, industry)
WHERE c.entity_id = v.entity_id AND (c.legal_name, c.website_url, c.industry) IS DISTINCT FROM (v.legal, v.website, v.industry)`

// companyRows collects a batch's company writes as one array per column.
type companyRows struct {
	entity, profile, mapping                    []uuid.UUID
	display                                     []string
	description, email, phone, legal, web, inds []*string
	deleted                                     []*time.Time
}

func (r *companyRows) add(id ids, mapping uuid.UUID, pc profileColumns, co events.Company, deleted *time.Time) {
	ent, prof := pc.entity, pc.profile
	r.entity, r.profile, r.mapping = append(r.entity, id.entity), append(r.profile, id.profile), append(r.mapping, mapping)
	r.display = append(r.display, ent.Enc("display_name", co.DisplayName))
	r.description, r.email = append(r.description, ent.EncPtr("description", co.Description)), append(r.email, ent.EncPtr("primary_email", co.PrimaryEmail))
	r.phone = append(r.phone, ent.EncPtr("primary_phone", co.PrimaryPhone))
	r.legal, r.web = append(r.legal, prof.EncPtr("legal_name", co.LegalName)), append(r.web, prof.EncPtr("website_url", co.WebsiteURL))
	r.inds = append(r.inds, prof.EncPtr("industry", co.Industry))
	r.deleted = append(r.deleted, deleted)
}

// insert writes the rows of companies new to Mercato.
func (r *companyRows) insert(ctx context.Context, tx pgx.Tx, sc Scope, now time.Time) error {
	if _, err := tx.Exec(ctx, insertCompanyEntitiesSQL, rowkit.UUIDs(r.entity), sc.OrganizationID, sc.TenantID, r.display, r.description,
		r.email, r.phone, now, r.deleted); err != nil {
		return fmt.Errorf("writer: inserting companies: %w", err)
	}
	if _, err := tx.Exec(ctx, insertCompaniesSQL, rowkit.UUIDs(r.profile), sc.OrganizationID, sc.TenantID, r.legal, r.web, r.inds, now,
		rowkit.UUIDs(r.entity)); err != nil {
		return fmt.Errorf("writer: inserting company profiles: %w", err)
	}
	return nil
}

// update rewrites the rows of known companies whose values differ.
func (r *companyRows) update(ctx context.Context, tx pgx.Tx, now time.Time) error {
	dels := make([]bool, len(r.deleted))
	for i, d := range r.deleted {
		dels[i] = d != nil
	}
	if _, err := tx.Exec(ctx, updateCompanyEntitiesSQL, rowkit.UUIDs(r.entity), r.display, r.description, r.email, r.phone, dels, now); err != nil {
		return fmt.Errorf("writer: updating companies: %w", err)
	}
	if _, err := tx.Exec(ctx, updateCompaniesSQL, rowkit.UUIDs(r.entity), r.legal, r.web, r.inds, now); err != nil {
		return fmt.Errorf("writer: updating company profiles: %w", err)
	}
	if _, err := tx.Exec(ctx, updateMappingsSQL, rowkit.UUIDs(r.mapping), dels, now); err != nil {
		return fmt.Errorf("writer: updating company external ids: %w", err)
	}
	return nil
}

// companyWrites collects the company path's own rows, per scope, and the companies links parked for may now reach.
type companyWrites struct {
	inserts, changed map[Scope]*companyRows
	arrived          []arrival
}

func (cw *companyWrites) rows(m map[Scope]*companyRows, sc Scope) *companyRows {
	if m[sc] == nil {
		m[sc] = &companyRows{}
	}
	return m[sc]
}

func (s *Store) persistCompanies(ctx context.Context, tx pgx.Tx, outcomes []domain.CompanyOutcome, known map[domain.Key]ids) error {
	w := newProfileWrites(events.AggregateCompany, s.now().UTC(), len(outcomes))
	cw := &companyWrites{inserts: map[Scope]*companyRows{}, changed: map[Scope]*companyRows{}}
	for _, o := range outcomes {
		if len(o.Conflicts) > 0 {
			var entity *uuid.UUID
			if id, ok := known[o.Key]; ok {
				entity = &id.entity
			}
			if err := s.queueConflicts(ctx, tx, w, o.Key, entity, o.Conflicts); err != nil {
				return err
			}
		}
		if o.Applied {
			if err := s.applyCompany(w, cw, o, known); err != nil {
				return err
			}
		}
	}
	return s.writeCompanies(ctx, tx, w, cw)
}

// applyCompany adds the rows of an applied outcome.
func (s *Store) applyCompany(w *profileWrites, cw *companyWrites, o domain.CompanyOutcome, known map[domain.Key]ids) error {
	sc, c, pc := s.scopes[o.Key.Tenant], s.ciphers[o.Key.Tenant], s.profileColumns(o.Key.Tenant, rowkit.EntityCompanyProfile)
	var deletedAt *time.Time
	if o.After.Deleted {
		deletedAt = &w.now
	}
	// The snapshot is Oro's side (what a three-way merge compares against), not the merged values written.
	base := o.After.Company
	if o.After.Base != nil {
		base = *o.After.Base
	}
	snap, err := rowkit.SealJSON(c, base)
	if err != nil {
		return err
	}
	if o.Changed && !o.After.Deleted {
		w.dict.add(o.Key.Tenant, "industry", o.After.Company.Industry)
	}
	b := bookkeeping{key: o.Key, sc: sc, missing: o.After.Missing, deleted: o.After.Deleted, changed: o.Changed,
		version: o.After.Version, mapping: o.After.MappingVersion, upTo: o.After.DeletedUpTo, snapshot: &snap}
	id, ok := known[o.Key]
	if o.Before == nil || !ok || o.Before.Missing {
		id = newIDs(sc, o.Key)
		if !o.After.Missing {
			cw.rows(cw.inserts, sc).add(id, rowkit.MappingID(sc, o.Key), pc, o.After.Company, deletedAt)
		}
		b.entity, b.profile = id.entity, id.profile
		w.newRecord(b)
	} else {
		if o.Changed {
			cw.rows(cw.changed, sc).add(id, rowkit.MappingID(sc, o.Key), pc, o.After.Company, deletedAt)
			w.cascade.add(id.entity, id.profile, o.Before.Deleted, o.After.Deleted)
		}
		var prev any
		if o.Before.Base != nil {
			prev = o.Before.Base
		}
		b.entity = id.entity
		if o.Changed || !sameBookkeeping(o.Before.Version, o.After.Version, o.Before.Deleted, o.After.Deleted, o.Before.DeletedUpTo,
			o.After.DeletedUpTo, prev, o.After.Company) {
			w.rewriteRecord(b)
		}
	}
	if !o.After.Missing {
		s.keepCompanyProfile(w, cw, o, id, sc, base)
	}
	for _, evt := range o.Events {
		row, err := rowkit.CustomerEventRow(o.Key.Tenant, events.AggregateCompany+"."+evt, sc, id.entity, id.profile, o.After.Version,
			o.After.MappingVersion, o.Salt)
		if err != nil {
			return err
		}
		w.outbox = append(w.outbox, row)
	}
	return nil
}

// keepCompanyProfile adds the addresses and custom fields of a company with Mercato rows, and notes that it exists
// (a deleted company's rows exist too: links resolve to it as they do from the person side).
func (s *Store) keepCompanyProfile(w *profileWrites, cw *companyWrites, o domain.CompanyOutcome, id ids, sc Scope, base events.Company) {
	hasPrev := o.Before != nil && o.Before.Base != nil
	var prev []events.Address
	var prevFields map[string]any
	if hasPrev {
		prev, prevFields = o.Before.Base.Addresses, o.Before.Base.CustomFields
	}
	deletedOrBack := o.Before != nil && !o.Before.Missing && o.Before.Deleted != o.After.Deleted // announced by neither
	w.keepAddresses(o.Key, id.entity, o.Addresses, prev, o.After.Version, o.After.MappingVersion, deletedOrBack)
	if !o.After.Deleted {
		w.keepCustomFields(o.Key, sc, id, len(o.Events) > 0, o.After.Version, o.After.MappingVersion, base.CustomFields,
			prevFields, hasPrev)
	}
	cw.arrived = append(cw.arrived, arrival{tenant: o.Key.Tenant, ref: events.OroRef{Type: o.Key.SourceType, ID: o.Key.SourceID},
		entity: id.entity, version: o.After.Version, mapping: o.After.MappingVersion})
}

// writeCompanies writes the companies' rows, applies the links parked for them, and the shared tail.
func (s *Store) writeCompanies(ctx context.Context, tx pgx.Tx, w *profileWrites, cw *companyWrites) error {
	for sc, r := range cw.inserts {
		if err := r.insert(ctx, tx, sc, w.now); err != nil {
			return err
		}
	}
	if err := insertRows(ctx, tx, nil, nil, w.mappings, w.records, false); err != nil {
		return err
	}
	if err := w.cascade.exec(ctx, tx, w.now); err != nil {
		return err
	}
	for _, r := range cw.changed {
		if err := r.update(ctx, tx, w.now); err != nil {
			return err
		}
	}
	if err := w.rewrites.exec(ctx, tx, events.AggregateCompany, w.now); err != nil {
		return err
	}
	if err := w.dict.ensure(ctx, tx, s.scopes, w.now); err != nil {
		return err
	}
	linked, err := s.unpark(ctx, tx, cw.arrived, w.now)
	if err != nil {
		return err
	}
	return s.writeTail(ctx, tx, w, linked)
}
