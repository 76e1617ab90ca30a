package adapters

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// Addresses of people and companies (Person.Addresses, Company.Addresses, and those of b2b customers merged into a
// company) become customer_addresses rows with deterministic ids (person or company entity + Oro address). Mercato
// has no deleted_at on addresses and its own commands delete them outright, so an address gone from the person's
// last version, or every address of a deleted person, is deleted; only addresses orosync wrote (those of the
// previous synced version) are ever deleted, never ones added in Mercato. An address without addressLine1 (NOT
// NULL in Mercato) is skipped with a log line. Values are compared decrypted, so a version that does not change an
// address does not rewrite it. One address of a version is primary (the first marked so); writing it clears the
// flag on the entity's other addresses, Mercato's own included, as Mercato's address commands do
// (customers/commands/addresses.ts enforcePrimaryAddress: a native update, so no event and no updated_at); an
// address of the version that only lost the flag that way is left to it, unannounced.

// addressSync is the address set a person or company must end up with, and what orosync wrote for it before.
type addressSync struct {
	tenant  string
	person  uuid.UUID // the entity (person or company)
	want    []events.Address
	prev    []events.Address
	version events.SourceVersion
	mapping string
	// onlyMissing: write only the addresses that have no row (a re-reconcile: values edited in Mercato stay).
	onlyMissing bool
	// silent: the entity is being deleted or brought back; Mercato's delete and its undo remove and restore its
	// addresses without announcing them (people.ts, companies.ts: nativeDelete).
	silent bool
}

type addressRow struct {
	id                                                               uuid.UUID
	name, purpose, company, line1, line2, city, region, postal, ctry *string
	primary                                                          bool
}

func addressID(sc Scope, person uuid.UUID, a events.Address, i int) uuid.UUID {
	src := a.Source.Type + "/" + a.Source.ID
	if a.Source.ID == "" {
		src = fmt.Sprint("#", i)
	}
	return rowkit.NameID([]byte(sc.TenantID.String() + "/" + sc.OrganizationID.String() + "/address/" + person.String() + "/" + src))
}

func rowOf(id uuid.UUID, a events.Address) addressRow {
	return addressRow{id: id, name: a.Name, purpose: a.Purpose, company: a.CompanyName, line1: a.AddressLine1, line2: a.AddressLine2,
		city: a.City, region: a.Region, postal: a.PostalCode, ctry: a.Country, primary: a.IsPrimary}
}

func (r addressRow) same(o addressRow) bool {
	return r.primary == o.primary && samePtr(r.name, o.name) && samePtr(r.purpose, o.purpose) && samePtr(r.company, o.company) && samePtr(r.line1, o.line1) &&
		samePtr(r.line2, o.line2) && samePtr(r.city, o.city) && samePtr(r.region, o.region) && samePtr(r.postal, o.postal) && samePtr(r.ctry, o.ctry)
}

const loadAddressesSQL = `
SELECT id, name, purpose, company_name, address_line1, address_line2, city, region, postal_code, country, is_primary
FROM customer_addresses WHERE id = ANY($1::uuid[])`

const upsertAddressesSQL = `
INSERT INTO customer_addresses (id, organization_id, tenant_id, entity_id, name, purpose, company_name, address_line1, address_line2,
       city, region, postal_code, country, is_primary, created_at, updated_at)
SELECT v.id, v.org, v.ten, v.entity, v.name, v.purpose, v.company, v.line1, v.line2, v.city, v.region, v.postal, v.ctry, v.prim, $15, $15
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
            $11::text[], $12::text[], $13::text[], $14::boolean[])
     AS v(id, org, ten, entity, name, purpose, company, line1, line2, city, region, postal, ctry, prim)
ORDER BY v.id
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, purpose = EXCLUDED.purpose, company_name = EXCLUDED.company_name,
       address_line1 = EXCLUDED.address_line1, address_line2 = EXCLUDED.address_line2, city = EXCLUDED.city, region = EXCLUDED.region,
       postal_code = EXCLUDED.postal_code, country = EXCLUDED.country, is_primary = EXCLUDED.is_primary, updated_at = EXCLUDED.updated_at`

const deleteAddressesSQL = `DELETE FROM customer_addresses WHERE id = ANY($1::uuid[])`

