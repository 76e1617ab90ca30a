package adapters_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
)

func withAddresses(c events.Change, addrs ...events.Address) events.Change {
	p := *c.Person
	p.Addresses = addrs
	c.Person = &p
	c.SourceVersion.PayloadHash += "+addr"
	for _, a := range addrs {
		c.SourceVersion.PayloadHash += a.Source.ID + deref(a.AddressLine1) + deref(a.City)
	}
	return c
}

func address(id, line1, city string, primary bool) events.Address {
	a := events.Address{Source: events.OroRef{Type: "contactaddresses", ID: id}, City: ptr(city), Country: ptr("DE"),
		Purpose: ptr("billing"), IsPrimary: primary}
	if line1 != "" {
		a.AddressLine1 = ptr(line1)
	}
	return a
}

func (e *env) addresses(contactID string) map[string]string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT address_line1, coalesce(city, ''), is_primary FROM customer_addresses WHERE entity_id = $1`,
		e.person(contactID).entityID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var line, city string
		var primary bool
		if err := rows.Scan(&line, &city, &primary); err != nil {
			e.t.Fatal(err)
		}
		if primary {
			city += " (primary)"
		}
		out[line] = city
	}
	return out
}

func TestPersonAddressesAreKeptInStepSkippingThoseWithoutLineOne(t *testing.T) {
	e := newEnv(t, scope)
	var logged bytes.Buffer
	e.store.Log = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ada := contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 1}
	e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Berlin", true), address("a2", "Side St 2", "Bonn", false),
		address("a3", "", "Nowhere", false)))
	if !strings.Contains(logged.String(), "without addressLine1 skipped") || !strings.Contains(logged.String(), "contactaddresses/a3") {
		t.Errorf("no log line for the skipped address: %q", logged.String())
	}
	got := e.addresses("1")
	if len(got) != 2 || got["Main St 1"] != "Berlin (primary)" || got["Side St 2"] != "Bonn" {
		t.Fatalf("addresses %v", got)
	}
	if n := len(e.events("customers.address.created")); n != 2 {
		t.Errorf("%d address created events, want 2", n)
	}
	if n := e.count(`SELECT count(*) FROM customer_addresses WHERE organization_id = $1 AND tenant_id = $2`, scope.OrganizationID, scope.TenantID); n != 2 {
		t.Errorf("%d addresses in scope", n)
	}

	// An address added in Mercato is never touched; one moved in Oro is updated, one gone from Oro deleted.
	if _, err := e.db.Exec(e.ctx, `INSERT INTO customer_addresses (organization_id, tenant_id, entity_id, address_line1, created_at, updated_at)
