package service_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
)

func TestRecordChangesLandInMercatoTablesWithTheirEvents(t *testing.T) {
	h := start(t)
	v := func(sec int) events.SourceVersion {
		return events.SourceVersion{UpdatedAt: time.Unix(int64(1_700_000_000+sec), 0).UTC(), PayloadHash: "h"}
	}
	contact := events.OroRef{Type: "contacts", ID: "1"}
	deal := events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateDeal,
		Source: events.RecordRef{Tenant: "acme", Type: "opportunities", ID: "9"}, SourceVersion: v(10), MappingVersion: "oro-v1",
		Deal: &events.Deal{Title: "Renewal", Status: "open", People: []events.OroRef{contact}}}
	title := "Call back"
	task := events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateInteraction,
		Source: events.RecordRef{Tenant: "acme", Type: "tasks", ID: "3"}, SourceVersion: v(10), MappingVersion: "oro-v1",
		Interaction: &events.Interaction{InteractionType: "task", Title: &title, Status: "planned", Entity: &contact,
			Participants: []events.OroRef{contact, {Type: "opportunities", ID: "9"}}}}
	note := events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateComment,
		Source: events.RecordRef{Tenant: "acme", Type: "notes", ID: "5"}, SourceVersion: v(10), MappingVersion: "oro-v1",
		Comment: &events.Comment{Body: "Met at the fair", Targets: []events.OroRef{contact}}}
	badDeal := deal
	badDeal.Source.ID, badDeal.Deal = "10", &events.Deal{Title: "Bad", ValueAmount: ptr("lots")}
	// The records arrive before the contact they reference: they wait for it, then land.
	h.publish(deal, task, note, badDeal)
	h.drain()
	h.publish(person("1", 10, "Ann", "Lee", "ann@example.com"))
	h.drain()

	personID := h.row("1").entityID.String()
	var dealID, dealPerson, interactionEntity, interactionDeal, commentEntity string
	if err := h.db.QueryRow(h.ctx, `SELECT d.id::text, dp.person_entity_id::text FROM customer_deals d
JOIN customer_deal_people dp ON dp.deal_id = d.id WHERE d.title = 'Renewal'`).Scan(&dealID, &dealPerson); err != nil {
		t.Fatalf("deal: %v", err)
	}
	if err := h.db.QueryRow(h.ctx, `SELECT entity_id::text, deal_id::text FROM customer_interactions WHERE title = 'Call back'`).
		Scan(&interactionEntity, &interactionDeal); err != nil {
		t.Fatalf("interaction: %v", err)
	}
	if err := h.db.QueryRow(h.ctx, `SELECT entity_id::text FROM customer_comments WHERE body = 'Met at the fair'`).Scan(&commentEntity); err != nil {
		t.Fatalf("comment: %v", err)
	}
	if dealPerson != personID || interactionEntity != personID || interactionDeal != dealID || commentEntity != personID {
		t.Errorf("person %s; deal person %s, interaction entity %s deal %s (deal %s), comment entity %s", personID, dealPerson,
			interactionEntity, interactionDeal, dealID, commentEntity)
	}
	if n := h.count(`SELECT count(*) FROM customer_deals WHERE title = 'Bad'`); n != 0 {
		t.Errorf("a deal with an invalid amount was written")
	}

	cons, err := h.js.OrderedConsumer(h.ctx, events.StreamMercatoEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"mercato.events.acme.customers.deal.>", "mercato.events.acme.customers.interaction.>",
			"mercato.events.acme.customers.comment.>"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]any{}
	for len(seen) < 3 {
		m, err := cons.Next(jetstream.FetchContext(h.ctx))
		if err != nil {
			t.Fatalf("waiting for events (have %v): %v", seen, err)
		}
		payload := map[string]any{}
		if err := json.Unmarshal(m.Data(), &payload); err != nil {
			t.Fatal(err)
		}
		if typ := m.Headers().Get(events.HeaderType); strings.HasSuffix(typ, ".created") {
			seen[typ] = payload
		}
	}
	if d := seen["customers.deal.created"]; d["id"] != dealID || d["syncOrigin"] != "sync_orocrm" {
		t.Errorf("deal event %v", d)
	}
	if i := seen["customers.interaction.created"]; i["entityId"] != personID || i["interactionType"] != "task" || i["status"] != "planned" {
		t.Errorf("interaction event %v", i)
	}
	if c := seen["customers.comment.created"]; c["syncOrigin"] != "sync_orocrm" || c["tenantId"] != scope.TenantID.String() {
		t.Errorf("comment event %v", c)
	}
	dlq, err := h.js.OrderedConsumer(h.ctx, events.StreamDeadLetter, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := dlq.Next(jetstream.FetchContext(h.ctx))
	if err != nil {
		t.Fatal(err)
	}
	var dl events.DeadLetter
	_ = json.Unmarshal(m.Data(), &dl)
	if dl.Record == nil || dl.Record.ID != "10" || !strings.Contains(dl.Reason, "deal.valueAmount") {
		t.Errorf("dead letter %+v", dl)
	}
}
