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

// Merged companies (an Oro b2bcustomer with an account: Company.MergeInto): no Mercato row of their own. Once the
// account's company is written, its values fill only the fields the company lacks, and its addresses become
// addresses of the company (none primary: the company's primary address is the account's; deleted with the
// record or when they leave it, never rewritten by a re-reconcile). The record
// keeps waiting on the account, so the fill is applied again after each write of the account (which, oro-wins,
// may clear a filled field). References to the b2bcustomer (a deal's customer) resolve to that company.
// orosync_records holds it as orosync.company_merge, profile_id = the company's entity once resolved.

func mergeKind() recordKind[events.Company] {
	return recordKind[events.Company]{aggregate: events.AggregateCompanyMerge,
		payload: func(c events.Change) *events.Company {
			if c.Company == nil {
				return nil
			}
			n := domain.NormalizeCompany(*c.Company)
			return &n
		},
		reconcile: reconcileMerges}
}

const recordTypesSQL = `
SELECT k.i, r.internal_entity_type, r.profile_id IS NOT NULL
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si`

// takeOverSQL turns a record known from a company tombstone only into a merged record.
const takeOverSQL = `
UPDATE orosync_records r SET internal_entity_type = 'orosync.company_merge'
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS k(t, o, st, si)
WHERE r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
  AND r.internal_entity_type = 'customers.company' AND r.profile_id IS NULL`

// SplitMerges separates the company changes of records merged into another record's company from the others. A
// record that is already a company of its own stays one.
func (s *Store) SplitMerges(ctx context.Context, changes []events.Change) (mine, rest []events.Change, err error) {
	var candidates []events.Change
	for _, c := range changes {
		if c.Op == events.OpDelete || (c.Company != nil && c.Company.MergeInto != nil) {
			candidates = append(candidates, c)
		}
	}
	if len(candidates) == 0 {
		return nil, changes, nil
	}
	keys := domain.KeysOf(candidates)
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := s.pool.Query(ctx, recordTypesSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, nil, fmt.Errorf("writer: record types: %w", err)
	}
	type known struct {
		typ  string
		live bool
	}
	types := map[domain.Key]known{}
	for rows.Next() {
		var i int64
		var k known
		if err := rows.Scan(&i, &k.typ, &k.live); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("writer: record types: %w", err)
		}
		types[keys[i-1]] = k
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("writer: record types: %w", err)
	}
	wantsMerge := map[domain.Key]bool{}
	for _, c := range candidates {
		if c.Company != nil && c.Company.MergeInto != nil {
			wantsMerge[domain.KeyOf(c)] = true
		}
	}
	isMerged := map[domain.Key]bool{}
	var takeOver []domain.Key
	for _, k := range keys {
		t, ok := types[k]
		switch {
		case ok && t.typ == events.AggregateCompanyMerge:
			isMerged[k] = true
		case ok && t.typ == events.AggregateCompany && t.live:
		case wantsMerge[k]:
			isMerged[k] = true
			if ok {
				takeOver = append(takeOver, k)
			}
		}
	}
	for _, c := range changes {
		if isMerged[domain.KeyOf(c)] {
			mine = append(mine, c)
		} else {
			rest = append(rest, c)
		}
	}
	if len(takeOver) > 0 {
		ts, os, sts, sis := s.keyColumns(takeOver)
		if _, err := s.pool.Exec(ctx, takeOverSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis); err != nil {
			return nil, nil, fmt.Errorf("writer: merged records: %w", err)
		}
	}
	return mine, rest, nil
}

// ApplyMerges applies changes SplitMerges set apart, in one transaction.
func (s *Store) ApplyMerges(ctx context.Context, changes []events.Change) (app.Result, error) {
	return applyRecords(ctx, s, mergeKind(), changes)
}

const fillEntitiesSQL = `
UPDATE customer_entities e SET primary_email = coalesce(e.primary_email, v.email), primary_phone = coalesce(e.primary_phone, v.phone),
       description = coalesce(e.description, v.description), updated_at = $5
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS v(id, email, phone, description)
WHERE e.id = v.id AND ((e.primary_email IS NULL AND v.email IS NOT NULL) OR (e.primary_phone IS NULL AND v.phone IS NOT NULL)
      OR (e.description IS NULL AND v.description IS NOT NULL))
RETURNING e.id`

const fillCompaniesSQL = `
UPDATE customer_companies c SET legal_name = coalesce(c.legal_name, v.legal), website_url = coalesce(c.website_url, v.web),
       industry = coalesce(c.industry, v.industry), updated_at = $5
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS v(entity_id, legal, web, industry)
WHERE c.entity_id = v.entity_id AND ((c.legal_name IS NULL AND v.legal IS NOT NULL) OR (c.website_url IS NULL AND v.web IS NOT NULL)
      OR (c.industry IS NULL AND v.industry IS NOT NULL))
RETURNING c.entity_id`

const companyProfilesSQL = `SELECT entity_id, id FROM customer_companies WHERE entity_id = ANY($1::uuid[])`

// mergeFills are the values merged records fill into their companies, one per company, as columns.
type mergeFills struct {
	ents                                     []uuid.UUID
	emails, phones, descs, legal, webs, inds []*string
	from                                     map[uuid.UUID]int // company → the record (index) that fills it
}