VALUES ($1, $2, $3, 'Mercato Way 9', now(), now())`, scope.OrganizationID, scope.TenantID, e.person("1").entityID); err != nil {
		t.Fatal(err)
	}
	ada.sec = 2
	e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Hamburg", true)))
	got = e.addresses("1")
	if len(got) != 2 || got["Main St 1"] != "Hamburg (primary)" || got["Mercato Way 9"] != "" {
		t.Errorf("addresses after v2 %v", got)
	}
	if u, d := len(e.events("customers.address.updated")), len(e.events("customers.address.deleted")); u != 1 || d != 1 {
		t.Errorf("%d updated, %d deleted address events, want 1 and 1", u, d)
	}

	// A new version with the same addresses rewrites nothing.
	ada.job = "CTO"
	before := e.rowVersions("customer_addresses")
	e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Hamburg", true)))
	if n := rewrites(before, e.rowVersions("customer_addresses")); n != 0 {
		t.Errorf("%d addresses rewritten by a version that did not change them", n)
	}

	// Deleting the person deletes the addresses orosync wrote (as Mercato's delete does), not Mercato's own.
	ada.sec = 3
	e.apply(nil, tombstone(ada.change()))
	if !e.person("1").deleted {
		t.Fatal("person not deleted")
	}
	if got = e.addresses("1"); len(got) != 1 || got["Mercato Way 9"] != "" {
		t.Errorf("addresses of the deleted person %v", got)
	}
}

func TestAnEncryptedTenantsAddressesAreWrittenEncryptedOnlyWhenChanged(t *testing.T) {
	e := newEncryptedEnv(t, map[string]string{"TENANT_DATA_ENCRYPTION_KEY": testSecret}, true)
	ada := contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 1}
	e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Berlin", true)))
	if n := e.count(`SELECT count(*) FROM customer_addresses WHERE address_line1 LIKE '%:v1' AND city LIKE '%:v1' AND purpose = 'billing'`); n != 1 {
		t.Errorf("%d encrypted addresses, want 1", n)
	}
	before := e.rowVersions("customer_addresses")
	ada.sec, ada.job = 2, "CTO"
	e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Berlin", true)))
	if n := rewrites(before, e.rowVersions("customer_addresses")); n != 0 {
		t.Errorf("%d encrypted addresses rewritten without a change", n)
	}
}

func TestCompanyAddressesFollowTheAccount(t *testing.T) {
	e := newEnv(t, scope)
	acme := account{id: "7", name: "Acme", sec: 1}.change()
	hq, depot := address("h", "HQ Road 1", "Berlin", true), address("d", "Depot Lane 2", "Kiel", false)
	hq.Source.Type, depot.Source.Type = "accountaddresses", "accountaddresses"
	acme.Company.Addresses = []events.Address{hq, depot}
	e.apply(nil, acme)
	entity := e.company("7").entityID
	if n := e.count(`SELECT count(*) FROM customer_addresses WHERE entity_id = $1`, entity); n != 2 {
		t.Fatalf("%d company addresses, want 2", n)
	}
	v2 := account{id: "7", name: "Acme", sec: 2}.change()
	v2.Company.Addresses = []events.Address{hq}
	v2.SourceVersion.PayloadHash += "-depot"
	e.apply(nil, v2)
	if n := e.count(`SELECT count(*) FROM customer_addresses WHERE entity_id = $1 AND address_line1 = 'HQ Road 1' AND is_primary`, entity); n != 1 {
		t.Errorf("HQ address missing after v2")
	}
	if n := e.count(`SELECT count(*) FROM customer_addresses WHERE entity_id = $1`, entity); n != 1 {
		t.Errorf("%d company addresses after the depot left, want 1", n)
	}
	tomb := companyTombstone(v2)
	tomb.SourceVersion.UpdatedAt = tomb.SourceVersion.UpdatedAt.Add(time.Second)
	e.apply(nil, tomb)
	if n := e.count(`SELECT count(*) FROM customer_addresses WHERE entity_id = $1`, entity); n != 0 {
		t.Errorf("%d addresses of a deleted company", n)
	}
	// The depot leaving is announced (addresses delete); the company's delete takes HQ unannounced (nativeDelete).
	if c, d := len(e.events("customers.address.created")), len(e.events("customers.address.deleted")); c != 2 || d != 1 {
		t.Errorf("%d created, %d deleted address events, want 2 and 1", c, d)
	}
}

// primaries lists the entity's addresses (line one) that are primary.
func (e *env) primaries(entity any) []string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT address_line1 FROM customer_addresses WHERE entity_id = $1 AND is_primary ORDER BY 1`, entity)
	if err != nil {
		e.t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return lines
}

func TestAnAddressWrittenPrimaryClearsTheFlagOnTheEntitysOtherAddresses(t *testing.T) {
	e := newEnv(t, scope)
	ada := contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: 1}
	e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Berlin", true), address("a2", "Side St 2", "Bonn", false)))
	entity := e.person("1").entityID
	if _, err := e.db.Exec(e.ctx, `INSERT INTO customer_addresses (organization_id, tenant_id, entity_id, address_line1, is_primary, created_at, updated_at)
VALUES ($1, $2, $3, 'Mercato Way 9', true, now(), now())`, scope.OrganizationID, scope.TenantID, entity); err != nil {
		t.Fatal(err)
	}

	t.Run("an unchanged primary address is not written, so Mercato's own primary stays", func(t *testing.T) {
		ada.job = "CTO"
		e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Berlin", true), address("a2", "Side St 2", "Bonn", false)))
		if got := e.primaries(entity); !slices.Equal(got, []string{"Main St 1", "Mercato Way 9"}) {
			t.Errorf("primary addresses %v", got)
		}
	})
	t.Run("the primary moving in Oro leaves it on that address alone", func(t *testing.T) {
		ada.sec = 2
		e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Berlin", false), address("a2", "Side St 2", "Bonn", true)))
		if got := e.primaries(entity); !slices.Equal(got, []string{"Side St 2"}) {
			t.Errorf("primary addresses %v, want Side St 2 alone", got)
		}
		// Only the address made primary: the others lose the flag as enforcePrimaryAddress clears it, unannounced.
		if n := len(e.events("customers.address.updated")); n != 1 {
			t.Errorf("%d address updated events, want 1 (the cleared addresses get none)", n)
		}
	})
	t.Run("of two addresses marked primary the first is", func(t *testing.T) {
		ada.sec = 3
		e.apply(nil, withAddresses(ada.change(), address("a1", "Main St 1", "Berlin", true), address("a2", "Side St 2", "Bonn", true)))
		if got := e.primaries(entity); !slices.Equal(got, []string{"Main St 1"}) {
			t.Errorf("primary addresses %v, want Main St 1 alone", got)
		}
	})
}

