package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/poller/adapters"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/domain"
	"github.com/orosync/orosync/services/poller/service"
)

// crmFixture is a simulator with contacts (and so a fifth as many accounts) and opportunities.
func crmFixture(t *testing.T, faults orosim.Faults) fixture {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	sim := orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: 100, Seed: 7, Now: clk.Now,
		Counts: map[string]int{"opportunities": 40}, Faults: faults})
	return fixtureFor(t, clk, sim)
}

// pollTypes runs the poller once over types and returns the strategy chosen for each.
func (f fixture) pollTypes(t *testing.T, webhookURL string, types ...string) map[string]domain.Choice {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	chosen := map[string]domain.Choice{}
	err := service.Run(ctx, service.Config{NatsURL: f.nat, PageSize: 30, Once: true, SafetyLag: time.Second, Now: f.clock.Now,
		OnStrategy: func(_ string, p adapters.Probed) {
			mu.Lock()
			chosen[p.Capabilities.Type] = p.Choice
			mu.Unlock()
		},
		Tenants: map[string]service.Tenant{"acme": {Types: types, WebhookURL: webhookURL,
			Oro: oro.Config{BaseURL: f.url + "/api", ClientID: "id", ClientSecret: "secret"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return chosen
}

// adminPatch changes a record behind the poller's back (audited, like a user's edit in Oro).
func (f fixture) adminPatch(t *testing.T, typ, id string, attrs map[string]any) {
	t.Helper()
	body, _ := json.Marshal(attrs)
	req, _ := http.NewRequest(http.MethodPatch, f.url+"/__admin/"+typ+"/"+id, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH %s/%s: %s", typ, id, resp.Status)
	}
}

// typeState is what ORO_RAW holds of one type: records, messages and the latest version per id.
func (f fixture) typeState(t *testing.T, typ string) (records int, msgs uint64) {
	t.Helper()
	st, err := f.js.Stream(context.Background(), events.StreamOroRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(events.RawFilter("acme", typ)))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range info.State.Subjects {
		msgs += n
	}
	return len(info.State.Subjects), msgs
}

func (f fixture) latest(t *testing.T, typ, id string) events.RawRecord {
	t.Helper()
	st, _ := f.js.Stream(context.Background(), events.StreamOroRaw)
	m, err := st.GetLastMsgForSubject(context.Background(), "oro.raw.acme."+typ+"."+id)
	if err != nil {
		t.Fatal(err)
	}
	var r events.RawRecord
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChangesToTypesWithoutAnUpdatedAtFilterAreFoundThroughTheAuditLog(t *testing.T) {
	f := crmFixture(t, orosim.Faults{})
	chosen := f.pollTypes(t, "", "contacts", "accounts", "opportunities")
	for typ, want := range map[string]domain.Strategy{"contacts": domain.Keyset, "accounts": domain.AuditLog, "opportunities": domain.AuditLog} {
		if chosen[typ].Strategy != want {
			t.Errorf("%s: strategy %q (%s), want %q", typ, chosen[typ].Strategy, chosen[typ].Reason, want)
		}
	}
	if r := chosen["accounts"].Reason; !strings.Contains(r, "filter constraint") || !strings.Contains(r, "audit log readable") {
		t.Errorf("accounts reason %q", r)
	}
	accounts, opps := f.sim.Count("accounts"), f.sim.Count("opportunities")
	if n, _ := f.typeState(t, "accounts"); n != accounts {
		t.Fatalf("baseline: ORO_RAW holds %d accounts, want %d", n, accounts)
	}
	if n, _ := f.typeState(t, "opportunities"); n != opps {
		t.Fatalf("baseline: ORO_RAW holds %d opportunities, want %d", n, opps)
	}
	_, accBefore := f.typeState(t, "accounts")
	_, oppBefore := f.typeState(t, "opportunities")
	listsBefore := f.sim.Requests()["GET /api/accounts"] + f.sim.Requests()["GET /api/opportunities"]

	f.adminPatch(t, "accounts", "3", map[string]any{"name": "Zażółć Holding"})
	f.adminPatch(t, "opportunities", "5", map[string]any{"name": "Renewal 2027"})
	f.adminPatch(t, "opportunities", "6", map[string]any{"name": "Upsell"})
	f.clock.Advance(5 * time.Second)
	f.pollTypes(t, "", "contacts", "accounts", "opportunities")

	if _, n := f.typeState(t, "accounts"); n-accBefore != 1 {
		t.Errorf("accounts: %d new messages, want 1", n-accBefore)
	}
	if _, n := f.typeState(t, "opportunities"); n-oppBefore != 2 {
		t.Errorf("opportunities: %d new messages, want 2", n-oppBefore)
	}
	if r := f.latest(t, "accounts", "3"); !bytes.Contains(r.Resource, []byte("Zażółć Holding")) {
		t.Errorf("account 3 latest version %s", r.Resource)
	}
	if r := f.latest(t, "opportunities", "6"); !bytes.Contains(r.Resource, []byte("Upsell")) {
		t.Errorf("opportunity 6 latest version %s", r.Resource)
	}
	// Found through the audit log and fetched by id: one list call per type, not a scan of every page.
	if lists := f.sim.Requests()["GET /api/accounts"] + f.sim.Requests()["GET /api/opportunities"] - listsBefore; lists != 2 {
		t.Errorf("second round made %d list calls for accounts and opportunities, want 2 (one filter[id] fetch each)", lists)
	}
	if f.sim.Requests()["GET /api/rest/latest/audits"] == 0 {
		t.Error("the audit log was never read")
	}
}

func TestWithTheAuditLogForbiddenChangesAreFoundByTheHashScan(t *testing.T) {
	f := crmFixture(t, orosim.Faults{AuditForbidden: true})
	chosen := f.pollTypes(t, "", "accounts", "opportunities")
	for _, typ := range []string{"accounts", "opportunities"} {
		if c := chosen[typ]; c.Strategy != domain.HashScan || !strings.Contains(c.Reason, "audit log: 403 forbidden → hash scan") {
			t.Errorf("%s: %+v", typ, c)
		}
	}
	_, accBefore := f.typeState(t, "accounts")
	_, oppBefore := f.typeState(t, "opportunities")
	if n, _ := f.typeState(t, "opportunities"); n != f.sim.Count("opportunities") {
		t.Fatalf("first scan: %d opportunities in ORO_RAW, want %d", n, f.sim.Count("opportunities"))
	}

	f.adminPatch(t, "accounts", "2", map[string]any{"name": "Müller & Söhne"})
	f.adminPatch(t, "opportunities", "9", map[string]any{"name": "Große Chance"})
	f.clock.Advance(5 * time.Second)
	// A new run (the hashes of what was published come from ORO_RAW, so they survive restarts).
	f.pollTypes(t, "", "accounts", "opportunities")
	if _, n := f.typeState(t, "accounts"); n-accBefore != 1 {
		t.Errorf("accounts: %d new messages, want 1", n-accBefore)
	}
	if _, n := f.typeState(t, "opportunities"); n-oppBefore != 1 {
		t.Errorf("opportunities: %d new messages, want 1", n-oppBefore)
	}
	if r := f.latest(t, "opportunities", "9"); !bytes.Contains(r.Resource, []byte("Große Chance")) {
		t.Errorf("opportunity 9 latest version %s", r.Resource)
	}
	// Nothing changed: a full scan publishes nothing.
	_, accBefore = f.typeState(t, "accounts")
	f.pollTypes(t, "", "accounts", "opportunities")
	if _, n := f.typeState(t, "accounts"); n != accBefore {
		t.Errorf("unchanged accounts: %d → %d messages", accBefore, n)
	}
}

func TestTypesWithoutAuditOrUpdatedAtFilterAreHashScanned(t *testing.T) {
	f := crmFixture(t, orosim.Faults{})
	chosen := f.pollTypes(t, "", "b2bcustomers", "notes", "calls")
	if c := chosen["b2bcustomers"]; c.Strategy != domain.HashScan || !strings.Contains(c.Reason, "not audited") {
		t.Errorf("b2bcustomers: %+v", c)
	}
	// Calls are not audited, but api.yml enables their updatedAt filter: keyset.
	if c := chosen["calls"]; c.Strategy != domain.Keyset {
		t.Errorf("calls: %+v", c)
	}
	if n, _ := f.typeState(t, "b2bcustomers"); n != f.sim.Count("b2bcustomers") {
		t.Errorf("%d b2bcustomers in ORO_RAW, want %d", n, f.sim.Count("b2bcustomers"))
	}
}

func TestSubscribedWebhooksMakeTheStrategyASafetyNet(t *testing.T) {
	f := crmFixture(t, orosim.Faults{})
	url := webhookReceiver(t, f, "s3cret")
	for _, topic := range []string{"account.created", "account.updated"} {
		if _, err := f.sim.AddWebhook(orosim.Webhook{NotificationURL: url, Topic: topic, Secret: "s3cret", Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	chosen := f.pollTypes(t, url, "accounts", "opportunities")
	if c := chosen["accounts"]; !c.Webhooks || c.Strategy != domain.AuditLog || !strings.Contains(c.Reason, "webhooks subscribed") {
		t.Errorf("accounts: %+v", c)
	}
	if c := chosen["opportunities"]; c.Webhooks || !strings.Contains(c.Reason, "no enabled opportunity.created/updated subscription") {
		t.Errorf("opportunities: %+v", c)
	}
}

func TestAPollRefusedWithABadRequestProbesTheTypeAgain(t *testing.T) {
	f := crmFixture(t, orosim.Faults{})
	kv, err := f.js.KeyValue(context.Background(), "OROSYNC_CURSORS")
	if err != nil {
		t.Fatal(err)
	}
	// A stale cache claims accounts can be paged on updatedAt (as if the instance had changed since).
	stale := adapters.Probed{Capabilities: domain.Capabilities{Type: "accounts", ProbedAt: f.clock.Now(), MaxPageSize: 30,
		PageSizeAsked: 30, FilterUpdatedAt: true, SortUpdatedAt: true}}
	stale.Choice = domain.Choose(stale.Capabilities)
	if err := (adapters.Cursors{KV: kv}).SaveCapabilities(context.Background(), "acme", stale); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = service.Run(ctx, service.Config{NatsURL: f.nat, PageSize: 30, Once: true, SafetyLag: time.Second, Now: f.clock.Now,
		Tenants: map[string]service.Tenant{"acme": {Types: []string{"accounts"},
			Oro: oro.Config{BaseURL: f.url + "/api", ClientID: "id", ClientSecret: "secret"}}}})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("round with the stale strategy: %v, want Oro's 400", err)
	}
	if _, ok, _ := (adapters.Cursors{KV: kv}).LoadCapabilities(context.Background(), "acme", "accounts"); ok {
		t.Error("the stale capabilities are still cached after the 400")
	}
	if c := f.pollTypes(t, "", "accounts")["accounts"]; c.Strategy != domain.AuditLog {
		t.Errorf("after the re-probe: %+v", c)
	}
	if n, _ := f.typeState(t, "accounts"); n != f.sim.Count("accounts") {
		t.Errorf("%d accounts in ORO_RAW, want %d", n, f.sim.Count("accounts"))
	}
}

func TestAnInterruptedHashScanResumesMidPassWithoutRepeats(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	f := fixtureFor(t, clk, orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: 50, Seed: 3, Now: clk.Now,
		Counts: map[string]int{"opportunities": 200}, Faults: orosim.Faults{AuditForbidden: true}}))
	cfg := func(onPage func(app.Progress)) service.Config {
		return service.Config{NatsURL: f.nat, PageSize: 30, Once: true, SafetyLag: time.Second, Now: clk.Now, OnProgress: onPage,
			Tenants: map[string]service.Tenant{"acme": {Types: []string{"opportunities"},
				Oro: oro.Config{BaseURL: f.url + "/api", ClientID: "id", ClientSecret: "secret"}}}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	pages := 0
	if err := service.Run(ctx, cfg(func(app.Progress) {
		if pages++; pages == 3 {
			cancel() // stop after the third acknowledged page
		}
	})); err != nil {
		t.Fatal(err)
	}
	cancel()
	if n, _ := f.typeState(t, "opportunities"); n != 90 {
		t.Fatalf("after 3 pages ORO_RAW holds %d opportunities, want 90", n)
	}
	before := f.sim.Requests()["GET /api/opportunities"]
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := service.Run(ctx2, cfg(nil)); err != nil {
		t.Fatal(err)
	}
	want := f.sim.Count("opportunities")
	if n, msgs := f.typeState(t, "opportunities"); n != want || msgs != uint64(want) {
		t.Errorf("ORO_RAW holds %d opportunities in %d messages, want %d each", n, msgs, want)
	}
	// The second run read only the rest of the pass (4 pages of 30 for the last 110, the probe's answers cached).
	if calls := f.sim.Requests()["GET /api/opportunities"] - before; calls > 5 {
		t.Errorf("the resumed scan made %d list calls; it started over", calls)
	}
}
