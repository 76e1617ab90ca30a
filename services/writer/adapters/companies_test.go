package adapters_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/app"
)

type account struct {
	id, name, industry string
	sec                int
}

func (a account) change() events.Change {
	co := &events.Company{DisplayName: a.name, LegalName: ptr(a.name + " Ltd"), WebsiteURL: ptr("https://" + a.id + ".example"),
		PrimaryEmail: ptr("info@" + a.id + ".example")}
	if a.industry != "" {
		co.Industry = ptr(a.industry)
	}
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateCompany,
		Source:         events.RecordRef{Tenant: "acme", Type: "accounts", ID: a.id},
		SourceVersion:  events.SourceVersion{UpdatedAt: time.Unix(int64(1_700_000_000+a.sec), 0).UTC(), PayloadHash: a.name + a.industry},
		MappingVersion: "accounts-v1", Company: co}
}

func companyTombstone(c events.Change) events.Change {
	c.Op, c.Company = events.OpDelete, nil
	c.SourceVersion.PayloadHash = "tomb"
	return c
}

func withLinks(c events.Change, primary string, accounts ...string) events.Change {
	p := *c.Person
	p.CompanyLinks = nil
	for _, a := range accounts {
		p.CompanyLinks = append(p.CompanyLinks, events.CompanyLink{Company: events.OroRef{Type: "accounts", ID: a}, IsPrimary: a == primary})
	}
	c.Person = &p
	return c
}

type company struct {
	entityID, profileID uuid.UUID
	display, legal      string
	industry            *string
	deleted             bool
}

func (e *env) company(oroID string) company {
	e.t.Helper()
	var c company
	if err := e.db.QueryRow(e.ctx, `
SELECT en.id, cc.id, en.display_name, coalesce(cc.legal_name, ''), cc.industry, en.deleted_at IS NOT NULL
FROM sync_external_id_mappings m JOIN customer_entities en ON en.id = m.internal_entity_id AND en.kind = 'company'
JOIN customer_companies cc ON cc.entity_id = en.id
WHERE m.integration_id = 'sync_orocrm' AND m.internal_entity_type = 'customers.company' AND m.external_id = $1`, externalID("accounts", oroID)).
		Scan(&c.entityID, &c.profileID, &c.display, &c.legal, &c.industry, &c.deleted); err != nil {
		e.t.Fatalf("company of account %s: %v", oroID, err)
	}
	return c
}

// events returns the outbox payloads of one event type, in order.
func (e *env) events(eventType string) []map[string]string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT payload::text FROM orosync_outbox WHERE event_type = $1 ORDER BY id`, eventType)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

type link struct {
	company uuid.UUID
	primary bool
}

// links returns a person's live links by company entity id, and its customer_people.company_entity_id.
func (e *env) links(contactID string) (map[uuid.UUID]bool, *uuid.UUID) {
	e.t.Helper()
	p := e.person(contactID)
	rows, err := e.db.Query(e.ctx, `SELECT company_entity_id, is_primary FROM customer_person_company_links