// shop is a b2b customer merged into account 7, with a billing (primary) and a shipping address.
func shop(sec int, addrs ...events.Address) events.Change {
	c := events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateCompany,
		Source: events.RecordRef{Tenant: "acme", Type: "b2bcustomers", ID: "5"}, SourceVersion: at(sec), MappingVersion: "oro-v1",
		Company: &events.Company{DisplayName: "Acme shop", MergeInto: &events.OroRef{Type: "accounts", ID: "7"}, Addresses: addrs}}
	for _, a := range addrs {
		c.SourceVersion.PayloadHash += a.Source.ID
	}
	return c
}

func b2bAddress(id, line1, purpose string, primary bool) events.Address {
	a := address(id, line1, "Boston", primary)
	a.Source.Type, a.Purpose = "addresses", ptr(purpose)
	return a
}

func TestAddressesOfAMergedB2BCustomerLandOnItsAccountsCompany(t *testing.T) {
	billing, shipping := b2bAddress("1", "1 Bill St", "billing", true), b2bAddress("2", "2 Ship St", "shipping", false)
	lines := func(e *env) map[string]string {
		t.Helper()
		rows, err := e.db.Query(e.ctx, `SELECT address_line1, purpose, is_primary FROM customer_addresses WHERE entity_id = $1`, e.company("7").entityID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var line, purpose string
			var primary bool
			if err := rows.Scan(&line, &purpose, &primary); err != nil {
				t.Fatal(err)
			}
			out[line] = fmt.Sprint(purpose, map[bool]string{true: " (primary)"}[primary])
		}
		return out
	}
	for _, order := range []string{"account first", "b2b customer first"} {
		t.Run(order, func(t *testing.T) {
			e := newEnv(t, scope)
			acme := account{id: "7", name: "Acme", sec: 1}.change()
			hq := address("h", "HQ Road 1", "Berlin", true)
			hq.Source.Type = "accountaddresses"
			acme.Company.Addresses = []events.Address{hq}
			if order == "account first" {
				e.apply(nil, acme, shop(10, billing, shipping))
			} else {
				e.apply(nil, shop(10, billing, shipping))
				e.apply(nil, acme)
			}
			want := map[string]string{"HQ Road 1": "billing (primary)", "1 Bill St": "billing", "2 Ship St": "shipping"}
			if got := lines(e); !maps.Equal(got, want) {
				t.Fatalf("company addresses %v, want %v", got, want)
			}
			if n := len(e.events("customers.address.created")); n != 3 {
				t.Errorf("%d address created events, want 3", n)
			}
			e.apply(nil, acme) // the account again: the merged addresses are not rewritten
			if n := len(e.events("customers.address.updated")); n != 0 {
				t.Errorf("%d address updated events from the account applied again", n)
			}

			e.apply(nil, shop(20, billing))
			delete(want, "2 Ship St")
			if got := lines(e); !maps.Equal(got, want) {
				t.Errorf("company addresses after the shipping address left %v, want %v", got, want)
			}
			tomb := shop(30)
			tomb.Op, tomb.Company = events.OpDelete, nil
			e.apply(nil, tomb)
			if got := lines(e); !maps.Equal(got, map[string]string{"HQ Road 1": "billing (primary)"}) {
				t.Errorf("company addresses after the b2b customer was deleted %v", got)
			}
			if n := len(e.events("customers.address.deleted")); n != 2 {
				t.Errorf("%d address deleted events, want 2", n)
			}
		})
	}
}
