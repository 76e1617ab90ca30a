package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/service"
)

var scope = service.Scope{TenantID: uuid.MustParse("11111111-1111-4111-8111-111111111111"),
	OrganizationID: uuid.MustParse("22222222-2222-4222-8222-222222222222")}

type harness struct {
	t         testing.TB
	ctx       context.Context
	js        jetstream.JetStream
	db        *pgxpool.Pool
	committed chan app.Result
	seq       int
}

func start(t *testing.T) *harness { t.Helper(); return startWith(t, nil) }

// startWith runs the writer with the config configure adjusts.
func startWith(t testing.TB, configure func(*service.Config)) *harness {
	t.Helper()
	s := jstest.Start(t)
	url := dbtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	h := &harness{t: t, ctx: ctx, js: s.JS, committed: make(chan app.Result, 100)}
	done := make(chan error, 1)
	cfg := service.Config{NatsURL: s.URL, DatabaseURL: url, Tenants: map[string]service.Scope{"acme": scope},
		Committed: func(r app.Result) { h.committed <- r }}
	if configure != nil {
		configure(&cfg)
	}
	go func() { done <- service.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("writer: %v", err)
		}
	})
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h.db = pool
	return h
}

func ptr(s string) *string { return &s }

func person(id string, sec int, first, last, email string) events.Change {
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregatePerson,
		Source:         events.RecordRef{Tenant: "acme", Type: "contacts", ID: id},
		SourceVersion:  events.SourceVersion{UpdatedAt: time.Unix(int64(1_700_000_000+sec), 0).UTC(), PayloadHash: first + last + email},
		MappingVersion: "contacts-v1",
		Person:         &events.Person{DisplayName: first + " " + last, FirstName: ptr(first), LastName: ptr(last), PrimaryEmail: ptr(email)}}
}

// publish sends changes; each publish gets a fresh Nats-Msg-Id so JetStream's de-duplication does not hide
// redeliveries from the writer: its own idempotency is what is under test.
func (h *harness) publish(changes ...events.Change) {
	h.t.Helper()
	for _, c := range changes {
		body, _ := json.Marshal(c)
		subj, err := c.Subject()
		if err != nil {
			h.t.Fatal(err)
		}
		h.seq++
		msg := nats.NewMsg(subj)
		msg.Data = body
		events.Envelope{ID: c.MsgID() + "-" + uuid.NewString(), Source: "/test", Type: events.TypeChange, Time: time.Now()}.Apply(msg.Header)
		if _, err := h.js.PublishMsg(h.ctx, msg); err != nil {
			h.t.Fatal(err)
		}
	}
}