// clearPrimarySQL: the entity's other addresses stop being primary once one is written primary.
const clearPrimarySQL = `
UPDATE customer_addresses a SET is_primary = false
FROM unnest($1::uuid[], $2::uuid[]) AS v(entity, keep)
WHERE a.entity_id = ANY($1::uuid[]) AND a.entity_id = v.entity AND a.id <> v.keep AND a.is_primary`

// addressTarget is an address row one of the syncs (by index) wants, or wants gone.
type addressTarget struct {
	sync int
	row  addressRow
}

// addressWrites are the addresses to upsert, as columns, the ids to delete, and the events of both.
type addressWrites struct {
	id, org, ten, entity                                             []uuid.UUID
	name, purpose, company, line1, line2, city, region, postal, ctry []*string
	prim                                                             []bool
	gone                                                             []uuid.UUID
	// primaryOf, keep: entities that had an address written primary, and that address.
	primaryOf, keep []uuid.UUID
	outbox          []model.OrosyncOutbox
}

func (w *addressWrites) add(sc Scope, k rowkit.Columns, entity uuid.UUID, r addressRow) {
	w.id, w.org, w.ten, w.entity = append(w.id, r.id), append(w.org, sc.OrganizationID), append(w.ten, sc.TenantID), append(w.entity, entity)
	w.name, w.purpose = append(w.name, k.EncPtr("name", r.name)), append(w.purpose, r.purpose)
	w.company, w.line1 = append(w.company, k.EncPtr("company_name", r.company)), append(w.line1, k.EncPtr("address_line1", r.line1))
	w.line2, w.city = append(w.line2, k.EncPtr("address_line2", r.line2)), append(w.city, k.EncPtr("city", r.city))
	w.region, w.postal = append(w.region, k.EncPtr("region", r.region)), append(w.postal, k.EncPtr("postal_code", r.postal))
	w.ctry = append(w.ctry, k.EncPtr("country", r.ctry))
	w.prim = append(w.prim, r.primary)
	if r.primary {
		w.primaryOf, w.keep = append(w.primaryOf, entity), append(w.keep, r.id)
	}
}

// event adds customers.address.<action> of an address (payload {id, organizationId, tenantId, syncOrigin}).
func (w *addressWrites) event(as addressSync, sc Scope, id uuid.UUID, action string) error {
	if as.silent {
		return nil
	}
	payload := events.RecordEvent{ID: id.String(), OrganizationID: sc.OrganizationID.String(), TenantID: sc.TenantID.String(),
		SyncOrigin: events.SyncOrigin}
	row, err := rowkit.EventRow(as.tenant, "customers.address."+action, payload, id.String(), as.version, as.mapping, "")
	if err == nil {
		w.outbox = append(w.outbox, row)
	}
	return err
}

func (w *addressWrites) exec(ctx context.Context, tx pgx.Tx, now time.Time) error {
	if len(w.id) > 0 {
		if _, err := tx.Exec(ctx, upsertAddressesSQL, rowkit.UUIDs(w.id), rowkit.UUIDs(w.org), rowkit.UUIDs(w.ten), rowkit.UUIDs(w.entity),
			w.name, w.purpose, w.company, w.line1, w.line2, w.city, w.region, w.postal, w.ctry, w.prim, now); err != nil {
			return fmt.Errorf("writer: writing addresses: %w", err)
		}
	}
	if len(w.keep) > 0 {
		if _, err := tx.Exec(ctx, clearPrimarySQL, rowkit.UUIDs(w.primaryOf), rowkit.UUIDs(w.keep)); err != nil {
			return fmt.Errorf("writer: clearing primary addresses: %w", err)
		}
	}
	if len(w.gone) > 0 {
		if _, err := tx.Exec(ctx, deleteAddressesSQL, rowkit.UUIDs(w.gone)); err != nil {
			return fmt.Errorf("writer: deleting addresses: %w", err)
		}
	}
	return nil
}