WHERE person_entity_id = $1 AND deleted_at IS NULL`, p.entityID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[uuid.UUID]bool{}
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.company, &l.primary); err != nil {
			e.t.Fatal(err)
		}
		out[l.company] = l.primary
	}
	var primary *uuid.UUID
	if err := e.db.QueryRow(e.ctx, `SELECT company_entity_id FROM customer_people WHERE entity_id = $1`, p.entityID).Scan(&primary); err != nil {
		e.t.Fatal(err)
	}
	return out, primary
}

func TestAnAccountBecomesACompany(t *testing.T) {
	e := newEnv(t, scope)
	v1 := account{id: "7", name: "Acme", industry: "Retail", sec: 1}.change()
	e.apply(nil, v1)
	c := e.company("7")
	if c.display != "Acme" || c.legal != "Acme Ltd" || deref(c.industry) != "Retail" || c.deleted {
		t.Fatalf("company after v1: %+v", c)
	}
	created := e.events("customers.company.created")
	if len(created) != 1 || created[0]["id"] != c.profileID.String() || created[0]["entityId"] != c.entityID.String() ||
		created[0]["organizationId"] != scope.OrganizationID.String() || created[0]["tenantId"] != scope.TenantID.String() ||
		created[0]["syncOrigin"] != "sync_orocrm" {
		t.Errorf("created events %v", created)
	}
	if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE kind = 'industry' AND normalized_value = 'retail'`); n != 1 {
		t.Errorf("industry dictionary entries: %d", n)
	}

	// Redelivery and an older version change nothing; a newer one updates.
	v0 := account{id: "7", name: "Acme Old", sec: 0}.change()
	e.apply(nil, v1, v0)
	if got := e.company("7"); got.display != "Acme" {
		t.Errorf("older version applied: %+v", got)
	}
	v2 := account{id: "7", name: "Acme Corp", industry: "Retail", sec: 2}.change()
	e.apply(nil, v2)
	if got := e.company("7"); got.display != "Acme Corp" || got.entityID != c.entityID {
		t.Errorf("company after v2: %+v", got)
	}
	if n := len(e.events("customers.company.updated")); n != 1 {
		t.Errorf("%d updated events, want 1", n)
	}

	// A tombstone soft-deletes; a newer version brings it back with the same ids.
	tomb := companyTombstone(v2)
	e.apply(nil, tomb)
	if got := e.company("7"); !got.deleted {
		t.Errorf("company not deleted: %+v", got)
	}
	e.apply(nil, account{id: "7", name: "Acme Corp", industry: "Retail", sec: 3}.change())
	if got := e.company("7"); got.deleted || got.entityID != c.entityID || got.profileID != c.profileID {
		t.Errorf("company not restored with its ids: %+v", got)
	}
	if d, cr := len(e.events("customers.company.deleted")), len(e.events("customers.company.created")); d != 1 || cr != 2 {
		t.Errorf("deleted %d created %d events, want 1 and 2", d, cr)
	}
	if n := e.count(`SELECT count(*) FROM sync_external_id_mappings WHERE internal_entity_type = 'customers.company'`); n != 1 {
		t.Errorf("%d external ids, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM orosync_records WHERE internal_entity_type = 'customers.company' AND source_type = 'accounts'`); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

func TestCompanyTombstoneBeforeAnyVersionKeepsOlderVersionsFromResurrectingIt(t *testing.T) {
	e := newEnv(t, scope)
	v1 := account{id: "8", name: "Globex", sec: 1}.change()
	tomb := companyTombstone(v1)
	tomb.SourceVersion.UpdatedAt = v1.SourceVersion.UpdatedAt.Add(time.Second)
	e.apply(nil, tomb)
	e.apply(nil, v1)
	if got := e.company("8"); !got.deleted || got.display != "Globex" {
		t.Errorf("company %+v, want deleted Globex", got)
	}
	if n := len(e.events("customers.company.created")); n != 0 {
		t.Errorf("%d created events for a deleted company", n)
	}
}

func TestALinkToACompanyNotYetWrittenIsParkedUntilItArrives(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, withLinks(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 1}.change(), "7", "7"))
	links, primary := e.links("1")
	if len(links) != 0 || primary != nil {
		t.Fatalf("links before the company arrived: %v %v", links, primary)
	}
	if n := e.count(`SELECT count(*) FROM orosync_pending_links`); n != 1 {
		t.Fatalf("%d parked links, want 1", n)
	}
	e.apply(nil, account{id: "7", name: "Acme", sec: 1}.change())
	c := e.company("7")
	links, primary = e.links("1")
	if len(links) != 1 || !links[c.entityID] || primary == nil || *primary != c.entityID {
		t.Errorf("links after the company arrived: %v primary %v, want %s", links, primary, c.entityID)
	}
	if n := e.count(`SELECT count(*) FROM orosync_pending_links`); n != 0 {
		t.Errorf("%d links still parked", n)
	}
	created := e.events("customers.person_company_link.created")
	if len(created) != 1 || created[0]["personEntityId"] != e.person("1").entityID.String() || created[0]["companyEntityId"] != c.entityID.String() ||
		created[0]["id"] == "" || created[0]["syncOrigin"] != "sync_orocrm" || created[0]["tenantId"] != scope.TenantID.String() {
		t.Errorf("link events %v", created)
	}
}

