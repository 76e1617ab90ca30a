package contracts_test

import (
	"testing"
	"time"

	"github.com/orosync/orosync/events"
)

// One example of every aggregate a change can carry, each as the transformer's default mapping produces it.
func aggregateExamples() map[string]events.Change {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	base := func(agg, typ, id string) events.Change {
		return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: agg,
			Source:        events.RecordRef{Tenant: "acme", Type: typ, ID: id},
			SourceVersion: events.SourceVersion{UpdatedAt: at, PayloadHash: "ab12"}, MappingVersion: "oro-v1"}
	}
	owner := &events.OroRef{Type: "users", ID: "1"}
	person := base(events.AggregatePerson, "contacts", "42")
	person.Person = &events.Person{DisplayName: "Zoë Łukasiewicz", FirstName: ptr("Zoë"), LastName: ptr("Łukasiewicz"),
		PrimaryEmail: ptr("zoe@example.com"), Emails: []string{"zoe@example.com", "z@example.org"}, Phones: []string{"+48 600"},
		LifecycleStage: ptr("lead"),
		Addresses: []events.Address{{Source: events.OroRef{Type: "contactaddresses", ID: "3"}, AddressLine1: ptr("1 Main St"),
			City: ptr("Kraków"), Country: ptr("PL"), Purpose: ptr("billing"), IsPrimary: true,
			CustomFields: map[string]any{"oro_first_name": "Zoë"}}},
		CompanyLinks: []events.CompanyLink{{Company: events.OroRef{Type: "accounts", ID: "7"}, IsPrimary: true},
			{Company: events.OroRef{Type: "accounts", ID: "8"}}},
		Extras: events.Extras{Owner: owner, CustomFields: map[string]any{"oro_birthday": "1973-03-07"},
			Related: []events.RelatedRef{{Role: "reportsTo", OroRef: events.OroRef{Type: "contacts", ID: "9"}}}}}
	company := base(events.AggregateCompany, "b2bcustomers", "5")
	company.Company = &events.Company{DisplayName: "Acme GmbH", PrimaryEmail: ptr("sales@acme.example"),
		MergeInto: &events.OroRef{Type: "accounts", ID: "7"}, Extras: events.Extras{Owner: owner}}
	deal := base(events.AggregateDeal, "opportunities", "3")
	deal.Deal = &events.Deal{Title: "Big one", Status: "win", Probability: ptr(35), ValueAmount: ptr("100.0000"),
		ValueCurrency: ptr("USD"), ExpectedCloseAt: ptr("2026-06-30"), People: []events.OroRef{{Type: "contacts", ID: "42"}},
		Companies: []events.OroRef{{Type: "accounts", ID: "7"}}, Stage: &events.DealStage{ID: "won", Label: "Closed Won", Order: 5, Probability: ptr(100)},
		Pipeline: []events.DealStage{{ID: "in_progress", Label: "Open", Order: 0, Probability: ptr(0)}, {ID: "won", Label: "Closed Won", Order: 5}}}
	interaction := base(events.AggregateInteraction, "tasks", "9")
	interaction.Interaction = &events.Interaction{InteractionType: "task", Title: ptr("Call back"), Status: "planned",
		Priority: ptr(2), ScheduledAt: ptr("2026-02-01T09:00:00Z"), Entity: &events.OroRef{Type: "contacts", ID: "42"},
		Participants:   []events.OroRef{{Type: "contacts", ID: "42"}, {Type: "accounts", ID: "7"}, {Type: "users", ID: "1"}, {Type: "opportunities", ID: "3"}},
		LinkedEntities: []events.OroRef{{Type: "contacts", ID: "42"}, {Type: "accounts", ID: "7"}, {Type: "users", ID: "1"}, {Type: "opportunities", ID: "3"}}}
	comment := base(events.AggregateComment, "notes", "2")
	comment.Comment = &events.Comment{Body: "hello", Targets: []events.OroRef{{Type: "contacts", ID: "42"}}, Author: owner}
	user := base(events.AggregateUser, "users", "1")
	user.User = &events.User{DisplayName: "John Doe", Username: ptr("admin"), Email: ptr("admin@example.com")}
	del := base(events.AggregateDeal, "opportunities", "3")
	del.Op = events.OpDelete
	return map[string]events.Change{"person": person, "company": company, "deal": deal, "interaction": interaction,
		"comment": comment, "user": user, "delete": del}
}

func TestEveryAggregateExampleMatchesTheChangeSchema(t *testing.T) {
	s := compile(t, "mercato-change")
	for name, c := range aggregateExamples() {
		if err := validate(t, s, c); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestChangeSchemaRejectsAnUpsertWithoutThePayloadItsAggregateNames(t *testing.T) {
	s := compile(t, "mercato-change")
	for name, c := range aggregateExamples() {
		if c.Op != events.OpUpsert {
			continue
		}
		c.Person, c.Company, c.Deal, c.Interaction, c.Comment, c.User = nil, nil, nil, nil, nil, nil
		if err := validate(t, s, c); err == nil {
			t.Errorf("%s upsert without payload passed", name)
		}
	}
	deal := aggregateExamples()["deal"]
	deal.Deal.Probability = ptr(250)
	if err := validate(t, s, deal); err == nil {
		t.Error("a probability of 250 % passed")
	}
}
