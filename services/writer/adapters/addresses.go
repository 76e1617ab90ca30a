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

// Addresses of people and companies (Person.Addresses, Company.Addresses) become customer_addresses rows with
// deterministic ids (person or company entity + Oro address). Mercato has no deleted_at on addresses and its own commands delete them outright, so an address
// gone from the person's last version, or every address of a deleted person, is deleted; only addresses orosync
// wrote (those of the previous synced version) are ever deleted, never ones added in Mercato. An address without
// addressLine1 (NOT NULL in Mercato) is skipped with a log line. Values are compared decrypted, so a version
// that does not change an address does not rewrite it.

// addressSync is the address set a person or company must end up with, and what orosync wrote for it before.
type addressSync struct {
	tenant  string
	person  uuid.UUID // the entity (person or company)
	want    []events.Address
	prev    []events.Address
	version events.SourceVersion
	mapping string
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
	eq := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return r.primary == o.primary && eq(r.name, o.name) && eq(r.purpose, o.purpose) && eq(r.company, o.company) && eq(r.line1, o.line1) &&
		eq(r.line2, o.line2) && eq(r.city, o.city) && eq(r.region, o.region) && eq(r.postal, o.postal) && eq(r.ctry, o.ctry)
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

// syncAddresses brings the addresses of the given people in line with their last versions; it returns the outbox
// rows (customers.address.created|updated|deleted, payload {id, organizationId, tenantId, syncOrigin}).
func (s *Store) syncAddresses(ctx context.Context, tx pgx.Tx, syncs []addressSync, now time.Time) ([]model.OrosyncOutbox, error) {
	type target struct {
		sync int
		row  addressRow
	}
	var (
		wanted  []target
		removed []target
		ids     []uuid.UUID
	)
	for si, as := range syncs {
		sc := s.scopes[as.tenant]
		keep := map[uuid.UUID]bool{}
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
			wanted = append(wanted, target{si, rowOf(id, a)})
			ids = append(ids, id)
		}
		for i, a := range as.prev {
			id := addressID(sc, as.person, a, i)
			if !keep[id] {
				keep[id] = true
				removed = append(removed, target{si, addressRow{id: id}})
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, loadAddressesSQL, rowkit.UUIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("writer: loading addresses: %w", err)
	}
	existing := map[uuid.UUID]addressRow{}
	for rows.Next() {
		var r addressRow
		if err := rows.Scan(&r.id, &r.name, &r.purpose, &r.company, &r.line1, &r.line2, &r.city, &r.region, &r.postal, &r.ctry, &r.primary); err != nil {
			rows.Close()
			return nil, fmt.Errorf("writer: loading addresses: %w", err)
		}
		existing[r.id] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: loading addresses: %w", err)
	}
	var (
		outbox                                                           []model.OrosyncOutbox
		id, org, ten, entity                                             []uuid.UUID
		name, purpose, company, line1, line2, city, region, postal, ctry []*string
		prim                                                             []bool
		gone                                                             []uuid.UUID
	)
	event := func(t target, action string) error {
		as := syncs[t.sync]
		sc := s.scopes[as.tenant]
		payload := events.RecordEvent{ID: t.row.id.String(), OrganizationID: sc.OrganizationID.String(),
			TenantID: sc.TenantID.String(), SyncOrigin: events.SyncOrigin}
		row, err := rowkit.EventRow(as.tenant, "customers.address."+action, payload, t.row.id.String(), as.version, as.mapping, "")
		if err == nil {
			outbox = append(outbox, row)
		}
		return err
	}
	for _, t := range wanted {
		as := syncs[t.sync]
		c := s.ciphers[as.tenant]
		action := "created"
		if cur, ok := existing[t.row.id]; ok {
			cur.name, cur.purpose, cur.company, cur.line1, cur.line2 = c.DecPtr(cur.name), c.DecPtr(cur.purpose), c.DecPtr(cur.company),
				c.DecPtr(cur.line1), c.DecPtr(cur.line2)
			cur.city, cur.region, cur.postal, cur.ctry = c.DecPtr(cur.city), c.DecPtr(cur.region), c.DecPtr(cur.postal), c.DecPtr(cur.ctry)
			if cur.same(t.row) {
				continue
			}
			action = "updated"
		}
		sc := s.scopes[as.tenant]
		r := t.row
		id, org, ten, entity = append(id, r.id), append(org, sc.OrganizationID), append(ten, sc.TenantID), append(entity, as.person)
		name, purpose, company = append(name, c.EncPtr(r.name)), append(purpose, r.purpose), append(company, c.EncPtr(r.company))
		line1, line2, city = append(line1, c.EncPtr(r.line1)), append(line2, c.EncPtr(r.line2)), append(city, c.EncPtr(r.city))
		region, postal, ctry = append(region, c.EncPtr(r.region)), append(postal, c.EncPtr(r.postal)), append(ctry, c.EncPtr(r.ctry))
		prim = append(prim, r.primary)
		if err := event(t, action); err != nil {
			return nil, err
		}
	}
	for _, t := range removed {
		if _, ok := existing[t.row.id]; !ok {
			continue
		}
		gone = append(gone, t.row.id)
		if err := event(t, "deleted"); err != nil {
			return nil, err
		}
	}
	if len(id) > 0 {
		if _, err := tx.Exec(ctx, upsertAddressesSQL, rowkit.UUIDs(id), rowkit.UUIDs(org), rowkit.UUIDs(ten), rowkit.UUIDs(entity), name, purpose, company, line1, line2, city,
			region, postal, ctry, prim, now); err != nil {
			return nil, fmt.Errorf("writer: writing addresses: %w", err)
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, deleteAddressesSQL, rowkit.UUIDs(gone)); err != nil {
			return nil, fmt.Errorf("writer: deleting addresses: %w", err)
		}
	}
	return outbox, nil
}
