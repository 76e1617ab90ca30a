package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	transformer "github.com/orosync/orosync/services/transformer/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type e2e struct {
	t     *testing.T
	ctx   context.Context
	clock *testClock
	sim   *orosim.Server
	p     pipeline
	db    *pgxpool.Pool
	js    jetstream.JetStream
	// oroURL is the simulator's address (its /__admin endpoints write behind the pipeline's back).
	oroURL string
}

const e2eContacts = 500

// newE2E wires the real pipeline: simulator over HTTP → poller → ORO_RAW → transformer → MERCATO_CHANGES →
// writer → a fresh PostgreSQL database with Mercato's tables, on an embedded JetStream server.
func newE2E(t *testing.T) *e2e {
	t.Helper()
	return newE2EWith(t, orosim.Config{Contacts: e2eContacts}, []string{"contacts"}, 200)
}

// newE2EWith is newE2E over a simulator seeded as cfg says (its credentials, seed and clock are the test's) and
// the given types.
func newE2EWith(t *testing.T, cfg orosim.Config, types []string, pageSize int) *e2e {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	clk := &testClock{now: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}
	cfg.ClientID, cfg.ClientSecret, cfg.Seed, cfg.Now = "orosync", "s3cret", 42, clk.Now
	sim := orosim.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	ns := jstest.Start(t)
	dbURL, pool := freshDatabase(ctx, t)
	p := pipeline{NatsURL: ns.URL, DatabaseURL: dbURL, Tenant: "acme", Types: types, PageSize: pageSize,
		Oro:   oro.Config{BaseURL: srv.URL + "/api", ClientID: "orosync", ClientSecret: "s3cret"},
		Scope: writer.Scope{TenantID: uuid.MustParse(defaultTenantID), OrganizationID: uuid.MustParse(defaultOrgID)},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.Now}
	return &e2e{t: t, ctx: ctx, clock: clk, sim: sim, p: p, db: pool, js: ns.JS, oroURL: srv.URL}
}

func (e *e2e) sync() SyncReport {
	e.t.Helper()
	e.clock.Advance(10 * time.Second) // past the poller's safety lag
	rep, err := e.p.SyncOnce(e.ctx)
	if err != nil {
		e.t.Fatalf("sync: %v", err)
	}
	return rep
}

type personRow struct {
	EntityID            uuid.UUID
	Display             string
	Email, JobTitle     string
	UpdatedAt           time.Time
	Deleted             bool
	ProfileUpdatedAt    time.Time
	MappingsForExternal int
}

// persons reads every synced person keyed by Oro contact id, joining exactly as Mercato would find them.
func (e *e2e) persons() map[string]personRow {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `
SELECT substr(m.external_id, length('contacts:') + 1), e.id, e.display_name, coalesce(e.primary_email, ''), coalesce(p.job_title, ''), e.updated_at, e.deleted_at IS NOT NULL, p.updated_at,
       count(*) OVER (PARTITION BY m.external_id)
FROM sync_external_id_mappings m
JOIN customer_entities e ON e.id = m.internal_entity_id AND e.kind = 'person'
JOIN customer_people p ON p.entity_id = e.id AND p.tenant_id = e.tenant_id AND p.organization_id = e.organization_id
WHERE m.integration_id = 'sync_orocrm' AND m.internal_entity_type = 'customers.person' AND starts_with(m.external_id, 'contacts:')
  AND e.tenant_id = $1 AND e.organization_id = $2`, e.p.Scope.TenantID, e.p.Scope.OrganizationID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]personRow{}
	for rows.Next() {
		var id string
		var r personRow
		if err := rows.Scan(&id, &r.EntityID, &r.Display, &r.Email, &r.JobTitle, &r.UpdatedAt, &r.Deleted, &r.ProfileUpdatedAt, &r.MappingsForExternal); err != nil {
			e.t.Fatal(err)
		}
		out[id] = r
	}
	return out
}

