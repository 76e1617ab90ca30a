package adapters_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/app"
)

func withCustomFields(c events.Change, fields map[string]any) events.Change {
	switch {
	case c.Person != nil:
		p := *c.Person
		p.CustomFields = fields
		c.Person = &p
	case c.Company != nil:
		co := *c.Company
		co.CustomFields = fields
		c.Company = &co
	case c.Deal != nil:
		d := *c.Deal
		d.CustomFields = fields
		c.Deal = &d
	case c.Interaction != nil:
		in := *c.Interaction
		in.CustomFields = fields
		c.Interaction = &in
	}
	return c
}

// customFieldRows lists the custom_field_values of an entity as "record key column=value", sorted.
func (e *env) customFieldRows(entity string) []string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `
SELECT record_id || ' ' || field_key || ' ' || coalesce('text=' || value_text, 'multiline=' || value_multiline,
       'int=' || value_int, 'float=' || value_float, 'bool=' || value_bool, 'none')
FROM custom_field_values WHERE entity_id = $1 AND deleted_at IS NULL ORDER BY 1`, entity)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// Without a definition (an admin removed it), Mercato picks the column from the value (columnFromJsValue).
func TestDealCustomFieldsWithoutADefinitionGoToTheColumnOfTheirValue(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, withCustomFields(dealChange("7", 10, "Renewal", nil, nil), map[string]any{
		"oro_budget_amount": "1500.00", "oro_note": "first line\nsecond line", "oro_seats": float64(12), "oro_ratio": 0.25,
		"oro_strategic": true, "oro_to": []any{"a@x.example", "b@x.example"}, "oro_close_reason": nil,
		"oro_meta": map[string]any{"k": "v"}}))
	deal, _ := e.mapped(events.AggregateDeal, "opportunities:7")
	got := e.customFieldRows("customers:customer_deal")
	want := []string{
		deal + " oro_budget_amount text=1500.00",
		deal + " oro_meta text={\"k\":\"v\"}",
		deal + " oro_note text=first line\nsecond line",
		deal + " oro_ratio float=0.25",
		deal + " oro_seats int=12",
		deal + " oro_strategic bool=true",
		deal + " oro_to text=a@x.example",
		deal + " oro_to text=b@x.example",
	}
	if !slices.Equal(got, want) {
		t.Errorf("custom field values:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := e.count(`SELECT count(*) FROM custom_field_values WHERE organization_id = $1 AND tenant_id = $2`,
		scope.OrganizationID, scope.TenantID); n != len(want) {
		t.Errorf("%d of %d values carry the deal's organization and tenant", n, len(want))
	}
}