func TestLinkOfAPersonArrivingAfterItsCompanyIsWrittenAtOnce(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, account{id: "7", name: "Acme", sec: 1}.change())
	e.apply(nil, withLinks(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 1}.change(), "7", "7"))
	c := e.company("7")
	links, primary := e.links("1")
	if len(links) != 1 || !links[c.entityID] || primary == nil || *primary != c.entityID {
		t.Errorf("links: %v primary %v, want %s", links, primary, c.entityID)
	}
	if n := e.count(`SELECT count(*) FROM orosync_pending_links`); n != 0 {
		t.Errorf("%d parked links", n)
	}
}

func TestAContactsLinksFollowItsAccounts(t *testing.T) {
	e := newEnv(t, scope)
	// Person, one company before it and two after it, in one batch and across batches.
	e.apply(nil, account{id: "7", name: "Acme", sec: 1}.change())
	e.apply(nil, withLinks(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 1}.change(), "8", "7", "8", "9"),
		account{id: "8", name: "Globex", sec: 1}.change())
	e.apply(nil, account{id: "9", name: "Initech", sec: 1}.change())
	acme, globex, initech := e.company("7").entityID, e.company("8").entityID, e.company("9").entityID
	links, primary := e.links("1")
	if len(links) != 3 || links[acme] || !links[globex] || links[initech] || primary == nil || *primary != globex {
		t.Fatalf("links %v primary %v, want 3 with %s primary", links, primary, globex)
	}
	if n := len(e.events("customers.person_company_link.created")); n != 3 {
		t.Errorf("%d link created events, want 3", n)
	}

	// Oro drops Globex (the default) and makes Acme the default: Globex's link is soft-deleted, the primary moves.
	e.apply(nil, withLinks(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 2}.change(), "7", "7", "9"))
	links, primary = e.links("1")
	if len(links) != 2 || !links[acme] || links[initech] || primary == nil || *primary != acme {
		t.Errorf("links %v primary %v, want Acme primary and Initech", links, primary)
	}
	if n := e.count(`SELECT count(*) FROM customer_person_company_links WHERE company_entity_id = $1 AND deleted_at IS NOT NULL`, globex); n != 1 {
		t.Errorf("%d soft-deleted Globex links, want 1", n)
	}
	deleted := e.events("customers.person_company_link.deleted")
	if len(deleted) != 1 || deleted[0]["companyEntityId"] != globex.String() {
		t.Errorf("link deleted events %v", deleted)
	}
	// Mercato's link update command announces the link it made primary (clearing the others is silent), its delete
	// command clears the deleted link's flag (personCompanyLinks.ts).
	updated := e.events("customers.person_company_link.updated")
	if len(updated) != 1 || updated[0]["companyEntityId"] != acme.String() || updated[0]["personEntityId"] != e.person("1").entityID.String() {
		t.Errorf("link updated events %v, want one: Acme made primary", updated)
	}
	if n := e.count(`SELECT count(*) FROM customer_person_company_links WHERE deleted_at IS NOT NULL AND is_primary`); n != 0 {
		t.Errorf("%d soft-deleted links still primary", n)
	}

	// Globex comes back: the same row is revived (no duplicate under the partial unique index).
	e.apply(nil, withLinks(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 3}.change(), "7", "7", "8", "9"))
	if links, _ = e.links("1"); len(links) != 3 {
		t.Errorf("links %v, want 3", links)
	}
	if n := e.count(`SELECT count(*) FROM customer_person_company_links`); n != 3 {
		t.Errorf("%d link rows, want 3", n)
	}
	// Mercato's create command announces a revived link as updated.
	if n := len(e.events("customers.person_company_link.created")); n != 3 {
		t.Errorf("%d link created events after the revival, want still 3", n)
	}
	if updated := e.events("customers.person_company_link.updated"); len(updated) != 2 || updated[1]["companyEntityId"] != globex.String() {
		t.Errorf("link updated events %v, want the second for the revived Globex link", updated)
	}

	// Deleting the person soft-deletes its links.
	e.apply(nil, tombstone(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 3}.change()))
	if n := e.count(`SELECT count(*) FROM customer_person_company_links WHERE deleted_at IS NULL`); n != 0 {
		t.Errorf("%d live links of a deleted person", n)
	}
}