func reconcileMerges(ctx context.Context, s *Store, tx pgx.Tx, rs []recState[events.Company], out *reconciled, now time.Time) error {
	var refs []refKey
	for _, r := range rs {
		if !r.st.Missing && r.st.Value.MergeInto != nil {
			refs = append(refs, refKey{r.key.Tenant, *r.st.Value.MergeInto})
		}
	}
	found, _, err := s.resolveRefs(ctx, tx, refs)
	if err != nil {
		return err
	}
	f := mergeFills{from: map[uuid.UUID]int{}}
	var addrs []addressSync
	for i, r := range rs {
		if r.st.Missing || r.st.Value.MergeInto == nil {
			continue
		}
		ref := refKey{r.key.Tenant, *r.st.Value.MergeInto}
		out.waiting[i] = []events.OroRef{ref.OroRef} // filled again after each write of the company
		t, ok := found[ref]
		if !ok || t.kind != "company" {
			continue
		}
		id := t.id
		out.rowID[i] = &id
		addrs = append(addrs, mergedAddresses(r, id))
		if r.st.Deleted {
			continue
		}
		if _, dup := f.from[id]; dup {
			continue // two records merged into one company in a batch: the first fills
		}
		f.add(id, i, s.profileColumns(r.key.Tenant, rowkit.EntityCompanyProfile), r.st.Value)
		out.dict.add(r.key.Tenant, "industry", r.st.Value.Industry)
	}
	addressed, err := s.syncAddresses(ctx, tx, addrs, now)
	if err != nil {
		return err
	}
	out.outbox = append(out.outbox, addressed...)
	if len(f.ents) == 0 {
		return nil
	}
	filled, err := f.exec(ctx, tx, now)
	if err != nil || len(filled) == 0 {
		return err
	}
	profiles, err := companyProfiles(ctx, tx, f.ents)
	if err != nil {
		return err
	}
	for _, e := range f.ents {
		if filled[e] {
			if err := emitFill(rs[f.from[e]], e, profiles[e], out, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergedAddresses are the addresses a merged record keeps on its company: those of its last version (none once
// deleted), not primary; prev, those of the version reconciled before.
func mergedAddresses(r recState[events.Company], company uuid.UUID) addressSync {
	notPrimary := func(as []events.Address) []events.Address {
		out := make([]events.Address, len(as))
		for i, a := range as {
			a.IsPrimary = false
			out[i] = a
		}
		return out
	}
	as := addressSync{tenant: r.key.Tenant, person: company, version: r.st.Version, mapping: r.st.MappingVersion, onlyMissing: r.relink}
	if !r.st.Deleted {
		as.want = notPrimary(r.st.Value.Addresses)
	}
	if r.prev != nil {
		as.prev = r.prev.Addresses
	}
	return as
}

func (f *mergeFills) add(company uuid.UUID, from int, pc profileColumns, v events.Company) {
	ent, prof := pc.entity, pc.profile
	f.from[company] = from
	f.ents = append(f.ents, company)
	f.emails, f.phones = append(f.emails, ent.EncPtr("primary_email", v.PrimaryEmail)), append(f.phones, ent.EncPtr("primary_phone", v.PrimaryPhone))
	f.descs, f.legal = append(f.descs, ent.EncPtr("description", v.Description)), append(f.legal, prof.EncPtr("legal_name", v.LegalName))
	f.webs, f.inds = append(f.webs, prof.EncPtr("website_url", v.WebsiteURL)), append(f.inds, prof.EncPtr("industry", v.Industry))
}

// exec fills the companies' empty fields and returns the companies it filled something into.
func (f *mergeFills) exec(ctx context.Context, tx pgx.Tx, now time.Time) (map[uuid.UUID]bool, error) {
	filled := map[uuid.UUID]bool{}
	for _, q := range []struct {
		sql     string
		a, b, c []*string
		what    string
	}{{fillEntitiesSQL, f.emails, f.phones, f.descs, "companies"}, {fillCompaniesSQL, f.legal, f.webs, f.inds, "company profiles"}} {
		rows, err := tx.Query(ctx, q.sql, rowkit.UUIDs(f.ents), q.a, q.b, q.c, now)
		if err != nil {
			return nil, fmt.Errorf("writer: filling merged %s: %w", q.what, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return nil, fmt.Errorf("writer: filling merged %s: %w", q.what, err)
		}
		for _, id := range ids {
			filled[id] = true
		}
	}
	return filled, nil
}

// companyProfiles are the profile ids of company entities.
func companyProfiles(ctx context.Context, tx pgx.Tx, ents []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	rows, err := tx.Query(ctx, companyProfilesSQL, rowkit.UUIDs(ents))
	if err != nil {
		return nil, fmt.Errorf("writer: merged company profiles: %w", err)
	}
	defer rows.Close()
	profiles := map[uuid.UUID]uuid.UUID{}
	for rows.Next() {
		var e, p uuid.UUID
		if err := rows.Scan(&e, &p); err != nil {
			return nil, fmt.Errorf("writer: merged company profiles: %w", err)
		}
		profiles[e] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: merged company profiles: %w", err)
	}
	return profiles, nil
}

// emitFill announces a company a merged record filled (customers.company.updated). The same version may fill the
// company again after an account version cleared it: each fill is an event.
func emitFill(r recState[events.Company], entity, profile uuid.UUID, out *reconciled, now time.Time) error {
	payload := events.CustomerEvent{ID: profile.String(), EntityID: entity.String(), OrganizationID: r.sc.OrganizationID.String(),
		TenantID: r.sc.TenantID.String(), SyncOrigin: events.SyncOrigin}
	row, err := rowkit.EventRow(r.key.Tenant, events.AggregateCompany+".updated", payload, entity.String(), r.st.Version, r.st.MappingVersion,
		"merge/"+r.key.SourceType+"/"+r.key.SourceID, now.Format(time.RFC3339Nano))
	if err != nil {
		return err
	}
	out.outbox = append(out.outbox, row)
	return nil
}
