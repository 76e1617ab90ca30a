package contracts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
)

func compile(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, n := range append(contracts.SchemaNames(), "common") {
		b, err := contracts.Schema(n)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("schema %s: %v", n, err)
		}
		if err := c.AddResource("https://orosync.dev/schemas/"+n+".schema.json", doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("https://orosync.dev/schemas/" + name + ".schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, v any) error {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(doc)
}

func ptr[T any](v T) *T { return &v }

// One example of every Go message type; each must satisfy the JSON Schema a TypeScript consumer would use.
func examples() map[string]any {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	res := json.RawMessage(`{"type":"contacts","id":"42","attributes":{"firstName":"Zoë","lastName":"Łukasiewicz","primaryEmail":"zoe@example.com"},"relationships":{"accounts":{"data":[{"type":"accounts","id":"7"}]}}}`)
	hash, _ := events.PayloadHash(res)
	ref := events.RecordRef{Tenant: "acme", Type: "contacts", ID: "42"}
	dl := events.DeadLetter{Stage: "transformer", Record: &ref, Field: "attributes.primaryEmail", Rule: "email",
		Reason: "contacts 42: attributes.primaryEmail \"not-an-email\" is not an email address", Stream: "ORO_RAW",
		Subject: "oro.raw.acme.contacts.42", Sequence: 17, MsgID: "raw-abc", FailedAt: at}
	dl.SetPayload([]byte(`{"tenant":"acme"}`))
	return map[string]any{
		"raw-record": events.RawRecord{RecordRef: ref, UpdatedAt: &at, PayloadHash: hash, ObservedAt: at, Via: "poll",
			Resource: res, Included: []json.RawMessage{json.RawMessage(`{"type":"accounts","id":"7","attributes":{"name":"Acme"}}`)}},
		"tombstone": events.Tombstone{RecordRef: ref, DeletedAt: at, Reason: events.ReasonAudit, Op: events.OpDelete,
			LastSeen: &events.SourceVersion{UpdatedAt: at, PayloadHash: hash}, Evidence: &events.TombstoneEvidence{AuditID: 981, LoggedAt: &at}},
		"mercato-change": events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregatePerson, Source: ref,
			SourceVersion: events.SourceVersion{UpdatedAt: at, PayloadHash: hash}, MappingVersion: "contacts-v1",
			Person: &events.Person{DisplayName: "Zoë Łukasiewicz", PrimaryEmail: ptr("zoe@example.com"),
				FirstName: ptr("Zoë"), LastName: ptr("Łukasiewicz")}},
		"customer-event": events.CustomerEvent{ID: "0b7e3c1e-8f2a-4c55-9a57-2f1d3e4b5a60", EntityID: "5a0c2d8e-1b3f-4e6a-8c9d-0e1f2a3b4c5d",
			OrganizationID: "11111111-2222-4333-8444-555555555555", TenantID: "66666666-7777-4888-9999-aaaaaaaaaaaa", SyncOrigin: events.SyncOrigin},
		"dead-letter": dl,
		"conflict-event": events.ConflictEvent{ID: 12, Kind: "email-match", SourceType: "contacts", SourceID: "42",
			OrganizationID: "11111111-2222-4333-8444-555555555555", TenantID: "66666666-7777-4888-9999-aaaaaaaaaaaa", SyncOrigin: events.SyncOrigin},
	}
}

func TestEveryMessageTypeMatchesItsJSONSchema(t *testing.T) {
	ex := examples()
	for _, name := range contracts.SchemaNames() {
		v, ok := ex[name]
		if !ok {
			t.Errorf("schema %s has no Go example: add its type to examples()", name)
			continue
		}
		if err := validate(t, compile(t, name), v); err != nil {
			t.Errorf("%s example does not match its schema: %v", name, err)
		}
	}
	if len(ex) != len(contracts.SchemaNames()) {
		t.Errorf("%d examples for %d schemas", len(ex), len(contracts.SchemaNames()))
	}
}

func TestSchemasRejectWhatGoWouldNotProduce(t *testing.T) {
	change := examples()["mercato-change"].(events.Change)
	change.Person.PrimaryEmail = ptr("not-an-email")
	if err := validate(t, compile(t, "mercato-change"), change); err == nil {
		t.Error("a change with an invalid primary email passed the schema")
	}
	change.Person = nil
	if err := validate(t, compile(t, "mercato-change"), change); err == nil {
		t.Error("an upsert of a person without person data passed the schema")
	}
	raw := examples()["raw-record"].(events.RawRecord)
	raw.Tenant = "acme.eu"
	if err := validate(t, compile(t, "raw-record"), raw); err == nil {
		t.Error("a tenant that is not one subject token passed the schema")
	}
}

func TestEnsure(t *testing.T) {
	s := jstest.Start(t)
	ctx := context.Background()
	t.Run("creates the streams on file", func(t *testing.T) {
		for _, name := range []string{events.StreamOroRaw, events.StreamMercatoChanges, events.StreamMercatoEvents, events.StreamDeadLetter} {
			st, err := s.JS.Stream(ctx, name)
			if err != nil {
				t.Fatalf("stream %s: %v", name, err)
			}
			if st.CachedInfo().Config.Storage.String() != "File" {
				t.Errorf("stream %s storage %v, want file", name, st.CachedInfo().Config.Storage)
			}
		}
	})
	t.Run("creates the consumers", func(t *testing.T) {
		if _, err := s.JS.Consumer(ctx, events.StreamOroRaw, "transformer"); err != nil {
			t.Errorf("transformer consumer: %v", err)
		}
	})
	t.Run("creates the buckets", func(t *testing.T) {
		if _, err := s.JS.KeyValue(ctx, "OROSYNC_CURSORS"); err != nil {
			t.Errorf("cursor bucket: %v", err)
		}
	})
	// A second start over the same server finds everything as defined.
	t.Run("again finds everything as defined", func(t *testing.T) {
		if err := contracts.Ensure(ctx, s.JS, contracts.Options{}); err != nil {
			t.Fatalf("second Ensure: %v", err)
		}
	})
}

func TestEnsureOverAStreamChangedBehindItsBack(t *testing.T) {
	s := jstest.Start(t)
	ctx := context.Background()
	cfg, err := contracts.Stream(events.StreamMercatoEvents)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxAge = time.Hour
	if _, err := s.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	err = contracts.Ensure(ctx, s.JS, contracts.Options{})
	var drift *contracts.DriftError
	if !errors.As(err, &drift) {
		t.Fatalf("Ensure over a changed stream: %v, want a DriftError", err)
	}
	t.Run("names the difference", func(t *testing.T) {
		if drift.Name != events.StreamMercatoEvents || len(drift.Diffs) != 1 || !strings.HasPrefix(drift.Diffs[0], "max_age: server 3600000000000") {
			t.Errorf("drift = %+v", drift)
		}
	})
	t.Run("leaves the stream alone", func(t *testing.T) {
		st, _ := s.JS.Stream(ctx, events.StreamMercatoEvents)
		if st.CachedInfo().Config.MaxAge != time.Hour {
			t.Error("Ensure changed the stream it should have left alone")
		}
	})
}

func TestStreamFilesAreWhatTheNatsCLIAccepts(t *testing.T) {
	// nats stream add --config reads the server's JSON form; the fields must round-trip through jetstream's types.
	streams, err := contracts.Streams()
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range streams {
		if cfg.Name != name || len(cfg.Subjects) != 1 || cfg.Storage.String() != "File" {
			t.Errorf("stream %s: %+v", name, cfg)
		}
	}
	consumers, err := contracts.Consumers()
	if err != nil {
		t.Fatal(err)
	}
	for stream, list := range consumers {
		for _, c := range list {
			if c.Durable == "" || c.AckPolicy.String() != "AckExplicit" || !strings.HasPrefix(c.FilterSubject, streams[stream].Subjects[0][:len(streams[stream].Subjects[0])-1]) {
				t.Errorf("consumer %s/%s: %+v", stream, c.Durable, c)
			}
		}
	}
}

func TestEveryMercatoEventPayloadShapeMatchesTheCustomerEventSchema(t *testing.T) {
	org, ten := "11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-aaaaaaaaaaaa"
	s := compile(t, "customer-event")
	for name, v := range map[string]any{
		"customers.person_company_link.created": events.PersonCompanyLinkEvent{ID: "0b7e3c1e-8f2a-4c55-9a57-2f1d3e4b5a60",
			OrganizationID: org, TenantID: ten, PersonEntityID: "5a0c2d8e-1b3f-4e6a-8c9d-0e1f2a3b4c5d",
			CompanyEntityID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", SyncOrigin: events.SyncOrigin},
		"customers.address.created": events.RecordEvent{ID: "0b7e3c1e-8f2a-4c55-9a57-2f1d3e4b5a60", OrganizationID: org,
			TenantID: ten, SyncOrigin: events.SyncOrigin},
		"customers.interaction.created": events.InteractionEvent{ID: "0b7e3c1e-8f2a-4c55-9a57-2f1d3e4b5a60", OrganizationID: org,
			TenantID: ten, EntityID: "5a0c2d8e-1b3f-4e6a-8c9d-0e1f2a3b4c5d", InteractionType: "call", Status: "done",
			SyncOrigin: events.SyncOrigin},
		"customers.deal.updated": events.RecordEvent{ID: "0b7e3c1e-8f2a-4c55-9a57-2f1d3e4b5a60", OrganizationID: org,
			TenantID: ten, SyncOrigin: events.SyncOrigin},
		"customers.deal.won": events.DealClosureEvent{ID: "0b7e3c1e-8f2a-4c55-9a57-2f1d3e4b5a60", OrganizationID: org, TenantID: ten,
			Title: "Renewal", SyncOrigin: events.SyncOrigin},
	} {
		if err := validate(t, s, v); err != nil {
			t.Errorf("%s payload does not match the customer event schema: %v", name, err)
		}
	}
	if err := validate(t, s, map[string]string{"id": "x", "syncOrigin": "sync_orocrm"}); err == nil {
		t.Error("a payload of no Mercato shape passed")
	}
}
