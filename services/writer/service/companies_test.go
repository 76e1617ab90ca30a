package service_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
)

func accountChange(id string, sec int, name string) events.Change {
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateCompany,
		Source:         events.RecordRef{Tenant: "acme", Type: "accounts", ID: id},
		SourceVersion:  events.SourceVersion{UpdatedAt: time.Unix(int64(1_700_000_000+sec), 0).UTC(), PayloadHash: name},
		MappingVersion: "accounts-v1", Company: &events.Company{DisplayName: name}}
}

func TestAnAccountReachedByAContactThenByAMergedB2BCustomer(t *testing.T) {
	h := start(t)
	merged := accountChange("b2b-5", 10, "Acme shop")
	merged.Source.Type = "b2bcustomers"
	merged.Company.MergeInto = &events.OroRef{Type: "accounts", ID: "7"}
	contact := person("1", 10, "Ann", "Lee", "ann@example.com")
	contact.Person.CompanyLinks = []events.CompanyLink{{Company: events.OroRef{Type: "accounts", ID: "7"}, IsPrimary: true}}
	h.publish(contact, merged)
	h.drain()
	h.publish(accountChange("7", 10, "Acme"))
	h.drain()

	var companyID, linkCompany string
	if err := h.db.QueryRow(h.ctx, `SELECT e.id::text, p.company_entity_id::text FROM customer_entities e, customer_people p
WHERE e.kind = 'company'`).Scan(&companyID, &linkCompany); err != nil {
		t.Fatal(err)
	}
	t.Run("the person's primary company is the account's", func(t *testing.T) {
		if linkCompany != companyID {
			t.Errorf("primary company %s, want %s", linkCompany, companyID)
		}
	})
	t.Run("company, link and person events reach MERCATO_EVENTS", func(t *testing.T) {
		cons, err := h.js.OrderedConsumer(h.ctx, events.StreamMercatoEvents, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]map[string]string{}
		for len(seen) < 3 {
			m, err := cons.Next(jetstream.FetchContext(h.ctx))
			if err != nil {
				t.Fatalf("waiting for events (have %v): %v", seen, err)
			}
			payload := map[string]string{}
			if err := json.Unmarshal(m.Data(), &payload); err != nil {
				t.Fatal(err)
			}
			seen[m.Headers().Get(events.HeaderType)] = payload
			if !strings.HasPrefix(m.Subject(), "mercato.events.acme."+m.Headers().Get(events.HeaderType)+".") {
				t.Errorf("event %s on subject %s", m.Headers().Get(events.HeaderType), m.Subject())
			}
		}
		if c := seen["customers.company.created"]; c == nil || c["entityId"] != companyID || c["syncOrigin"] != "sync_orocrm" {
			t.Errorf("company event %v", c)
		}
		if l := seen["customers.person_company_link.created"]; l == nil || l["companyEntityId"] != companyID || l["personEntityId"] == "" {
			t.Errorf("link event %v", l)
		}
		if seen["customers.person.created"] == nil {
			t.Errorf("events %v", seen)
		}
	})
	t.Run("a merged b2b customer is neither a company nor an external id", func(t *testing.T) {
		if n := h.count(`SELECT count(*) FROM sync_external_id_mappings WHERE internal_entity_type = 'customers.company'
	AND internal_entity_id = '` + companyID + `' AND deleted_at IS NULL`); n != 1 {
			t.Errorf("the company has %d live external ids, want 1 (the account's: Mercato keeps one mapping per record)", n)
		}
		if n := h.count(`SELECT count(*) FROM customer_entities WHERE kind = 'company'`); n != 1 {
			t.Errorf("%d companies, want 1 (the merged b2b customer is not a company of its own)", n)
		}
	})
}
