package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	maxEntities int
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
		MaxEntities: o.maxEntities})
	var h http.Handler = sim
	if o.wrap != nil {
		h = o.wrap(sim, sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	logs := &syncBuffer{}
	hs := &harness{t: t, ctx: ctx, sim: sim, oro: srv, js: js.JS, db: pool, log: logs, versions: map[string]events.SourceVersion{}}
	hs.cfg = service.Config{
		NatsURL: js.URL, DatabaseURL: url, PageSize: 10,
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

// seed writes orosync_records rows as the writer would have after syncing the given records.
func (h *harness) seed(sc service.Scope, typ string, ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		n, _ := strconv.Atoi(id)
		v := events.SourceVersion{UpdatedAt: time.Date(2026, 1, 2, 3, 4, n%60, 0, time.UTC), PayloadHash: fmt.Sprintf("hash-%s-%s", typ, id)}
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
func (h *harness) rawMessages() uint64 {
	h.t.Helper()
	st, err := h.js.Stream(h.ctx, events.StreamOroRaw)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(h.ctx, jetstream.WithSubjectFilter(events.RawFilter(tenant, "contacts")))
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

// tombstone reads the last message on a contact's raw subject.
func (h *harness) tombstone(id string) (*jetstream.RawStreamMsg, bool) {
	h.t.Helper()
	st, err := h.js.Stream(h.ctx, events.StreamOroRaw)
	if err != nil {
		h.t.Fatal(err)
	}
	subj, _ := events.RawSubject(tenant, "contacts", id)
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

func TestContactDeletedInOroGetsATombstoneAfterOneReconcilePass(t *testing.T) {
	h := start(t, options{contacts: 25})
	h.deleteInOro("9", "10") // straddle the first page boundary, and 9 < 10 only as numbers
	before := time.Now()
	rep := h.mustRunOnce()
	after := time.Now()
	if want := (domain.Counts{Listed: 23, Held: 25, Missing: 2, Published: 2}); counts(rep) != want {
		t.Fatalf("report %+v, want %+v", counts(rep), want)
	}
	if len(rep.Passes) != 1 || rep.Passes[0].Tenant != tenant || rep.Passes[0].Type != "contacts" {
		t.Errorf("passes %+v", rep.Passes)
	}
	if n := h.rawMessages(); n != 2 {
		t.Fatalf("ORO_RAW holds %d messages for the contacts, want 2", n)
	}
	schema := tombstoneSchema(t)
	msgIDs := map[string]string{}
	for _, id := range []string{"9", "10"} {
		m, ok := h.tombstone(id)
		if !ok {
			t.Fatalf("no tombstone for contact %s", id)
		}
		env, err := events.ReadEnvelope(m.Header.Get)
		if err != nil {
			t.Fatal(err)
		}
		if env.Type != events.TypeTombstone || env.Source != "/orosync/acme/reconciler" || env.Subject != "contacts/"+id ||
			m.Header.Get(events.HeaderMsgID) != env.ID || m.Header.Get(events.HeaderDataContentType) != "application/json" {
			t.Errorf("contact %s: headers %v", id, m.Header)
		}
		var tomb events.Tombstone
		if err := json.Unmarshal(m.Data, &tomb); err != nil {
			t.Fatal(err)
		}
		want := h.versions[id]
		if tomb.RecordRef != (events.RecordRef{Tenant: tenant, Type: "contacts", ID: id}) || tomb.Reason != "id-diff" ||
			tomb.LastSeen == nil || tomb.LastSeen.Compare(want) != 0 || tomb.LastSeen.PayloadHash != want.PayloadHash {
			t.Errorf("contact %s: tombstone %+v, last seen want %+v", id, tomb, want)
		}
		if tomb.DeletedAt.Before(before.Truncate(time.Second)) || tomb.DeletedAt.After(after) || !env.Time.Equal(tomb.DeletedAt) {
			t.Errorf("contact %s: deletedAt %v (ce-time %v) not the pass's start in [%v, %v]", id, tomb.DeletedAt, env.Time, before, after)
		}
		if env.ID != tomb.MsgID() {
			t.Errorf("contact %s: ce-id %s, want the tombstone's id %s", id, env.ID, tomb.MsgID())
		}
		doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(m.Data))
		if err := schema.Validate(doc); err != nil {
			t.Errorf("contact %s: tombstone breaks its contract: %v", id, err)
		}
		msgIDs[id] = env.ID
	}

	// A second pass notices the same deletions: same Nats-Msg-Id, so JetStream keeps one tombstone each.
	again := h.mustRunOnce()
	if want := (domain.Counts{Listed: 23, Held: 25, Missing: 2, Published: 2, Duplicates: 2}); counts(again) != want {
		t.Errorf("second pass %+v, want %+v", counts(again), want)
	}
	if n := h.rawMessages(); n != 2 {
		t.Errorf("after a second pass ORO_RAW holds %d messages, want still 2", n)
	}
	for id, msgID := range msgIDs {
		if m, _ := h.tombstone(id); m.Header.Get(events.HeaderMsgID) != msgID {
			t.Errorf("contact %s: message id changed", id)
		}
	}
	if logs := h.log.String(); strings.Contains(logs, clientSecret) || !strings.Contains(logs, "reconcile pass") {
		t.Errorf("logs leak the client secret or miss the pass:\n%s", logs)
	}
}

func TestReconcilerRefusesToDeleteMoreThanTheConfiguredShare(t *testing.T) {
	h := start(t, options{contacts: 30})
	var gone []string
	for i := 1; i <= 16; i++ {
		gone = append(gone, strconv.Itoa(i))
	}
	h.deleteInOro(gone...)
	rep, err := h.runOnce()
	if !errors.Is(err, domain.ErrTooManyDeletes) {
		t.Fatalf("deleting 16 of 30: err = %v, want a refusal", err)
	}
	for _, s := range []string{"16 of 30", "acme/contacts"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("refusal %q does not name %q", err, s)
		}
	}
	if want := (domain.Counts{Listed: 14, Held: 30, Missing: 16}); counts(rep) != want {
		t.Errorf("report %+v, want %+v", counts(rep), want)
	}
	if n := h.rawMessages(); n != 0 {
		t.Fatalf("a refused pass published %d tombstones", n)
	}

	// A larger share lets it through; so does the operator's override.
	h.cfg.MaxDeleteShare = 0.6
	if rep := h.mustRunOnce(); rep.Published != 16 {
		t.Errorf("share 0.6: published %d, want 16", rep.Published)
	}
	h.deleteInOro("17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27") // 27 of 30 gone
	h.cfg.MaxDeleteShare = 0
	if _, err := h.runOnce(); !errors.Is(err, domain.ErrTooManyDeletes) {
		t.Fatalf("27 of 30: err = %v", err)
	}
	h.cfg.Force = true
	if rep := h.mustRunOnce(); rep.Missing != 27 || rep.Published != 27 || rep.Duplicates != 16 {
		t.Errorf("forced: %+v", counts(rep))
	}
	if n := h.rawMessages(); n != 27 {
		t.Errorf("ORO_RAW holds %d tombstones, want 27", n)
	}
}

// failSecondPage answers every request for a second page of a listing with Oro's 500 error document (the
// client's retries do not get past it).
func failSecondPage(failed, healed *atomic.Bool) func(*orosim.Server, http.Handler) http.Handler {
	return func(_ *orosim.Server, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/contacts" && r.URL.Query().Has("filter[id][gt]") && !healed.Load() {
				failed.Store(true)
				w.Header().Set("Content-Type", "application/vnd.api+json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"errors":[{"status":"500","title":"internal server error","detail":"Something went wrong."}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestIncompleteListingPublishesNothing(t *testing.T) {
	var failed, healed atomic.Bool
	h := start(t, options{contacts: 30, wrap: failSecondPage(&failed, &healed)})
	h.deleteInOro("3", "25")
	rep, err := h.runOnce()
	if err == nil || !strings.Contains(err.Error(), "listing incomplete, nothing published") || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v, want an incomplete listing", err)
	}
	if !failed.Load() {
		t.Fatal("the second page was never asked for")
	}
	if rep.Missing != 0 || rep.Published != 0 {
		t.Errorf("report %+v", counts(rep))
	}
	if n := h.rawMessages(); n != 0 {
		t.Fatalf("an incomplete listing published %d tombstones", n)
	}
	// Oro answers again: the next pass does the work.
	healed.Store(true)
	if rep := h.mustRunOnce(); rep.Listed != 28 || rep.Published != 2 {
		t.Errorf("recovered pass %+v", counts(rep))
	}
}

func TestAlreadyDeletedRecordsAreNotTombstonedAgain(t *testing.T) {
	h := start(t, options{contacts: 10})
	// 4 and 5 are gone from Oro and already soft-deleted in Mercato; 6 is gone from Oro only.
	h.deleteInOro("4", "5", "6")
	if _, err := h.db.Exec(h.ctx, `UPDATE orosync_records SET deleted_at = now() WHERE source_id IN ('4', '5')`); err != nil {
		t.Fatal(err)
	}
	// Rows of another organization and of another type are not this pass's business.
	h.seed(otherScope, "contacts", "500", "501")
	h.seed(scope, "accounts", "1000")
	rep := h.mustRunOnce()
	if want := (domain.Counts{Listed: 7, Held: 8, Missing: 1, Published: 1}); counts(rep) != want {
		t.Fatalf("report %+v, want %+v", counts(rep), want)
	}
	for _, id := range []string{"4", "5", "500", "501", "1000"} {
		if _, ok := h.tombstone(id); ok {
			t.Errorf("contact %s tombstoned", id)
		}
	}
	if _, ok := h.tombstone("6"); !ok {
		t.Error("contact 6 not tombstoned")
	}
}

// deleteWhileListing deletes contacts the listing already passed when the second page is asked for: offset
// paging would then skip as many rows, and tombstone records that exist.
func deleteWhileListing(ids ...string) func(*orosim.Server, http.Handler) http.Handler {
	var once sync.Once
	return func(sim *orosim.Server, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/contacts" && r.URL.Query().Has("filter[id][gt]") {
				once.Do(func() {
					for _, id := range ids {
						_ = sim.DeleteContact(id)
					}
				})
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestDeletesDuringTheListingDoNotSkipRows(t *testing.T) {
	h := start(t, options{contacts: 30, wrap: deleteWhileListing("1", "2", "3", "4", "5")})
	rep := h.mustRunOnce()
	if want := (domain.Counts{Listed: 30, Held: 30}); counts(rep) != want {
		t.Fatalf("report %+v, want %+v (rows were skipped)", counts(rep), want)
	}
	// The next pass sees them gone.
	if rep := h.mustRunOnce(); rep.Missing != 5 || rep.Published != 5 {
		t.Errorf("next pass %+v", counts(rep))
	}
}

func TestListingFindsEveryContactWhateverThePaging(t *testing.T) {
	for _, c := range []struct {
		name                  string
		pageSize, maxEntities int
	}{
		{"default page size", 0, 0},
		{"one id a page", 1, 0},
		{"everything at once", -1, 0},
		{"page size above Oro's max_entities", 1000, 7},
		{"everything at once capped by max_entities", -1, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, options{contacts: 23, maxEntities: c.maxEntities})
			h.cfg.PageSize = c.pageSize
			h.deleteInOro("7", "21")
			if want, rep := (domain.Counts{Listed: 21, Held: 23, Missing: 2, Published: 2}), h.mustRunOnce(); counts(rep) != want {
				t.Errorf("report %+v, want %+v", counts(rep), want)
			}
		})
	}
}

func TestRunReconcilesEveryIntervalUntilStopped(t *testing.T) {
	h := start(t, options{contacts: 12})
	h.deleteInOro("12")
	rounds := make(chan service.Report, 10)
	h.cfg.Interval = 10 * time.Millisecond
	h.cfg.Passed = func(r service.Report, err error) {
		if err != nil {
			t.Errorf("round: %v", err)
		}
		rounds <- r
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, h.cfg) }()
	for i := range 2 {
		select {
		case r := <-rounds:
			if r.Missing != 1 || r.Published != 1 || r.Duplicates != i {
				t.Errorf("round %d: %+v", i, counts(r))
			}
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-h.ctx.Done():
			t.Fatal("no round in time")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if n := h.rawMessages(); n != 1 {
		t.Errorf("ORO_RAW holds %d tombstones, want 1", n)
	}
}

func TestConfigurationMistakesAreRefusedBeforeAnything(t *testing.T) {
	ok := service.Tenant{Oro: oro.Config{BaseURL: "http://127.0.0.1:1/api", ClientID: "id", ClientSecret: clientSecret},
		Scope: scope, Types: []string{"contacts"}}
	for name, c := range map[string]service.Config{
		"no tenants":     {},
		"bad tenant":     {Tenants: map[string]service.Tenant{"ac.me": ok}},
		"no scope":       {Tenants: map[string]service.Tenant{tenant: {Oro: ok.Oro, Types: ok.Types}}},
		"no types":       {Tenants: map[string]service.Tenant{tenant: {Oro: ok.Oro, Scope: scope}}},
		"bad type":       {Tenants: map[string]service.Tenant{tenant: {Oro: ok.Oro, Scope: scope, Types: []string{"con*"}}}},
		"no oro secret":  {Tenants: map[string]service.Tenant{tenant: {Oro: oro.Config{BaseURL: ok.Oro.BaseURL, ClientID: "id"}, Scope: scope, Types: ok.Types}}},
		"share above 1":  {Tenants: map[string]service.Tenant{tenant: ok}, MaxDeleteShare: 1.5},
		"bad page size":  {Tenants: map[string]service.Tenant{tenant: ok}, PageSize: -2},
		"negative share": {Tenants: map[string]service.Tenant{tenant: ok}, MaxDeleteShare: -0.5},
	} {
		t.Run(name, func(t *testing.T) {
			c.Logger = slog.New(slog.DiscardHandler)
			_, err := service.RunOnce(context.Background(), c)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), clientSecret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}