// accountStream is a deterministic history of accounts and of contacts linked to them (each version of a contact
// names one to three accounts, one the default), with tombstones and reappearances on both sides.
func accountStream(accounts, contacts int) []events.Change {
	rng := rand.New(rand.NewPCG(7, 7))
	var out []events.Change
	for i := range accounts {
		id := fmt.Sprint(100 + i)
		sec := 0
		var last events.Change
		for v := range 1 + rng.IntN(3) {
			sec += 1 + rng.IntN(100)
			last = account{id: id, name: fmt.Sprintf("Company%d-%d", i, v), industry: []string{"", "Retail", "Energy"}[rng.IntN(3)], sec: sec}.change()
			for a := range rng.IntN(3) {
				addr := address(fmt.Sprint("acc", rng.IntN(2)), fmt.Sprintf("Road %d", v), "Town", a == 0)
				addr.Source.Type = "accountaddresses"
				last.Company.Addresses = append(last.Company.Addresses, addr)
				last.SourceVersion.PayloadHash += addr.Source.ID
			}
			out = append(out, last)
		}
		if rng.IntN(4) == 0 {
			out = append(out, companyTombstone(last))
		}
	}
	for i := range contacts {
		id := fmt.Sprint(i + 1)
		sec := 0
		var last events.Change
		for v := range 1 + rng.IntN(3) {
			sec += 1 + rng.IntN(100)
			var linked []string
			for range 1 + rng.IntN(3) {
				linked = append(linked, fmt.Sprint(100+rng.IntN(accounts+2))) // some accounts never arrive
			}
			last = withLinks(contact{id: id, first: fmt.Sprintf("First%d", v), last: fmt.Sprintf("Last%d", i), email: id + "@example.com",
				sec: sec}.change(), linked[0], linked...)
			last.SourceVersion.PayloadHash += fmt.Sprint(linked)
			var addrs []events.Address
			for a := range rng.IntN(3) {
				addrs = append(addrs, address(fmt.Sprint(rng.IntN(3)), fmt.Sprintf("Street %d", rng.IntN(5)), fmt.Sprint("City", v), a == 0))
			}
			last = withAddresses(last, addrs...)
			out = append(out, last)
		}
		if rng.IntN(4) == 0 {
			out = append(out, tombstone(last))
		}
	}
	rng.Shuffle(len(out), func(i, j int) {
		if out[i].Source != out[j].Source {
			out[i], out[j] = out[j], out[i]
		}
	})
	return out
}

// linkChecksum digests companies, live links, primary companies, addresses and parked links.
func (e *env) linkChecksum() string {
	e.t.Helper()
	var sum string
	if err := e.db.QueryRow(e.ctx, `
SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
  SELECT ROW('e', id, kind, display_name, primary_email, description, deleted_at IS NOT NULL)::text FROM customer_entities
  UNION ALL SELECT ROW('c', id, entity_id, legal_name, website_url, industry)::text FROM customer_companies
  UNION ALL SELECT ROW('p', id, entity_id, company_entity_id)::text FROM customer_people
  UNION ALL SELECT ROW('l', id, person_entity_id, company_entity_id, is_primary)::text FROM customer_person_company_links
    WHERE deleted_at IS NULL
  UNION ALL SELECT ROW('a', id, entity_id, address_line1, city, is_primary)::text FROM customer_addresses
  UNION ALL SELECT ROW('q', person_entity_id, company_source_type, company_source_id, is_primary)::text FROM orosync_pending_links
  UNION ALL SELECT ROW('m', id, internal_entity_type, internal_entity_id, external_id, deleted_at IS NOT NULL)::text
    FROM sync_external_id_mappings
) t(x)`).Scan(&sum); err != nil {
		e.t.Fatal(err)
	}
	return sum
}

