package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	reconciler "github.com/orosync/orosync/services/reconciler/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// newReconcileE2E is newE2E with a given number of contacts and simulator faults.
func newReconcileE2E(t *testing.T, contacts int, faults orosim.Faults) *e2e {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	t.Cleanup(cancel)
	clk := &testClock{now: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}
	sim := orosim.New(orosim.Config{ClientID: "orosync", ClientSecret: "s3cret", Contacts: contacts, Seed: 42, Now: clk.Now, Faults: faults})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	ns := jstest.Start(t)
	dbURL, pool := freshDatabase(ctx, t)
	p := pipeline{NatsURL: ns.URL, DatabaseURL: dbURL, Tenant: "acme", Types: []string{"contacts"}, PageSize: 1000,
		Oro:   oro.Config{BaseURL: srv.URL + "/api", ClientID: "orosync", ClientSecret: "s3cret"},
		Scope: writer.Scope{TenantID: uuid.MustParse(defaultTenantID), OrganizationID: uuid.MustParse(defaultOrgID)},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.Now}
	return &e2e{t: t, ctx: ctx, clock: clk, sim: sim, p: p, db: pool, js: ns.JS}
}

// liveAndDeleted splits the synced persons by their Oro contact id. The tables were just filled in bulk, so they
// are analyzed first: with stale statistics PostgreSQL joins 100,000 persons by nested loops for minutes.
func (e *e2e) liveAndDeleted() (live, deleted map[string]bool) {
	e.t.Helper()
	if _, err := e.db.Exec(e.ctx, `ANALYZE sync_external_id_mappings, customer_entities`); err != nil {
		e.t.Fatal(err)
	}
	rows, err := e.db.Query(e.ctx, `
SELECT substr(m.external_id, length('contacts:') + 1), e.deleted_at IS NOT NULL
FROM sync_external_id_mappings m
JOIN customer_entities e ON e.id = m.internal_entity_id AND e.kind = 'person'
WHERE m.integration_id = 'sync_orocrm' AND m.internal_entity_type = 'customers.person' AND starts_with(m.external_id, 'contacts:')
  AND e.tenant_id = $1 AND e.organization_id = $2`, e.p.Scope.TenantID, e.p.Scope.OrganizationID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	live, deleted = map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var (
			id   string
			gone bool
		)
		if err := rows.Scan(&id, &gone); err != nil {
			e.t.Fatal(err)
		}
		if gone {
			deleted[id] = true
		} else {
			live[id] = true
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return live, deleted
}

func deleteEveryHundredth(t *testing.T, sim *orosim.Server, n int) map[string]bool {
	t.Helper()
	gone := map[string]bool{}
	for i := 100; i <= n; i += 100 {
		id := strconv.Itoa(i - 37) // not on page boundaries
		if err := sim.DeleteContact(id); err != nil {
			t.Fatal(err)
		}
		gone[id] = true
	}
	return gone
}

func TestDeletingOnePercentOfContactsSoftDeletesExactlyThemInOnePass(t *testing.T) {
	n := 2000
	if *long {
		n = 100_000
	}
	for _, c := range []struct {
		name   string
		faults orosim.Faults
		grace  string
		reason string
	}{
		{"audit path", orosim.Faults{}, "", "audit"},
		// The API user cannot read the audit log: the diff alone, with a grace of one pass to stay within one.
		{"diff path", orosim.Faults{AuditForbidden: true}, "1", "diff"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("OROSYNC_RECONCILE_GRACE_PASSES", c.grace)
			e := newReconcileE2E(t, n, c.faults)
			e.sync()
			gone := deleteEveryHundredth(t, e.sim, n)
			rep := e.sync()
			if listed(rep) != n-len(gone) || tombstones(rep) != len(gone) {
				t.Errorf("one pass listed %d, published %d tombstones; want %d and %d", listed(rep), tombstones(rep), n-len(gone), len(gone))
			}
			live, deleted := e.liveAndDeleted()
			if len(live) != n-len(gone) || len(deleted) != len(gone) {
				t.Errorf("%d live and %d deleted persons, want %d and %d", len(live), len(deleted), n-len(gone), len(gone))
			}
			falseDeletes := 0
			for id := range deleted {
				if !gone[id] {
					falseDeletes++
				}
			}
			if falseDeletes != 0 {
				t.Errorf("%d persons deleted whose contact lives", falseDeletes)
			}
			for id := range gone {
				m, err := lastRaw(e, id)
				if err != nil {
					t.Fatalf("contact %s: %v", id, err)
				}
				if r := decodeTombstone(t, m); r.Reason != c.reason {
					t.Errorf("contact %s: tombstone reason %q, want %q", id, r.Reason, c.reason)
				}
				break
			}
		})
	}
}

func TestAMassDelete(t *testing.T) {
	e := newReconcileE2E(t, 400, orosim.Faults{})
	e.sync()
	for i := 1; i <= 200; i++ {
		if err := e.sim.DeleteContact(strconv.Itoa(2 * i)); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(10 * time.Second)
	reg := prometheus.NewRegistry()
	tripping := e.p
	tripping.ReconcilerRegisterer = reg // as `orosync run` serves it on OROSYNC_METRICS_ADDR
	if _, err := tripping.SyncOnce(e.ctx); !errors.Is(err, reconciler.ErrTooManyDeletes) {
		t.Fatalf("deleting half: %v, want the breaker", err)
	}
	t.Run("trips the breaker", func(t *testing.T) {
		if got := gaugeValue(t, reg, "orosync_reconciler_breaker_tripped", "acme", "contacts"); got != 1 {
			t.Errorf("orosync_reconciler_breaker_tripped{tenant=acme,type=contacts} = %v, want 1", got)
		}
	})
	t.Run("deletes nothing while it is tripped", func(t *testing.T) {
		if _, deleted := e.liveAndDeleted(); len(deleted) != 0 {
			t.Fatalf("%d persons deleted while the breaker is tripped", len(deleted))
		}
	})
	t.Run("is shown by status", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(e.ctx, []string{"status", "--nats-url", e.p.NatsURL, "--database-url", e.p.DatabaseURL, "--tenant", "acme"}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if s := out.String(); !strings.Contains(s, "TRIPPED: 200 of 400") || !strings.Contains(s, "orosync reconcile --confirm --tenant acme --type contacts") {
			t.Errorf("status shows no alert:\n%s", s)
		}
	})

	t.Run("once confirmed, deletes exactly the deleted contacts", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(e.ctx, []string{"reconcile", "--confirm", "--nats-url", e.p.NatsURL, "--tenant", "acme", "--type", "contacts", "--by", "tester"}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "released acme/contacts: the next round may delete up to 200 of 400") {
			t.Errorf("confirm said %q", out.String())
		}
		rep := e.sync()
		if tombstones(rep) != 200 {
			t.Errorf("confirmed round published %d tombstones", tombstones(rep))
		}
		live, deleted := e.liveAndDeleted()
		if len(live) != 200 || len(deleted) != 200 {
			t.Errorf("%d live, %d deleted after confirming", len(live), len(deleted))
		}
		for id := range deleted {
			if n, _ := strconv.Atoi(id); n%2 != 0 {
				t.Errorf("person of live contact %s deleted", id)
			}
		}
	})
}

func TestAContactRecreatedWithItsIDIsRestoredByTheReconciler(t *testing.T) {
	e := newReconcileE2E(t, 50, orosim.Faults{})
	e.sync()
	if err := e.sim.DeleteContact("42"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Second)
	if err := e.sim.RecreateRecord("contacts", "42", map[string]any{"firstName": "Phoenix", "lastName": "Again"}); err != nil {
		t.Fatal(err)
	}
	before := e.persons()["42"]

	// Only the reconciler reads Oro here (no poll): it tombstones the deleted version from the audit log, finds
	// the id listed again, fetches it and publishes it after the tombstone.
	svcCtx, stop := context.WithCancel(e.ctx)
	g, gctx := errgroup.WithContext(svcCtx)
	e.p.startConsumers(gctx, g)
	rep, err := reconciler.RunOnce(gctx, e.p.reconcilerConfig())
	if err == nil {
		err = e.p.drain(gctx)
	}
	stop()
	if werr := g.Wait(); werr != nil && !errors.Is(werr, context.Canceled) {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if rep.Audited != 1 || rep.Fetched != 1 {
		t.Errorf("round %+v", rep.Counts)
	}
	after := e.persons()["42"]
	if after.Deleted || after.Display != "Phoenix Again" || after.EntityID != before.EntityID {
		t.Errorf("person 42: %+v → %+v, want the same person live as Phoenix Again", before, after)
	}
	st, _ := e.js.Stream(e.ctx, events.StreamOroRaw)
	m, err := st.GetLastMsgForSubject(e.ctx, "oro.raw.acme.contacts.42")
	if err != nil || m.Header.Get(events.HeaderType) != events.TypeRawRecord {
		t.Errorf("the recreated version is not the last word on the subject: %v", err)
	}

	// A full sync afterwards (the poller sees the same version) changes nothing.
	e.sync()
	if again := e.persons()["42"]; again != after {
		t.Errorf("person 42 changed on the next sync: %+v → %+v", after, again)
	}
}

func lastRaw(e *e2e, id string) (msg rawMsg, err error) {
	st, err := e.js.Stream(e.ctx, events.StreamOroRaw)
	if err != nil {
		return rawMsg{}, err
	}
	m, err := st.GetLastMsgForSubject(e.ctx, "oro.raw.acme.contacts."+id)
	if err != nil {
		return rawMsg{}, err
	}
	return rawMsg{typ: m.Header.Get(events.HeaderType), data: m.Data}, nil
}

type rawMsg struct {
	typ  string
	data []byte
}

func decodeTombstone(t *testing.T, m rawMsg) events.Tombstone {
	t.Helper()
	if m.typ != events.TypeTombstone {
		t.Fatalf("%s, not a tombstone", m.typ)
	}
	var tomb events.Tombstone
	if err := json.Unmarshal(m.data, &tomb); err != nil {
		t.Fatal(err)
	}
	return tomb
}

func TestConfirmWithNothingTrippedSaysSo(t *testing.T) {
	ns := jstest.Start(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"reconcile", "--confirm", "--nats-url", ns.URL, "--tenant", "acme"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no tripped breaker for tenant acme") {
		t.Errorf("output %q", out.String())
	}
	if err := run(context.Background(), []string{"reconcile", "--nats-url", ns.URL}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--oro-url") {
		t.Errorf("a round without Oro: %v", err)
	}
	t.Setenv("OROSYNC_RECONCILE_GRACE_PASSES", "two")
	if _, err := envReconcileTuning(); err == nil {
		t.Error("a grace of \"two\" accepted")
	}
}

// gaugeValue is the value of the gauge of reg with labels tenant and type.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name, tenant, typ string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["tenant"] == tenant && labels["type"] == typ {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("%s{tenant=%s,type=%s} is not served", name, tenant, typ)
	return 0
}
