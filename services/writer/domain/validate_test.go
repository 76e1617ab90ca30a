package domain

import (
	"strings"
	"testing"

	"github.com/orosync/orosync/events"
)

func TestRecordValuesMercatoWouldRefuseAreRejectedNamingTheirField(t *testing.T) {
	base := func() events.Change {
		return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateDeal,
			Source: events.RecordRef{Tenant: "acme", Type: "opportunities", ID: "1"}, Deal: &events.Deal{Title: "T"}}
	}
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	for name, tc := range map[string]struct {
		change events.Change
		field  string
	}{
		"no title":          {func() events.Change { c := base(); c.Deal.Title = " "; return c }(), "deal.title"},
		"amount not number": {func() events.Change { c := base(); c.Deal.ValueAmount = str("1e5"); return c }(), "deal.valueAmount"},
		"amount too large":  {func() events.Change { c := base(); c.Deal.ValueAmount = str("999999999999.996"); return c }(), "deal.valueAmount"},
		"probability 150":   {func() events.Change { c := base(); c.Deal.Probability = num(150); return c }(), "deal.probability"},
		"close date":        {func() events.Change { c := base(); c.Deal.ExpectedCloseAt = str("31/12/2026"); return c }(), "deal.expectedCloseAt"},
		"interaction without target": {events.Change{Op: events.OpUpsert, Aggregate: events.AggregateInteraction,
			Interaction: &events.Interaction{InteractionType: "task"}}, "interaction.entity"},
		"comment without body": {events.Change{Op: events.OpUpsert, Aggregate: events.AggregateComment,
			Comment: &events.Comment{Targets: []events.OroRef{{Type: "contacts", ID: "1"}}}}, "comment.body"},
		"custom field beyond real": {events.Change{Op: events.OpUpsert, Aggregate: events.AggregatePerson, Source: events.RecordRef{Type: "contacts", ID: "4"},
			Person: &events.Person{DisplayName: "A", Extras: events.Extras{CustomFields: map[string]any{"oro_gender": "f", "oro_budget": 1e300}}}},
			"customFields.oro_budget"},
		"custom field with NUL": {events.Change{Op: events.OpUpsert, Aggregate: events.AggregateDeal, Source: events.RecordRef{Type: "opportunities", ID: "4"},
			Deal: &events.Deal{Title: "T", Extras: events.Extras{CustomFields: map[string]any{"oro_to": []any{"a", "b\x00"}}}}}, "customFields.oro_to"},
		"user without name": {events.Change{Op: events.OpUpsert, Aggregate: events.AggregateUser, User: &events.User{}}, "user.displayName"},
		"a handle as linkedIn URL": {events.Change{Op: events.OpUpsert, Aggregate: events.AggregatePerson,
			Person: &events.Person{DisplayName: "A", LinkedInURL: str("ada-lovelace")}}, "person.linkedInUrl"},
		"a twitter URL of another kind": {events.Change{Op: events.OpUpsert, Aggregate: events.AggregatePerson,
			Person: &events.Person{DisplayName: "A", TwitterURL: str("ftp://twitter.com/ada")}}, "person.twitterUrl"},
	} {
		err := validateRecord(tc.change)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.field)
		}
	}
	ok := base()
	ok.Deal.ValueAmount, ok.Deal.ExpectedCloseAt, ok.Deal.Probability = str("999999999999.99"), str("2026-12-31"), num(100)
	if err := validateRecord(ok); err != nil {
		t.Errorf("valid deal refused: %v", err)
	}
}