func TestOnlyCustomFieldsOroChangedAreRewritten(t *testing.T) {
	e := newEnv(t, scope)
	v1 := withCustomFields(dealChange("7", 10, "Renewal", nil, nil),
		map[string]any{"oro_budget_amount": "1500.00", "oro_customer": "42", "oro_close_reason": "outsold"})
	e.apply(nil, v1)
	deal, _ := e.mapped(events.AggregateDeal, "opportunities:7")
	if _, err := e.db.Exec(e.ctx, `UPDATE custom_field_values SET value_text = 'edited in Mercato'
WHERE record_id = $1 AND field_key = 'oro_customer'`, deal); err != nil {
		t.Fatal(err)
	}
	updates := func() int { return len(e.events("customers.deal.updated")) }
	before := updates()

	// Oro changes the budget and drops the close reason; the deal's own columns stay as they were.
	v2 := withCustomFields(dealChange("7", 20, "Renewal", nil, nil), map[string]any{"oro_budget_amount": "1750.00", "oro_customer": "42"})
	e.apply(nil, v2)
	want := []string{deal + " oro_budget_amount text=1750.00", deal + " oro_customer text=edited in Mercato"}
	if got := e.customFieldRows("customers:customer_deal"); !slices.Equal(got, want) {
		t.Errorf("after Oro's change:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Mercato's deal update command announces the deal whatever changed (its custom fields: notify false).
	evts := e.events("customers.deal.updated")
	if len(evts) != before+1 || evts[before]["id"] != deal || evts[before]["tenantId"] != scope.TenantID.String() ||
		evts[before]["syncOrigin"] != events.SyncOrigin {
		t.Errorf("customers.deal.updated events: %v, want one more for deal %s", evts, deal)
	}
	if n := len(e.events("customers.customer_deal.updated")); n != 0 {
		t.Errorf("%d customers.customer_deal.updated events: Mercato emits none", n)
	}

	e.apply(nil, v2) // redelivered
	e.apply(nil, v1) // older, arriving late
	if got := e.customFieldRows("customers:customer_deal"); !slices.Equal(got, want) {
		t.Errorf("after a redelivery and a late older version:\n%s", strings.Join(got, "\n"))
	}
	if n := updates(); n != before+1 {
		t.Errorf("%d deal updated events after a redelivery, want %d", n, before+1)
	}

	// A deal whose title and custom fields change in one version is announced once, as customers.deal.updated.
	e.apply(nil, withCustomFields(dealChange("7", 30, "Renewal 2027", nil, nil), map[string]any{"oro_budget_amount": "2000.00"}))
	if n := updates(); n != before+2 {
		t.Errorf("a deal announced as updated was announced again for its custom fields (%d events, want %d)", n, before+2)
	}
	if got := e.customFieldRows("customers:customer_deal"); !slices.Equal(got, []string{deal + " oro_budget_amount text=2000.00"}) {
		t.Errorf("after a version dropping oro_customer:\n%s", strings.Join(got, "\n"))
	}
}

func TestCustomFieldsAppliedTwiceOrInReverseLeaveIdenticalRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var stream []events.Change
	for i := 1; i <= 6; i++ {
		id := string(rune('0' + i))
		stream = append(stream, contact{id: id, first: "F", last: id, email: id + "@x.example", sec: 1}.change())
		for v := range 1 + rng.IntN(3) {
			fields := map[string]any{"oro_budget_amount": []string{"100.00", "250.50", "900.00"}[rng.IntN(3)], "oro_version": float64(v)}
			if rng.IntN(2) == 0 {
				fields["oro_to"] = []any{"a@x.example", []string{"b@x.example", "c@x.example"}[rng.IntN(2)]}
			}
			stream = append(stream, withCustomFields(dealChange(id, 10+10*v, "Deal "+id, nil, nil), fields),
				withCustomFields(interactionChange("calls", id, 10+10*v, "Call "+id, ref("contacts", id), ref("opportunities", id)),
					map[string]any{"oro_direction": []string{"incoming", "outgoing"}[rng.IntN(2)], "oro_duration": float64(rng.IntN(600))}))
		}
	}
	rows := func(e *env) string {
		var s string
		if err := e.db.QueryRow(e.ctx, `SELECT coalesce(string_agg(x, E'\n' ORDER BY x), '') FROM (
  SELECT ROW(id, entity_id, record_id, organization_id, tenant_id, field_key, value_text, value_multiline, value_int, value_float,
             value_bool, deleted_at IS NOT NULL)::text FROM custom_field_values) t(x)`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, want := appliedTwiceAndInReverse(t, stream, 4, rows)
	if !strings.Contains(want, "oro_direction") || !strings.Contains(want, "oro_budget_amount") {
		t.Fatalf("the stream wrote no deal or interaction custom fields:\n%s", want)
	}
}

func TestACallsDirectionIsKeptAsACustomFieldMercatoHasNoColumnFor(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, contact{id: "1", first: "Ada", last: "L", email: "ada@x.example", sec: 1}.change())
	call := interactionChange("calls", "3", 10, "Call", ref("contacts", "1"))
	in := *call.Interaction
	in.Direction = ptr("outgoing")
	call.Interaction = &in
	e.apply(nil, call)
	id, _ := e.mapped(events.AggregateInteraction, "calls:3")
	if got, want := e.customFieldRows("customers:customer_interaction"), []string{id + " oro_direction text=outgoing"}; !slices.Equal(got, want) {
		t.Errorf("custom fields of the call: %v, want %v", got, want)
	}
}

func TestACustomFieldValueMercatoCannotStoreFailsNamingItsField(t *testing.T) {
	e := newEnv(t, scope)
	_, err := app.ApplyChanges{Store: e.store}.Handle(e.ctx, []events.Change{
		withCustomFields(dealChange("9", 10, "Huge", nil, nil), map[string]any{"oro_budget_amount": math.MaxFloat64})})
	if err == nil || !strings.Contains(err.Error(), "opportunities/9") || !strings.Contains(err.Error(), "oro_budget_amount") {
		t.Fatalf("err = %v, want one naming opportunities/9 and oro_budget_amount", err)
	}
	if n := e.count(`SELECT count(*) FROM customer_deals`); n != 0 {
		t.Errorf("the failed batch left %d deals", n)
	}
}

func TestProfileCustomFieldsGoToTheProfileRows(t *testing.T) {
	e := newEnv(t, scope)
	ada := contact{id: "1", first: "Ada", last: "Lovelace", email: "ada@x.example", sec: 1}
	e.apply(nil, withCustomFields(account{id: "5", name: "Analytical", sec: 1}.change(), map[string]any{"oro_external_id": "X-5"}),
		withCustomFields(ada.change(), map[string]any{"oro_gender": "female", "oro_birthday": "1815-12-10"}))
	var person, company string
	if err := e.db.QueryRow(e.ctx, `SELECT (SELECT id::text FROM customer_people), (SELECT id::text FROM customer_companies)`).
		Scan(&person, &company); err != nil {
		t.Fatal(err)
	}
	if got, want := e.customFieldRows("customers:customer_person_profile"),
		[]string{person + " oro_birthday text=1815-12-10", person + " oro_gender text=female"}; !slices.Equal(got, want) {
		t.Errorf("person custom fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := e.customFieldRows("customers:customer_company_profile"), []string{company + " oro_external_id text=X-5"}; !slices.Equal(got, want) {
		t.Errorf("company custom fields: %v, want %v", got, want)
	}

	// Mercato's people commands set custom fields with notify (people.ts setCustomFieldsForPerson; engine.ts
	// setCustomFields emits <module>.<entity>.updated {id: record}), its company commands without (companies.ts).
	if evts := e.events("customers.customer_person_profile.updated"); len(evts) != 1 || evts[0]["id"] != person {
		t.Errorf("creating a person with custom fields: customers.customer_person_profile.updated %v, want one for %s", evts, person)
	}
	if evts := e.events("customers.customer_company_profile.updated"); len(evts) != 0 {
		t.Errorf("Mercato never emits customers.customer_company_profile.updated; got %v", evts)
	}

	// A version changing only a custom field: the update command announces the person and its custom fields.
	personEvents := len(e.events("customers.person.updated"))
	v2 := withCustomFields(ada.change(), map[string]any{"oro_gender": "female", "oro_birthday": "1815-12-10", "oro_skype": "ada.l"})
	v2.SourceVersion = events.SourceVersion{UpdatedAt: v2.SourceVersion.UpdatedAt.Add(time.Hour), PayloadHash: "with skype"}
	e.apply(nil, v2)
	if n := len(e.events("customers.person.updated")); n != personEvents+1 {
		t.Errorf("a change of custom fields only emitted %d customers.person.updated, want 1", n-personEvents)
	}
	if evts := e.events("customers.customer_person_profile.updated"); len(evts) != 2 || evts[1]["id"] != person {
		t.Errorf("customers.customer_person_profile.updated events: %v, want a second for %s", evts, person)
	}
	if got := e.customFieldRows("customers:customer_person_profile"); len(got) != 3 || got[2] != person+" oro_skype text=ada.l" {
		t.Errorf("after the new field: %v", got)
	}
	e.apply(nil, v2) // redelivered
	if n := len(e.events("customers.customer_person_profile.updated")); n != 2 {
		t.Errorf("a redelivery emitted %d more custom-field events", n-2)
	}

	// A company's custom fields alone changing: the company's own update event, nothing else.
	co := withCustomFields(account{id: "5", name: "Analytical", sec: 2}.change(), map[string]any{"oro_external_id": "X-6"})
	e.apply(nil, co)
	if evts := e.events("customers.company.updated"); len(evts) != 1 || evts[0]["id"] != company {
		t.Errorf("customers.company.updated after a custom field change: %v, want one for %s", evts, company)
	}
	if evts := e.events("customers.customer_company_profile.updated"); len(evts) != 0 {
		t.Errorf("Mercato never emits customers.customer_company_profile.updated; got %v", evts)
	}
}