func TestContactsFlowFromSimulatorIntoMercato(t *testing.T) {
	e := newE2E(t)
	e.sync()
	first := e.persons()
	if len(first) != e2eContacts {
		t.Fatalf("%d persons in Mercato, want %d", len(first), e2eContacts)
	}
	for id, r := range first {
		if r.Deleted || r.MappingsForExternal != 1 || r.Display == "" {
			t.Fatalf("contact %s: %+v", id, r)
		}
	}
	t.Run("the writer defined the mapping's custom fields", func(t *testing.T) {
		m, err := transformer.LoadMapping("")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := e.db.QueryRow(e.ctx, `SELECT count(*) FROM custom_field_defs WHERE is_active AND deleted_at IS NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := len(m.CustomFieldDefs()); n != want {
			t.Errorf("%d custom field definitions, want the mapping's %d", n, want)
		}
	})

	t.Run("a rerun over unchanged data changes no row", func(t *testing.T) {
		e.sync()
		if again := e.persons(); !equalRows(first, again) {
			for k, v := range first {
				if again[k] != v {
					t.Errorf("contact %s: %+v → %+v", k, v, again[k])
					break
				}
			}
			t.Fatalf("a rerun over unchanged data changed rows (%d → %d persons)", len(first), len(again))
		}
	})

	t.Run("an Oro edit updates exactly that person", func(t *testing.T) {
		if err := e.sim.UpdateContact("17", map[string]any{"jobTitle": "Chief Ünïcode Officer"}); err != nil {
			t.Fatal(err)
		}
		e.sync()
		after := e.persons()
		for id, r := range after {
			if id == "17" {
				if r.JobTitle != "Chief Ünïcode Officer" || !r.ProfileUpdatedAt.After(first[id].ProfileUpdatedAt) {
					t.Errorf("contact 17 not updated: %+v", r)
				}
				continue
			}
			if r != first[id] {
				t.Errorf("contact %s changed though only 17 was edited: %+v → %+v", id, first[id], r)
			}
		}
	})
}

func TestContactDeletedInOroIsSoftDeletedAfterOneReconcilePass(t *testing.T) {
	e := newE2E(t)
	e.sync()
	if err := e.sim.DeleteContact("250"); err != nil {
		t.Fatal(err)
	}
	rep := e.sync()
	if listed(rep) != e2eContacts-1 || tombstones(rep) != 1 {
		t.Errorf("reconcile listed %d, published %d tombstones", listed(rep), tombstones(rep))
	}
	got := e.persons()
	if !got["250"].Deleted {
		t.Errorf("person of deleted contact 250 is live: %+v", got["250"])
	}
	live := 0
	for _, r := range got {
		if !r.Deleted {
			live++
		}
	}
	if live != e2eContacts-1 {
		t.Errorf("%d live persons, want %d", live, e2eContacts-1)
	}
}

func TestAContactTheTransformerCannotMap(t *testing.T) {
	e := newE2E(t)
	if err := e.sim.UpdateContact("3", map[string]any{"primaryEmail": "not-an-email"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	got := e.persons()
	t.Run("alone stays out of Mercato", func(t *testing.T) {
		if _, ok := got["3"]; ok || len(got) != e2eContacts-1 {
			t.Fatalf("%d persons (contact 3 present: %v), want every contact but 3", len(got), ok)
		}
	})
	t.Run("is dead-lettered naming its field, its rule", func(t *testing.T) {
		st, err := e.js.Stream(e.ctx, events.StreamDeadLetter)
		if err != nil {
			t.Fatal(err)
		}
		m, err := st.GetLastMsgForSubject(e.ctx, "orosync.dlq.transformer.acme.contacts.3")
		if err != nil {
			t.Fatalf("no dead letter for contact 3: %v", err)
		}
		var dl events.DeadLetter
		if err := json.Unmarshal(m.Data, &dl); err != nil {
			t.Fatal(err)
		}
		if dl.Field != "attributes.primaryEmail" || dl.Rule != "email" || dl.Subject != "oro.raw.acme.contacts.3" {
			t.Errorf("dead letter %+v", dl)
		}
	})
}

func equalRows(a, b map[string]personRow) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// freshDatabase is a fresh migrated database and a pool on it, closed when the test ends.
func freshDatabase(ctx context.Context, tb testing.TB) (string, *pgxpool.Pool) {
	tb.Helper()
	url := dbtest.NewDatabase(tb)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return url, pool
}
