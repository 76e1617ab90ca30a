package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/orosim"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func lookupIn(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestTenantsConfig(t *testing.T) {
	t.Run("refuses an inline secret", func(t *testing.T) {
		inline := writeFile(t, "inline.yaml", `tenants:
	  - name: acme
	    oro: {baseUrl: "https://crm.example/api", clientId: orosync, clientSecret: "hunter2-inline"}
	    mercato: {tenantId: 8f14e45f-ceea-467a-9a36-dedd4bea2543, organizationId: c9f0f895-fb98-4b91-99f2-3d7b5c2e3f10}
	`)
		_, err := loadTenants(inline, lookupIn(nil), nil)
		if err == nil || !strings.Contains(err.Error(), "clientSecretEnv") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("inline secret: %v", err)
		}
	})
	t.Run("names every problem, no secret", func(t *testing.T) {
		broken := writeFile(t, "broken.json", `{"tenants": [
	  {"name": "acme", "oro": {"baseUrl": "https://a.example/api", "clientId": "x", "clientSecretEnv": "ACME_SECRET"},
	   "mercato": {"tenantId": "not-a-uuid", "organizationId": "c9f0f895-fb98-4b91-99f2-3d7b5c2e3f10"}},
	  {"name": "acme", "oro": {"clientId": "y", "clientSecretEnv": "UNSET"},
	   "mercato": {"tenantId": "8f14e45f-ceea-467a-9a36-dedd4bea2543", "organizationId": "c9f0f895-fb98-4b91-99f2-3d7b5c2e3f10"}}]}`)
		_, err := loadTenants(broken, lookupIn(map[string]string{"ACME_SECRET": "s3cret-value"}), nil)
		if err == nil {
			t.Fatal("broken config accepted")
		}
		for _, want := range []string{"tenants[0] (acme): mercato.tenantId", "tenants[1] (acme): name: used twice", "tenants[1] (acme): oro.baseUrl",
			"oro.clientSecretEnv: environment variable UNSET is not set"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if strings.Contains(err.Error(), "s3cret-value") {
			t.Error("a secret value leaked into the error")
		}
	})
}

func TestTwoTenantsFromOneConfigFileSyncInOneProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	clk := &testClock{now: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}
	simA := orosim.New(orosim.Config{ClientID: "sync-a", ClientSecret: "secret-of-a", Contacts: 120, Seed: 1, Now: clk.Now})
	simB := orosim.New(orosim.Config{ClientID: "sync-b", ClientSecret: "secret-of-b", Contacts: 80, Seed: 2, Now: clk.Now,
		Counts: map[string]int{"opportunities": 30}})
	srvA, srvB := httptest.NewServer(simA), httptest.NewServer(simB)
	defer srvA.Close()
	defer srvB.Close()
	const tenantA, tenantB = "8f14e45f-ceea-467a-9a36-dedd4bea2543", "1679091c-5a88-4faf-afb5-e6087eb1b2dc"
	cfg := writeFile(t, "tenants.yaml", `tenants:
  - name: alpha
    oro: {baseUrl: "`+srvA.URL+`/api", clientId: sync-a, clientSecretEnv: ALPHA_SECRET}
    types: [contacts]
    budgetPerMinute: 6000
    mercato: {tenantId: `+tenantA+`, organizationId: c9f0f895-fb98-4b91-99f2-3d7b5c2e3f10}
  - name: beta
    oro: {baseUrl: "`+srvB.URL+`/api", clientId: sync-b, clientSecretEnv: BETA_SECRET}
    types: [contacts, opportunities]
    mercato: {tenantId: `+tenantB+`, organizationId: 45c48cce-2e2d-4fbd-b0d6-6d6c7c2c5a1e}
`)
	conns, err := loadTenants(cfg, lookupIn(map[string]string{"ALPHA_SECRET": "secret-of-a", "BETA_SECRET": "secret-of-b"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	ns := jstest.Start(t)
	dbURL := dbtest.NewDatabase(t)
	var logs bytes.Buffer
	p := pipeline{NatsURL: ns.URL, DatabaseURL: dbURL, Tenants: conns, PageSize: 50, Now: clk.Now,
		Log: slog.New(slog.NewTextHandler(io.MultiWriter(&logs), &slog.HandlerOptions{Level: slog.LevelDebug}))}
	p.Log.Info("tenants", "alpha", conns[0].Oro, "beta", conns[1].Oro)
	clk.Advance(10 * time.Second)
	if _, err := p.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := ns.JS.Stream(ctx, events.StreamOroRaw)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tenant, typ string
		want        int
	}{{"alpha", "contacts", 120}, {"beta", "contacts", 80}, {"beta", "opportunities", simB.Count("opportunities")}, {"alpha", "opportunities", 0}} {
		info, err := raw.Info(ctx, jetstream.WithSubjectFilter(events.RawFilter(c.tenant, c.typ)))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(info.State.Subjects); got != c.want {
			t.Errorf("ORO_RAW %s/%s: %d records, want %d", c.tenant, c.typ, got, c.want)
		}
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for tid, want := range map[string]int{tenantA: 120, tenantB: 80} {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM orosync_records WHERE tenant_id = $1 AND source_type = 'contacts'`, uuid.MustParse(tid)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("Mercato tenant %s: %d contacts, want %d", tid, n, want)
		}
	}
	for _, secret := range []string{"secret-of-a", "secret-of-b"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain the client secret %q", secret)
		}
	}
}

func TestTheExampleTenantsFileLoads(t *testing.T) {
	conns, err := loadTenants("../../deploy/tenants.example.yaml", func(string) (string, bool) { return "x", true }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 2 || conns[0].Name != "acme" || len(conns[0].Types) != 7 || conns[0].WebhookURL == "" || conns[1].Oro.Budget == nil {
		t.Errorf("%+v", conns)
	}
}