// drain waits until every change published so far has been acknowledged.
func (h *harness) drain() {
	h.t.Helper()
	cons, err := h.js.Consumer(h.ctx, events.StreamMercatoChanges, "writer")
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := h.js.Stream(h.ctx, events.StreamMercatoChanges)
	if err != nil {
		h.t.Fatal(err)
	}
	// The stream's last sequence is read first: the consumer's own pending count can lag a message just stored.
	si, err := st.Info(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for {
		info, err := cons.Info(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if info.AckFloor.Stream >= si.State.LastSeq && info.NumAckPending == 0 {
			return
		}
		select {
		case <-h.committed:
		case <-time.After(50 * time.Millisecond):
		case <-h.ctx.Done():
			h.t.Fatal("changes not applied in time")
		}
	}
}

type row struct {
	entityID                uuid.UUID
	display, email          string
	first, last             string
	updatedAt               time.Time
	deleted                 bool
	mappings, mappingsAlive int
}

func (h *harness) row(oroID string) row {
	h.t.Helper()
	var r row
	err := h.db.QueryRow(h.ctx, `
SELECT e.id, e.display_name, e.primary_email, p.first_name, p.last_name, e.updated_at, e.deleted_at IS NOT NULL,
  (SELECT count(*) FROM sync_external_id_mappings m WHERE m.internal_entity_id = e.id),
  (SELECT count(*) FROM sync_external_id_mappings m WHERE m.internal_entity_id = e.id AND m.deleted_at IS NULL)
FROM sync_external_id_mappings m0
JOIN customer_entities e ON e.id = m0.internal_entity_id AND e.kind = 'person'
JOIN customer_people p ON p.entity_id = e.id
WHERE m0.integration_id = 'sync_orocrm' AND m0.internal_entity_type = 'customers.person' AND m0.external_id = 'contacts:' || $1
  AND e.tenant_id = $2 AND e.organization_id = $3`, oroID, scope.TenantID, scope.OrganizationID).
		Scan(&r.entityID, &r.display, &r.email, &r.first, &r.last, &r.updatedAt, &r.deleted, &r.mappings, &r.mappingsAlive)
	if err != nil {
		h.t.Fatalf("person for contact %s: %v", oroID, err)
	}
	return r
}

func (h *harness) count(q string) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(h.ctx, q).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestRedeliveredOrReorderedChangesConvergeWithoutTouchingRows(t *testing.T) {
	h := start(t)
	h.publish(person("1", 10, "Ann", "Old", "ann@example.com"), person("2", 10, "Bob", "Ray", "bob@example.com"))
	h.drain()
	ann, bob := h.row("1"), h.row("2")
	if ann.display != "Ann Old" || ann.email != "ann@example.com" || ann.mappings != 1 || bob.first != "Bob" {
		t.Fatalf("first apply: %+v %+v", ann, bob)
	}
	// The same versions again, and an older version of Ann: nothing changes, not even updated_at.
	h.publish(person("1", 10, "Ann", "Old", "ann@example.com"), person("2", 10, "Bob", "Ray", "bob@example.com"), person("1", 5, "Ann", "Older", "a@example.com"))
	h.drain()
	if again := h.row("1"); again != ann {
		t.Errorf("redelivery changed Ann: %+v → %+v", ann, again)
	}
	if again := h.row("2"); again != bob {
		t.Errorf("redelivery changed Bob: %+v → %+v", bob, again)
	}
	// A newer version of Ann updates exactly Ann.
	h.publish(person("1", 20, "Ann", "New", "ann@example.com"))
	h.drain()
	if got := h.row("1"); got.display != "Ann New" || got.entityID != ann.entityID || !got.updatedAt.After(ann.updatedAt) {
		t.Errorf("update: %+v", got)
	}
	if got := h.row("2"); got != bob {
		t.Errorf("updating Ann touched Bob: %+v", got)
	}
	if n := h.count(`SELECT count(*) FROM customer_entities`); n != 2 {
		t.Errorf("%d entities, want 2", n)
	}
}

func TestDeletedContact(t *testing.T) {
	h := start(t)
	c := person("7", 10, "Zoë", "Ørsted", "zoe@example.com")
	h.publish(c)
	h.drain()
	t.Run("is soft-deleted by its tombstone", func(t *testing.T) {
		del := events.Change{Tenant: "acme", Op: events.OpDelete, Aggregate: events.AggregatePerson, Source: c.Source,
			SourceVersion: c.SourceVersion, MappingVersion: c.MappingVersion}
		h.publish(del)
		h.drain()
		if r := h.row("7"); !r.deleted || r.mappingsAlive != 0 {
			t.Errorf("after tombstone: %+v", r)
		}
	})
	t.Run("comes back when it reappears", func(t *testing.T) {
		h.publish(person("7", 30, "Zoë", "Ørsted", "zoe@example.com"))
		h.drain()
		if r := h.row("7"); r.deleted || r.mappingsAlive != 1 || r.mappings != 1 {
			t.Errorf("after reappearing: %+v", r)
		}
	})
}

func TestWriterPublishesMercatoEventsFromItsOutbox(t *testing.T) {
	h := start(t)
	h.publish(person("1", 10, "Ann", "Lee", "ann@example.com"))
	h.drain()
	h.publish(person("1", 20, "Ann", "Lee-Smith", "ann@example.com"))
	h.drain()
	r := h.row("1")
	cons, err := h.js.OrderedConsumer(h.ctx, events.StreamMercatoEvents, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"customers.person.created", "customers.person.updated"} {
		m, err := cons.Next(jetstream.FetchContext(h.ctx))
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		var ev events.CustomerEvent
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if m.Headers().Get(events.HeaderType) != want || ev.EntityID != r.entityID.String() || ev.TenantID != scope.TenantID.String() ||
			ev.SyncOrigin != "sync_orocrm" || m.Subject() != "mercato.events.acme."+want+"."+r.entityID.String() {
			t.Errorf("event on %s: %+v headers %v", m.Subject(), ev, m.Headers())
		}
	}
	// The relay deletes its rows in the transaction it commits once JetStream has acknowledged them, so the events
	// may be read just before that commit: look again every 50ms until the test's deadline.
	for n := h.count(`SELECT (SELECT count(*) FROM orosync_outbox) + (SELECT count(*) FROM orosync_outbox_batches)`); n != 0; n = h.count(
		`SELECT (SELECT count(*) FROM orosync_outbox) + (SELECT count(*) FROM orosync_outbox_batches)`) {
		select {
		case <-h.ctx.Done():
			t.Fatalf("%d outbox rows left after relay", n)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestChangeForAnUnknownTenant(t *testing.T) {
	h := start(t)
	bad := person("9", 10, "X", "Y", "x@example.com")
	bad.Tenant, bad.Source.Tenant = "globex", "globex"
	h.publish(bad, person("1", 10, "Ann", "Lee", "ann@example.com"))
	h.drain()
	t.Run("does not hold back the others", func(t *testing.T) {
		if r := h.row("1"); r.display != "Ann Lee" {
			t.Errorf("%+v", r)
		}
	})
	t.Run("is dead-lettered naming its record", func(t *testing.T) {
		cons, err := h.js.OrderedConsumer(h.ctx, events.StreamDeadLetter, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		m, err := cons.Next(jetstream.FetchContext(h.ctx))
		if err != nil {
			t.Fatal(err)
		}
		var dl events.DeadLetter
		_ = json.Unmarshal(m.Data(), &dl)
		if dl.Stage != "writer" || dl.Record == nil || dl.Record.ID != "9" || m.Subject() != "orosync.dlq.writer.globex.contacts.9" {
			t.Errorf("dead letter %s %+v", m.Subject(), dl)
		}
	})
}
