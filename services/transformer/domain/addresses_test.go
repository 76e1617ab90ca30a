package domain

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/orosync/orosync/events"
)

// mapBoth maps a raw record on the reference path and the fast path, which must agree.
func mapBoth(t *testing.T, r events.RawRecord) events.Change {
	t.Helper()
	want := mustMap(t, r)
	body, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := Default().MapRawJSON(body, r.RecordRef)
	if !ok || got.Change == nil || !reflect.DeepEqual(*got.Change, want) {
		t.Errorf("fast path %+v (ok %v), reference %+v", got.Change, ok, want)
	}
	return want
}

const usAddress = `"attributes":{"primary":%s,"label":"HQ","street":"873 John Avenue","street2":null,"city":"Jackson","postalCode":"49201",` +
	`"organization":"Acme","namePrefix":null,"firstName":"Ramona","middleName":null,"lastName":"Venters","nameSuffix":null,` +
	`"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","customRegion":null}`

func TestContactAddressPurposeIsOneAddressTypeOfMercatosDictionary(t *testing.T) {
	c := mapBoth(t, oroRecord(t, "contacts", "7", `"attributes":{"firstName":"Ann"},"relationships":{"addresses":{"data":[{"type":"contactaddresses","id":"11"}]}}`,
		`{"type":"contactaddresses","id":"11",`+fmt.Sprintf(usAddress, "true")+`,"relationships":{"owner":{"data":{"type":"contacts","id":"7"}},`+
			`"types":{"data":[{"type":"addresstypes","id":"billing"},{"type":"addresstypes","id":"shipping"}]},`+
			`"country":{"data":{"type":"countries","id":"US"}},"region":{"data":{"type":"regions","id":"US-MI"}}}}`))
	a := c.Person.Addresses
	if len(a) != 1 || *a[0].Purpose != "billing" || *a[0].Region != "US-MI" || *a[0].CompanyName != "Acme" ||
		*a[0].Name != "HQ — Ramona Venters" {
		t.Fatalf("addresses %+v", a)
	}
	types, _ := json.Marshal(a[0].CustomFields["oro_address_types"])
	if string(types) != `[{"id":"billing","type":"addresstypes"},{"id":"shipping","type":"addresstypes"}]` {
		t.Errorf("every Oro address type is kept: %s", types)
	}
}

func TestLeadAddressesLandOnThePersonWithoutPurpose(t *testing.T) {
	c := mapBoth(t, oroRecord(t, "leads", "3", `"attributes":{"name":"New Lead"},"relationships":{"addresses":{"data":[{"type":"leadaddresses","id":"106"}]}}`,
		`{"type":"leadaddresses","id":"106",`+fmt.Sprintf(usAddress, "true")+`,"relationships":{"owner":{"data":{"type":"leads","id":"3"}},`+
			`"country":{"data":{"type":"countries","id":"US"}},"region":{"data":null}}}`))
	a := c.Person.Addresses
	if len(a) != 1 || a[0].Source != (events.OroRef{Type: "leadaddresses", ID: "106"}) || *a[0].AddressLine1 != "873 John Avenue" ||
		!a[0].IsPrimary || a[0].Purpose != nil || *a[0].Country != "US" || *a[0].Name != "HQ — Ramona Venters" {
		t.Fatalf("addresses %+v", a)
	}
}

func TestTheAddresseeIsFoldedIntoTheAddressNameAsMercatoHasOne(t *testing.T) {
	long := strings.Repeat("x", 140)
	for _, tc := range []struct {
		name, attrs string
		want        *string
	}{
		{"label and addressee", `"label":"HQ","namePrefix":"Dr.","firstName":"Ramona","middleName":"J","lastName":"Venters","nameSuffix":"Jr."`,
			str("HQ — Dr. Ramona J Venters Jr.")},
		{"addressee only", `"label":" ","firstName":"Ramona","lastName":"Venters"`, str("Ramona Venters")},
		{"label only", `"label":"Warehouse","firstName":null`, str("Warehouse")},
		{"label that is the addressee", `"label":"Ramona Venters","firstName":"Ramona","lastName":"Venters"`, str("Ramona Venters")},
		{"neither", `"label":null`, nil},
		{"both longer than Mercato's 150 characters keep the label", `"label":"` + long + `","firstName":"Ramona","lastName":"Venters"`, &long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mapBoth(t, oroRecord(t, "contacts", "7", `"attributes":{"firstName":"Ann"},"relationships":{"addresses":{"data":[{"type":"contactaddresses","id":"11"}]}}`,
				`{"type":"contactaddresses","id":"11","attributes":{"street":"1 Main St",`+tc.attrs+`},"relationships":{}}`))
			a := c.Person.Addresses
			if len(a) != 1 || (a[0].Name == nil) != (tc.want == nil) || (tc.want != nil && *a[0].Name != *tc.want) {
				t.Fatalf("addresses %+v, want name %v", a, deref(tc.want))
			}
			if len(a[0].CustomFields) != 0 {
				t.Errorf("name parts kept as custom fields too: %v", a[0].CustomFields)
			}
		})
	}
}

func TestB2BCustomerAddressesKeepTheirRole(t *testing.T) {
	addr := func(id, street string) string {
		return `{"type":"addresses","id":"` + id + `","attributes":{"street":"` + street + `","city":"Boston"},` +
			`"relationships":{"country":{"data":{"type":"countries","id":"US"}},"region":{"data":null}}}`
	}
	rels := func(billing, shipping string) string {
		return `"attributes":{"name":"Acme GmbH"},"relationships":{"billingAddress":{"data":` + billing + `},"shippingAddress":{"data":` + shipping + `}}`
	}
	t.Run("both", func(t *testing.T) {
		c := mapBoth(t, oroRecord(t, "b2bcustomers", "5", rels(`{"type":"addresses","id":"1"}`, `{"type":"addresses","id":"2"}`),
			addr("1", "1 Bill St"), addr("2", "2 Ship St")))
		a := c.Company.Addresses
		if len(a) != 2 || *a[0].Purpose != "billing" || !a[0].IsPrimary || *a[0].AddressLine1 != "1 Bill St" ||
			*a[1].Purpose != "shipping" || a[1].IsPrimary || *a[1].AddressLine1 != "2 Ship St" {
			t.Fatalf("addresses %+v", a)
		}
	})
	t.Run("shipping only is primary", func(t *testing.T) {
		c := mapBoth(t, oroRecord(t, "b2bcustomers", "5", rels(`null`, `{"type":"addresses","id":"2"}`), addr("2", "2 Ship St")))
		if a := c.Company.Addresses; len(a) != 1 || *a[0].Purpose != "shipping" || !a[0].IsPrimary {
			t.Fatalf("addresses %+v", a)
		}
	})
	t.Run("one address for both roles is written once", func(t *testing.T) {
		c := mapBoth(t, oroRecord(t, "b2bcustomers", "5", rels(`{"type":"addresses","id":"1"}`, `{"type":"addresses","id":"1"}`), addr("1", "1 Bill St")))
		if a := c.Company.Addresses; len(a) != 1 || *a[0].Purpose != "billing" {
			t.Fatalf("addresses %+v", a)
		}
	})
}

func str(s string) *string { return &s }
