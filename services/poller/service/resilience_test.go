package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/service"
)

// fastBackoff keeps the retry tests quick; the policy's shape is the same as in production.
var fastBackoff = oro.Backoff{Attempts: 12, Base: time.Millisecond, Max: 20 * time.Millisecond}

func (f fixture) oroConfig() oro.Config {
	return oro.Config{BaseURL: f.url + "/api", ClientID: "id", ClientSecret: "secret", Backoff: fastBackoff}
}

// run polls every type of tenant acme once with the given connection settings.
func (f fixture) run(t *testing.T, oc oro.Config, pageSize int, log *slog.Logger, progress func(app.Progress)) {
	t.Helper()
	if err := f.try(oc, pageSize, log, progress); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) try(oc oro.Config, pageSize int, log *slog.Logger, progress func(app.Progress)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	return service.Run(ctx, service.Config{NatsURL: f.nat, PageSize: pageSize, Once: true, SafetyLag: time.Second, Now: f.clock.Now,
		OnProgress: progress, Logger: log, Tenants: map[string]service.Tenant{"acme": {Types: []string{"contacts"}, Oro: oc}}})
}

// latestVersions maps every contact subject's id to the updatedAt of its last message in ORO_RAW.
func (f fixture) latestVersions(t *testing.T) map[string]time.Time {
	t.Helper()
	ctx := context.Background()
	cons, err := f.js.OrderedConsumer(ctx, events.StreamOroRaw, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"oro.raw.acme.contacts.*"}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy})
	if err != nil {
		t.Fatal(err)
	}
	n := f.stream(t).State.NumSubjects
	out := make(map[string]time.Time, n)
	for uint64(len(out)) < n {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var r events.RawRecord
			if err := json.Unmarshal(m.Data(), &r); err != nil {
				t.Fatal(err)
			}
			out[r.ID] = *r.UpdatedAt
		}
		if got == 0 {
			t.Fatalf("read %d of %d subjects", len(out), n)
		}
	}
	return out
}

// oroVersions lists every contact's current updatedAt from the simulator.
func (f fixture) oroVersions(t *testing.T) map[string]time.Time {
	t.Helper()
	c, err := oro.New(context.Background(), f.oroConfig())
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.List(context.Background(), "contacts", oro.Query{PageSize: -1, Fields: map[string][]string{"contacts": {"updatedAt"}}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, r := range p.Data {
		at, _ := r.UpdatedAt()
		out[r.ID] = at.UTC()
	}
	return out
}

func (f fixture) assertFinalVersionsInOroRaw(t *testing.T) {
	t.Helper()
	want, got := f.oroVersions(t), f.latestVersions(t)
	missing, stale := 0, 0
	for id, at := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing++
		case !g.Equal(at):
			stale++
		}
	}
	if missing > 0 || stale > 0 || len(want) == 0 {
		t.Fatalf("of %d contacts in Oro: %d missing in ORO_RAW, %d without their final version", len(want), missing, stale)
	}
}

func TestFailedPages(t *testing.T) {
	f := setup(t, 1500)
	f.sim.SetFaults(orosim.Faults{ErrorRate: 0.2, TruncateRate: 0.15, MalformedRate: 0.15})
	budget := oro.NewBudget("acme", 0, 1, nil)
	oc := f.oroConfig()
	oc.Budget = budget
	f.run(t, oc, 100, nil, nil)
	info := f.stream(t)
	t.Run("are never published in part", func(t *testing.T) {
		if info.State.NumSubjects != 1500 || info.State.Msgs != 1500 {
			t.Errorf("ORO_RAW holds %d records in %d messages, want 1500 each (no partial or repeated page)", info.State.NumSubjects, info.State.Msgs)
		}
	})
	t.Run("are retried where status shows it", func(t *testing.T) {
		if st := budget.State(); st.Retries == 0 || st.LastError == "" {
			t.Errorf("budget state %+v: want the retries and the last failure visible", st)
		}
	})
}

func TestPersistentServerErrorsAreReportedNotPublished(t *testing.T) {
	f := setup(t, 50)
	f.sim.SetFaults(orosim.Faults{MalformedRate: 1})
	oc := f.oroConfig()
	oc.Backoff.Attempts = 3
	err := f.try(oc, 10, nil, nil)
	if n := f.stream(t).State.Msgs; n != 0 {
		t.Errorf("%d messages published from malformed pages", n)
	}
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || !strings.Contains(err.Error(), "decode response") {
		t.Errorf("the persistent failure is not reported: %v", err)
	}
}

func TestTokenExpiringMidSyncIsRefreshedWithoutLosingAPage(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	sim := orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: 800, Seed: 7, Now: clk.Now, TokenTTL: time.Minute})
	f := fixtureFor(t, clk, sim)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pages := 0
	f.run(t, f.oroConfig(), 100, log, func(app.Progress) {
		pages++
		if pages%3 == 0 {
			clk.Advance(2 * time.Minute) // the simulator's token expires between pages
		}
	})
	if info := f.stream(t); info.State.NumSubjects != 800 {
		t.Errorf("ORO_RAW holds %d contacts, want 800", info.State.NumSubjects)
	}
	if logs.Len() > 0 {
		t.Errorf("token expiry surfaced as warnings: %s", logs.String())
	}
	if n := sim.Requests()["POST /oauth2-token"]; n < 3 {
		t.Errorf("%d token requests: the expired token was not replaced", n)
	}
}

