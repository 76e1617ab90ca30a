package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/reconciler/domain"
	"github.com/orosync/orosync/services/reconciler/service"
)

const (
	tenant       = "acme"
	clientID     = "reconciler-client"
	clientSecret = "rec0nc1ler-s3cret"
)

var (
	scope = service.Scope{TenantID: uuid.MustParse("11111111-1111-4111-8111-111111111111"),
		OrganizationID: uuid.MustParse("22222222-2222-4222-8222-222222222222")}
	otherScope = service.Scope{TenantID: scope.TenantID, OrganizationID: uuid.MustParse("33333333-3333-4333-8333-333333333333")}
)

// harness is a simulated Oro behind HTTP, a real JetStream server with the contracts applied and a migrated
// Mercato database whose orosync_records say every contact was synced.
type harness struct {
	t   *testing.T
	ctx context.Context
	sim *orosim.Server
	oro *httptest.Server
	js  jetstream.JetStream
	db  *pgxpool.Pool
	cfg service.Config
	log *syncBuffer
	// versions are the stored versions seeded per contact id.
	versions map[string]events.SourceVersion
}

type options struct {
	contacts    int
	counts      map[string]int
	maxEntities int
	// noAudit makes the audit log answer 403 (the API user lacks oro_dataaudit_view): the diff path alone.
	noAudit bool
	// wrap, when set, stands between the reconciler and the simulator.
	wrap func(sim *orosim.Server, next http.Handler) http.Handler
}

func start(t *testing.T, o options) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	js := jstest.Start(t)
	url := dbtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sim := orosim.New(orosim.Config{ClientID: clientID, ClientSecret: clientSecret, Contacts: o.contacts, Seed: 7,
		MaxEntities: o.maxEntities, Counts: o.counts, Faults: orosim.Faults{AuditForbidden: o.noAudit}})
	var h http.Handler = sim
	if o.wrap != nil {
		h = o.wrap(sim, sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	logs := &syncBuffer{}
	hs := &harness{t: t, ctx: ctx, sim: sim, oro: srv, js: js.JS, db: pool, log: logs, versions: map[string]events.SourceVersion{}}
	hs.cfg = service.Config{
		NatsURL: js.URL, DatabaseURL: url, PageSize: 10, GracePasses: 2,
		Tenants: map[string]service.Tenant{tenant: {
			Oro: oro.Config{BaseURL: srv.URL + "/api", ClientID: clientID, ClientSecret: clientSecret,
				Backoff: oro.Backoff{Attempts: 3, Base: time.Millisecond, Max: 5 * time.Millisecond}},
			Scope: scope, Types: []string{"contacts"},
		}},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reconciler logs:\n%s", logs.String())
		}
	})
	hs.seed(scope, "contacts", sim.ContactIDs()...)
	return hs
}

// seed writes orosync_records rows as the writer would have after syncing the given records: at Oro's updatedAt
// for the records Oro has (ids it does not have get one of their own).
func (h *harness) seed(sc service.Scope, typ string, ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		n, _ := strconv.Atoi(id)
		at, ok := h.sim.UpdatedAt(typ, id)
		if !ok {
			at = time.Date(2026, 1, 2, 3, 4, n%60, 0, time.UTC)
		}
		v := events.SourceVersion{UpdatedAt: at, PayloadHash: fmt.Sprintf("hash-%s-%s", typ, id)}
		if sc == scope && typ == "contacts" {
			h.versions[id] = v
		}
		_, err := h.db.Exec(h.ctx, `
INSERT INTO orosync_records (tenant_id, organization_id, source_type, source_id, internal_entity_type, internal_entity_id,
  profile_id, source_updated_at, payload_hash, mapping_version)
VALUES ($1, $2, $3, $4, 'customers.person', gen_random_uuid(), gen_random_uuid(), $5, $6, 'contacts-v1')`,
			sc.TenantID, sc.OrganizationID, typ, id, v.UpdatedAt, v.PayloadHash)
		if err != nil {
			h.t.Fatalf("seeding %s %s: %v", typ, id, err)
		}
	}
}

func (h *harness) deleteInOro(ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		if err := h.sim.DeleteContact(id); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *harness) runOnce() (service.Report, error) {
	h.t.Helper()
	return service.RunOnce(h.ctx, h.cfg)
}

func (h *harness) mustRunOnce() service.Report {
	h.t.Helper()
	rep, err := h.runOnce()
	if err != nil {
		h.t.Fatalf("reconcile: %v", err)
	}
	return rep
}

// rawMessages counts the messages ORO_RAW holds for the tenant's contacts.
func (h *harness) rawMessages() uint64 { return h.rawMessagesOf("contacts") }

func (h *harness) rawMessagesOf(typ string) uint64 {
	h.t.Helper()
	st, err := h.js.Stream(h.ctx, events.StreamOroRaw)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(h.ctx, jetstream.WithSubjectFilter(events.RawFilter(tenant, typ)))
	if err != nil {
		h.t.Fatal(err)
	}
	var n uint64 // State.Msgs counts the whole stream; the filter selects the subjects
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

// deadLetters counts the messages OROSYNC_DLQ holds.
func (h *harness) deadLetters() uint64 {
	h.t.Helper()
	st, err := h.js.Stream(h.ctx, events.StreamDeadLetter)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

// tombstone reads the last message on a contact's raw subject.
func (h *harness) tombstone(id string) (*jetstream.RawStreamMsg, bool) {
	return h.lastMsg("contacts", id)
}

func (h *harness) lastMsg(typ, id string) (*jetstream.RawStreamMsg, bool) {
	h.t.Helper()
	st, err := h.js.Stream(h.ctx, events.StreamOroRaw)
	if err != nil {
		h.t.Fatal(err)
	}
	subj, _ := events.RawSubject(tenant, typ, id)
	m, err := st.GetLastMsgForSubject(h.ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return m, true
}

func counts(r service.Report) domain.Counts { return r.Counts }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tombstoneSchema(t *testing.T) *jsonschema.Schema {
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
			t.Fatal(err)
		}
		if err := c.AddResource("https://orosync.dev/schemas/"+n+".schema.json", doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("https://orosync.dev/schemas/tombstone.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
