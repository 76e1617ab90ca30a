package main

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/orosim"
)

// newAddressE2E is the pipeline over contacts and leads of a simulated CRM whose contacts have addresses, with
// the poller's parts scan on every round.
func newAddressE2E(t *testing.T) *e2e {
	t.Helper()
	e := newE2EWith(t, orosim.Config{Contacts: 90, Counts: map[string]int{"leads": 10}}, []string{"contacts", "leads"}, 50)
	e.p.PartsScanInterval = time.Nanosecond
	return e
}

// oroAdmin writes to the simulated Oro behind the pipeline's back; it returns the HTTP status.
func (e *e2e) oroAdmin(method, path, body string) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.oroURL+"/__admin/"+path, bytes.NewReader([]byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type addressRow struct {
	Line1, Purpose string
	Primary        bool
}

// addresses reads customer_addresses of synced people by Oro address (id = entity + Oro address, so the row
// is found through the person's external id).
func (e *e2e) addresses() map[uuid.UUID]addressRow {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `
SELECT a.id, a.address_line1, coalesce(a.purpose, ''), a.is_primary
FROM customer_addresses a JOIN customer_entities p ON p.id = a.entity_id AND p.kind = 'person' AND p.deleted_at IS NULL
WHERE a.tenant_id = $1 AND a.organization_id = $2`, e.p.Scope.TenantID, e.p.Scope.OrganizationID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[uuid.UUID]addressRow{}
	for rows.Next() {
		var id uuid.UUID
		var r addressRow
		if err := rows.Scan(&id, &r.Line1, &r.Purpose, &r.Primary); err != nil {
			e.t.Fatal(err)
		}
		out[id] = r
	}
	return out
}

func (e *e2e) countLines(rows map[uuid.UUID]addressRow, line1 string) int {
	n := 0
	for _, r := range rows {
		if r.Line1 == line1 {
			n++
		}
	}
	return n
}

func TestPersonAddressesLandOnePerOroAddress(t *testing.T) {
	e := newAddressE2E(t)
	for _, lead := range []string{"2", "5"} {
		e.oroAdmin(http.MethodPost, "leadaddresses", `{"primary":true,"street":"873 John Avenue","city":"Jackson",`+
			`"owner":{"data":{"type":"leads","id":"`+lead+`"}},"country":{"data":{"type":"countries","id":"US"}}}`)
	}
	e.sync()
	oroAddresses := e.sim.Count("contactaddresses") + e.sim.Count("leadaddresses")
	got := e.addresses()
	if len(got) != oroAddresses || e.sim.Count("contactaddresses") < 10 {
		t.Fatalf("%d Mercato addresses for %d contact and %d lead addresses in Oro", len(got), e.sim.Count("contactaddresses"),
			e.sim.Count("leadaddresses"))
	}
	if n := e.countLines(got, "873 John Avenue"); n != 2 {
		t.Errorf("%d lead addresses landed, want 2", n)
	}
	for id, r := range got {
		if !r.Primary || (r.Purpose != "billing" && r.Line1 != "873 John Avenue") {
			t.Errorf("address %s: %+v (Oro's seeded contact addresses are primary billing addresses)", id, r)
		}
	}
	t.Run("an edit and a delete in Oro follow", func(t *testing.T) {
		e.clock.Advance(5 * time.Second)
		e.editAContactAddress(`{"street":"1 Edited Street"}`)
		if st := e.oroAdmin(http.MethodDelete, "leadaddresses/1", ""); st != http.StatusNoContent {
			t.Fatalf("deleting lead address 1: %d", st)
		}
		e.sync()
		after := e.addresses()
		if len(after) != oroAddresses-1 || e.countLines(after, "1 Edited Street") != 1 || e.countLines(after, "873 John Avenue") != 1 {
			t.Errorf("%d addresses (want %d), edited %d, lead addresses %d", len(after), oroAddresses-1,
				e.countLines(after, "1 Edited Street"), e.countLines(after, "873 John Avenue"))
		}
	})
}

// editAContactAddress edits the contact address with the lowest id (seeded addresses share their contact's id).
func (e *e2e) editAContactAddress(attrs string) {
	e.t.Helper()
	for _, id := range e.sim.ContactIDs() {
		if e.oroAdmin(http.MethodPatch, "contactaddresses/"+id, attrs) == http.StatusOK {
			return
		}
	}
	e.t.Fatal("no contact address to edit")
}

// companyAddresses counts the customer_addresses rows of synced companies by purpose.
func (e *e2e) companyAddresses() map[string]int {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `
SELECT coalesce(a.purpose, ''), a.is_primary
FROM customer_addresses a JOIN customer_entities c ON c.id = a.entity_id AND c.kind = 'company' AND c.deleted_at IS NULL
WHERE a.tenant_id = $1 AND a.organization_id = $2`, e.p.Scope.TenantID, e.p.Scope.OrganizationID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var purpose string
		var primary bool
		if err := rows.Scan(&purpose, &primary); err != nil {
			e.t.Fatal(err)
		}
		if primary {
			purpose += " (primary)"
		}
		out[purpose]++
	}
	return out
}

// Oro's accounts have no addresses of their own; their b2b customers have a billing and a shipping address. A b2b
// customer without an account is a company of its own. (One with an account is merged into the account's
// company, which its addresses do not reach yet: the writer's merge fills scalar fields only.)
func TestAB2BCustomersAddressesLandOnItsCompanyByPurpose(t *testing.T) {
	e := newE2EWith(t, orosim.Config{Contacts: 10, Counts: map[string]int{"accounts": 3, "b2bcustomers": 3}},
		[]string{"accounts", "b2bcustomers"}, 50)
	for i, street := range []string{"1 Bill St", "2 Ship St"} {
		if st := e.oroAdmin(http.MethodPost, "addresses", `{"street":"`+street+`","city":"Boston","country":{"data":{"type":"countries","id":"US"}}}`); st != http.StatusCreated {
			t.Fatalf("creating address %d: %d", i+1, st)
		}
	}
	if st := e.oroAdmin(http.MethodPatch, "b2bcustomers/1", `{"billingAddress":{"data":{"type":"addresses","id":"1"}},`+
		`"shippingAddress":{"data":{"type":"addresses","id":"2"}},"account":{"data":null}}`); st != http.StatusOK {
		t.Fatalf("linking the addresses: %d", st)
	}
	e.sync()
	if got := e.companyAddresses(); got["billing (primary)"] != 1 || got["shipping"] != 1 || len(got) != 2 {
		t.Errorf("company addresses by purpose %v, want one primary billing and one shipping address", got)
	}
}
