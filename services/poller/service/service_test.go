package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/service"
)

// clock is a test clock shared by the simulator and the poller.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type fixture struct {
	clock *clock
	sim   *orosim.Server
	url   string
	js    jetstream.JetStream
	nat   string
}

func setup(t testing.TB, contacts int) fixture {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	sim := orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: contacts, Seed: 7, Now: clk.Now})
	return fixtureFor(t, clk, sim)
}

func newHTTPServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (f fixture) pollOnce(t *testing.T, pageSize int, progress func(app.Progress)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := service.Run(ctx, service.Config{NatsURL: f.nat, PageSize: pageSize, Once: true, SafetyLag: time.Second, Now: f.clock.Now,
		OnProgress: progress,
		Tenants: map[string]service.Tenant{"acme": {Types: []string{"contacts"},
			Oro: oro.Config{BaseURL: f.url + "/api", ClientID: "id", ClientSecret: "secret"}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func (f fixture) stream(t testing.TB) *jetstream.StreamInfo {
	t.Helper()
	st, err := f.js.Stream(context.Background(), events.StreamOroRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background(), jetstream.WithSubjectFilter("oro.raw.acme.contacts.*"))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestAPollAcrossPagesOfSharedTimestamps(t *testing.T) {
	f := setup(t, 2345)
	var caughtUp bool
	var total int64
	f.pollOnce(t, 100, func(p app.Progress) {
		caughtUp = caughtUp || p.CaughtUp
		if p.Total > 0 {
			total = p.Total
		}
	})
	info := f.stream(t)
	t.Run("publishes every contact once", func(t *testing.T) {
		if info.State.NumSubjects != 2345 || info.State.Msgs != 2345 {
			t.Errorf("ORO_RAW holds %d records in %d messages, want 2345 each", info.State.NumSubjects, info.State.Msgs)
		}
	})
	t.Run("reports the total, then caught up", func(t *testing.T) {
		if !caughtUp || total != 2345 {
			t.Errorf("caughtUp=%v total=%d", caughtUp, total)
		}
	})
}

func TestSecondRoundPublishesOnlyWhatChanged(t *testing.T) {
	f := setup(t, 300)
	f.pollOnce(t, 50, nil)
	before := f.stream(t).State.Msgs
	for _, id := range []string{"3", "150", "299"} {
		if err := f.sim.UpdateContact(id, map[string]any{"jobTitle": "Head of Ünïcode"}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(5 * time.Second) // past the safety lag
	f.pollOnce(t, 50, nil)
	info := f.stream(t)
	if got := info.State.Msgs - before; got != 3 {
		t.Fatalf("second round published %d messages, want 3", got)
	}
	st, _ := f.js.Stream(context.Background(), events.StreamOroRaw)
	m, err := st.GetLastMsgForSubject(context.Background(), "oro.raw.acme.contacts.150")
	if err != nil {
		t.Fatal(err)
	}
	var r events.RawRecord
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(events.HeaderType) != events.TypeRawRecord || m.Header.Get(events.HeaderMsgID) != r.MsgID() ||
		m.Header.Get(events.HeaderSource) != "/orosync/acme/poller" || r.Via != "poll" {
		t.Errorf("message %+v headers %v", r, m.Header)
	}
	var res struct {
		Attributes map[string]any  `json:"attributes"`
		Links      json.RawMessage `json:"links"`
	}
	_ = json.Unmarshal(r.Resource, &res)
	if res.Links != nil {
		t.Errorf("resource kept HATEOAS links (the poller asks for noHateoas): %s", res.Links)
	}
	if res.Attributes["jobTitle"] != "Head of Ünïcode" {
		t.Errorf("latest version of 150 has jobTitle %v", res.Attributes["jobTitle"])
	}
}

func TestRepollingUnchangedDataPublishesNothingNew(t *testing.T) {
	f := setup(t, 120)
	f.pollOnce(t, 1000, nil)
	before := f.stream(t).State.Msgs
	f.pollOnce(t, 1000, nil)
	if after := f.stream(t).State.Msgs; after != before {
		t.Errorf("unchanged data: %d → %d messages", before, after)
	}
}