// syncAddresses brings the addresses of the given people in line with their last versions; it returns the outbox
// rows (customers.address.created|updated|deleted).
func (s *Store) syncAddresses(ctx context.Context, tx pgx.Tx, syncs []addressSync, now time.Time) ([]model.OrosyncOutbox, error) {
	wanted, removed, ids := s.planAddresses(syncs)
	if len(ids) == 0 {
		return nil, nil
	}
	existing, err := loadAddresses(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var w addressWrites
	written := make([]addressTarget, 0, len(wanted))
	primaryWritten := map[int]bool{} // syncs writing an address primary: the others lose the flag silently
	for _, t := range wanted {
		as := syncs[t.sync]
		if cur, ok := existing[t.row.id]; ok && (as.onlyMissing || cur.decrypt(s.ciphers[as.tenant]).same(t.row)) {
			continue
		}
		written = append(written, t)
		primaryWritten[t.sync] = primaryWritten[t.sync] || t.row.primary
	}
	for _, t := range written {
		as := syncs[t.sync]
		sc, c := s.scopes[as.tenant], s.ciphers[as.tenant]
		action := "created"
		if cur, ok := existing[t.row.id]; ok {
			if primaryWritten[t.sync] && cur.demotedTo(c, t.row) {
				continue // clearPrimarySQL clears it, as enforcePrimaryAddress does: no event
			}
			action = "updated"
		}
		w.add(sc, s.columns(as.tenant, rowkit.EntityAddress), as.person, t.row)
		if err := w.event(as, sc, t.row.id, action); err != nil {
			return nil, err
		}
	}
	for _, t := range removed {
		if _, ok := existing[t.row.id]; !ok {
			continue
		}
		w.gone = append(w.gone, t.row.id)
		as := syncs[t.sync]
		if err := w.event(as, s.scopes[as.tenant], t.row.id, "deleted"); err != nil {
			return nil, err
		}
	}
	return w.outbox, w.exec(ctx, tx, now)
}

// planAddresses lists the address rows the syncs want (those without addressLine1 skipped; only the first one
// marked primary stays primary), those orosync wrote for their previous versions that they no longer want, and
// the ids of both.
func (s *Store) planAddresses(syncs []addressSync) (wanted, removed []addressTarget, ids []uuid.UUID) {
	for si, as := range syncs {
		sc := s.scopes[as.tenant]
		keep := map[uuid.UUID]bool{}
		primary := false
		for i, a := range as.want {
			if a.AddressLine1 == nil || strings.TrimSpace(*a.AddressLine1) == "" {
				s.logger().Debug("address without addressLine1 skipped (Mercato requires it)", "tenant", as.tenant,
					"person", as.person, "address", a.Source.Type+"/"+a.Source.ID)
				continue
			}
			id := addressID(sc, as.person, a, i)
			if keep[id] {
				continue
			}
			keep[id] = true
			row := rowOf(id, a)
			row.primary = row.primary && !primary
			primary = primary || row.primary
			wanted = append(wanted, addressTarget{si, row})
			ids = append(ids, id)
		}
		for i, a := range as.prev {
			id := addressID(sc, as.person, a, i)
			if !keep[id] {
				keep[id] = true
				removed = append(removed, addressTarget{si, addressRow{id: id}})
				ids = append(ids, id)
			}
		}
	}
	return wanted, removed, ids
}

func loadAddresses(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) (map[uuid.UUID]addressRow, error) {
	rows, err := tx.Query(ctx, loadAddressesSQL, rowkit.UUIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("writer: loading addresses: %w", err)
	}
	defer rows.Close()
	existing := map[uuid.UUID]addressRow{}
	for rows.Next() {
		var r addressRow
		if err := rows.Scan(&r.id, &r.name, &r.purpose, &r.company, &r.line1, &r.line2, &r.city, &r.region, &r.postal, &r.ctry, &r.primary); err != nil {
			return nil, fmt.Errorf("writer: loading addresses: %w", err)
		}
		existing[r.id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: loading addresses: %w", err)
	}
	return existing, nil
}

// demotedTo says whether want is the stored row r that only lost its primary flag.
func (r addressRow) demotedTo(c *rowkit.Cipher, want addressRow) bool {
	r = r.decrypt(c)
	if !r.primary || want.primary {
		return false
	}
	r.primary = false
	return r.same(want)
}

// decrypt returns the row with its encrypted columns decrypted.
func (r addressRow) decrypt(c *rowkit.Cipher) addressRow {
	r.name, r.purpose, r.company, r.line1, r.line2 = c.DecPtr(r.name), c.DecPtr(r.purpose), c.DecPtr(r.company), c.DecPtr(r.line1),
		c.DecPtr(r.line2)
	r.city, r.region, r.postal, r.ctry = c.DecPtr(r.city), c.DecPtr(r.region), c.DecPtr(r.postal), c.DecPtr(r.ctry)
	return r
}