// tokenRecorder remembers every bearer token the client sent, so the test can look for them where they must not be.
type tokenRecorder struct {
	mu     sync.Mutex
	tokens map[string]bool
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		r.mu.Lock()
		r.tokens[tok] = true
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestOroCredentialsNeverReachLogsErrorsOrStreams(t *testing.T) {
	const secret = "s3cr3t-Very-Long-Client-Secret"
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	sim := orosim.New(orosim.Config{ClientID: "id", ClientSecret: secret, Contacts: 400, Seed: 7, Now: clk.Now, TokenTTL: time.Minute})
	f := fixtureFor(t, clk, sim)
	sim.SetFaults(orosim.Faults{ErrorRate: 0.2, TruncateRate: 0.1, MalformedRate: 0.1})
	rec := &tokenRecorder{tokens: map[string]bool{}}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	budget := oro.NewBudget("acme", 0, 1, nil)
	oc := oro.Config{BaseURL: f.url + "/api", ClientID: "id", ClientSecret: secret, Backoff: fastBackoff, Budget: budget,
		HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second}}
	log.Info("starting", "oro", oc)
	pages := 0
	f.run(t, oc, 50, log, func(app.Progress) {
		if pages++; pages%2 == 0 {
			clk.Advance(2 * time.Minute)
		}
	})
	// A failing run too: its error goes to the log.
	sim.SetFaults(orosim.Faults{ErrorRate: 1})
	oc.Backoff.Attempts = 2
	clk.Advance(time.Hour)
	if err := f.try(oc, 50, log, nil); err == nil {
		t.Fatal("a run against a failing Oro succeeded")
	} else {
		log.Error("run failed", "err", err)
	}

	var haystack bytes.Buffer
	haystack.Write(logs.Bytes())
	st, _ := json.Marshal(budget.State())
	haystack.Write(st)
	ctx := context.Background()
	for _, stream := range []string{events.StreamOroRaw, "OROSYNC_DLQ"} {
		cons, err := f.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(300*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for m := range batch.Messages() {
				got++
				haystack.Write(m.Data())
				for k, vs := range m.Headers() {
					haystack.WriteString(k + strings.Join(vs, ","))
				}
			}
			if got == 0 {
				break
			}
		}
	}
	if len(rec.tokens) < 2 {
		t.Fatalf("only %d tokens seen; the test wants token renewals", len(rec.tokens))
	}
	if bytes.Contains(haystack.Bytes(), []byte(secret)) {
		t.Error("the client secret appears in logs, budget state or streams")
	}
	for tok := range rec.tokens {
		if bytes.Contains(haystack.Bytes(), []byte(tok)) {
			t.Errorf("access token %.6s… appears in logs, budget state or streams", tok)
		}
	}
}

func TestEditsWhilePagingReachOroRawInTheirFinalVersion(t *testing.T) {
	f := setup(t, 2000)
	f.sim.SetFaults(orosim.Faults{DriftEditsPerPage: 10})
	pages := 0
	f.run(t, f.oroConfig(), 100, nil, func(app.Progress) {
		f.clock.Advance(time.Second)
		if pages++; pages == 20 {
			f.sim.SetFaults(orosim.Faults{}) // 20 pages × 10 edits: 10 % of the records edited while paging
		}
	})
	f.clock.Advance(5 * time.Second) // past the safety lag
	f.run(t, f.oroConfig(), 100, nil, nil)
	f.assertFinalVersionsInOroRaw(t)
}

func TestFiveHundredRecordsSharingOneUpdatedAtAcrossPageBoundariesAreAllPublished(t *testing.T) {
	f := setup(t, 300)
	f.clock.Advance(time.Hour)
	for i := range 500 {
		if _, err := f.sim.CreateContact(map[string]any{"firstName": "Tie", "lastName": strings.Repeat("x", i%7+1)}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(5 * time.Second)
	f.run(t, f.oroConfig(), 64, nil, nil) // 64 does not divide 500: boundaries fall inside the shared second
	if info := f.stream(t); info.State.NumSubjects != 800 || info.State.Msgs != 800 {
		t.Errorf("ORO_RAW holds %d records in %d messages, want 800", info.State.NumSubjects, info.State.Msgs)
	}
	f.assertFinalVersionsInOroRaw(t)
}

func fixtureFor(t testing.TB, clk *clock, sim *orosim.Server) fixture {
	t.Helper()
	srv := newHTTPServer(t, sim)
	s := jstest.Start(t)
	return fixture{clock: clk, sim: sim, url: srv, js: s.JS, nat: s.URL}
}

func TestPageSizeAboveOrosMaxEntitiesIsAdaptedNotFatal(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	f := fixtureFor(t, clk, orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: 260, Seed: 7, Now: clk.Now, MaxEntities: 25}))
	var total int64
	f.run(t, f.oroConfig(), 1000, nil, func(p app.Progress) { total = p.Total })
	if info := f.stream(t); info.State.NumSubjects != 260 || total != 260 {
		t.Errorf("ORO_RAW holds %d contacts (total %d), want 260", info.State.NumSubjects, total)
	}
}
