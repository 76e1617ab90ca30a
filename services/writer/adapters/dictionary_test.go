package adapters_test

import (
	"testing"

	"github.com/orosync/orosync/events"
)

func TestALeadGetsItsLifecycleStageWithADictionaryEntryForEveryValue(t *testing.T) {
	e := newEnv(t, scope)
	lead := contact{id: "L1", first: "Lea", last: "Day", email: "lea@example.com", sec: 10}.change()
	lead.Source.Type = "leads"
	lead.Person.LifecycleStage = ptr("lead")
	lead.Person.Addresses = []events.Address{{Source: events.OroRef{Type: "leadaddresses", ID: "1"}, AddressLine1: ptr("1 Main St"),
		Purpose: ptr("billing,Shipping ")}}
	e.apply(nil, lead)
	stage := func() string {
		var s *string
		if err := e.db.QueryRow(e.ctx, `SELECT lifecycle_stage FROM customer_entities WHERE id = $1`, e.person("leads:L1").entityID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return deref(s)
	}
	if got := stage(); got != "lead" {
		t.Errorf("lifecycle_stage %q, want lead", got)
	}
	if n := len(e.events("customers.person.updated")); n != 0 {
		t.Errorf("%d updated events for a person just created", n)
	}
	e.apply(nil, dealChange("9", 10, "Deal", nil, nil), interactionChange("calls", "1", 10, "Hi", ref("leads", "L1")))
	for _, want := range []struct{ kind, normalized, value string }{
		{"lifecycle_stage", "lead", "lead"}, {"address_type", "billing", "billing"}, {"address_type", "shipping", "Shipping"},
		{"deal_status", "open", "open"}, {"activity_type", "call", "call"}, {"interaction_status", "planned", "planned"},
	} {
		if n := e.count(`SELECT count(*) FROM customer_dictionary_entries WHERE organization_id = $1 AND tenant_id = $2 AND kind = $3
AND normalized_value = $4 AND value = $5 AND label = $5`, scope.OrganizationID, scope.TenantID, want.kind, want.normalized, want.value); n != 1 {
			t.Errorf("dictionary %s %q: %d entries, want 1", want.kind, want.value, n)
		}
	}

	// A newer version with another stage moves it (one updated event); an older one arriving late does not.
	converted := contact{id: "L1", first: "Lea", last: "Day", email: "lea@example.com", sec: 20}.change()
	converted.Source.Type, converted.Person.LifecycleStage = "leads", ptr("customer")
	e.apply(nil, converted)
	if got := stage(); got != "customer" {
		t.Errorf("lifecycle_stage %q after a newer version, want customer", got)
	}
	e.apply(nil, lead)
	if got := stage(); got != "customer" {
		t.Errorf("lifecycle_stage %q after an older version arrived late, want customer", got)
	}
	if n := len(e.events("customers.person.updated")); n != 1 {
		t.Errorf("%d updated events, want 1", n)
	}
}

// A person created by an earlier batch and never updated since gets its updated event when only its lifecycle
// stage changes, and a person whose batch announced it anyway gets no second one.
func TestALifecycleStageChangeOfAnUntouchedPersonIsAnnounced(t *testing.T) {
	lead := func(sec int, first, stage string) events.Change {
		c := contact{id: "L1", first: first, last: "Day", email: "lea@example.com", sec: sec}.change()
		c.Source.Type, c.Person.LifecycleStage = "leads", ptr(stage)
		return c
	}
	e := newEnv(t, scope)
	e.apply(nil, lead(10, "Lea", "lead"))
	t.Run("stage alone", func(t *testing.T) {
		e.apply(nil, lead(20, "Lea", "customer"))
		if n := len(e.events("customers.person.updated")); n != 1 {
			t.Errorf("%d customers.person.updated events, want 1", n)
		}
	})
	t.Run("stage with another value", func(t *testing.T) {
		e.apply(nil, lead(30, "Leah", "lead"))
		if n := len(e.events("customers.person.updated")); n != 2 {
			t.Errorf("%d customers.person.updated events, want 2", n)
		}
	})
}