func TestCompanyChangesAppliedInReverseOrShuffledLeaveIdenticalTables(t *testing.T) {
	stream := accountStream(12, 30)
	once := newEnv(t, scope)
	once.applyInBatches(stream, 7)
	want := once.linkChecksum()
	if n := once.count(`SELECT count(*) FROM customer_person_company_links WHERE deleted_at IS NULL`); n == 0 {
		t.Fatal("no links after one pass")
	}
	if n := once.count(`SELECT count(*) FROM orosync_pending_links`); n == 0 {
		t.Fatal("no parked links for accounts that never arrive")
	}
	if n := once.count(`SELECT count(*) FROM customer_addresses`); n == 0 {
		t.Fatal("no addresses after one pass")
	}

	reversed := slices.Clone(stream)
	slices.Reverse(reversed)
	backwards := newEnv(t, scope)
	backwards.applyInBatches(reversed, 7)
	if got := backwards.linkChecksum(); got != want {
		t.Errorf("applied in reverse: checksum %s, want %s", got, want)
	}

	shuffled := slices.Clone(stream)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	anyOrder := newEnv(t, scope)
	anyOrder.applyInBatches(shuffled, 3)
	anyOrder.applyInBatches(stream, 11)
	if got := anyOrder.linkChecksum(); got != want {
		t.Errorf("applied shuffled, then again: checksum %s, want %s", got, want)
	}
}

func TestAPersonWrittenConcurrentlyWithItsCompanyNeverLosesTheLink(t *testing.T) {
	e := newEnv(t, scope)
	const rounds = 20
	for i := range rounds {
		contactID, accountID := fmt.Sprint(i+1), fmt.Sprint(1000+i)
		person := withLinks(contact{id: contactID, first: "P", last: contactID, email: contactID + "@x.io", sec: 1}.change(), accountID, accountID)
		company := account{id: accountID, name: "C" + accountID, sec: 1}.change()
		errs := make(chan error, 2)
		for _, c := range []events.Change{person, company} {
			go func() {
				_, err := app.ApplyChanges{Store: e.store}.Handle(e.ctx, []events.Change{c})
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		links, primary := e.links(contactID)
		if c := e.company(accountID).entityID; len(links) != 1 || !links[c] || primary == nil || *primary != c {
			t.Fatalf("round %d: links %v primary %v, want %s", i, links, primary, c)
		}
	}
	if n := e.count(`SELECT count(*) FROM orosync_pending_links`); n != 0 {
		t.Errorf("%d links left parked", n)
	}
}

// TestPrimaryCompanyChangedInMercatoIsRestoredByTheNextOroVersion: the writer compares a person's primary company
// with the one it loaded and writes it only when they differ, so a company cleared in Mercato comes back with the
// next version of the contact, and a version that leaves it as it is does not rewrite the row.
func TestPrimaryCompanyChangedInMercatoIsRestoredByTheNextOroVersion(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, account{id: "7", name: "Acme", sec: 1}.change())
	e.apply(nil, withLinks(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 1}.change(), "7", "7"))
	acme := e.company("7").entityID
	if _, primary := e.links("1"); primary == nil || *primary != acme {
		t.Fatalf("primary %v, want %s", primary, acme)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE customer_people SET company_entity_id = NULL WHERE entity_id = $1`, e.person("1").entityID); err != nil {
		t.Fatal(err)
	}
	e.apply(nil, withLinks(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 2}.change(), "7", "7"))
	if _, primary := e.links("1"); primary == nil || *primary != acme {
		t.Errorf("primary %v after the next version, want %s restored", primary, acme)
	}
	var xmin string
	if err := e.db.QueryRow(e.ctx, `SELECT xmin::text FROM customer_people WHERE entity_id = $1`, e.person("1").entityID).Scan(&xmin); err != nil {
		t.Fatal(err)
	}
	e.apply(nil, withLinks(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 3}.change(), "7", "7"))
	var after string
	if err := e.db.QueryRow(e.ctx, `SELECT xmin::text FROM customer_people WHERE entity_id = $1`, e.person("1").entityID).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != xmin {
		t.Errorf("a version with the same values and company rewrote the person's profile (xmin %s -> %s)", xmin, after)
	}
}
