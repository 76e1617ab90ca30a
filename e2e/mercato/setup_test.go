//go:build mercatoe2e

package mercato

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orosync/orosync/oro"
)

// settings come from scripts/mercato-e2e/run.sh (make mercato-e2e).
type settings struct {
	mercatoURL, adminEmail, adminPassword string
	databaseURL, encryptionKey            string
	orosyncBin, runDir                    string
	natsPort                              int
	contacts                              int
	counts                                string
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func readSettings(t *testing.T) settings {
	t.Helper()
	s := settings{
		mercatoURL: os.Getenv("MERCATO_URL"), adminEmail: env("MERCATO_ADMIN_EMAIL", "admin@acme.com"),
		adminPassword: env("MERCATO_ADMIN_PASSWORD", "secret"), databaseURL: os.Getenv("MERCATO_DATABASE_URL"),
		encryptionKey: os.Getenv("TENANT_DATA_ENCRYPTION_KEY"), orosyncBin: os.Getenv("OROSYNC_BIN"),
		runDir: os.Getenv("E2E_RUN_DIR"), counts: env("E2E_COUNTS", "accounts=40,b2bcustomers=10,leads=45,opportunities=60,tasks=80,calls=80,emails=40,notes=80,cases=10"),
	}
	s.natsPort, _ = strconv.Atoi(env("E2E_NATS_PORT", "4333"))
	s.contacts, _ = strconv.Atoi(env("E2E_CONTACTS", "300"))
	for k, v := range map[string]string{"MERCATO_URL": s.mercatoURL, "MERCATO_DATABASE_URL": s.databaseURL, "OROSYNC_BIN": s.orosyncBin, "E2E_RUN_DIR": s.runDir, "TENANT_DATA_ENCRYPTION_KEY": s.encryptionKey} {
		if v == "" {
			t.Fatalf("%s is not set: run the suite with `make mercato-e2e`", k)
		}
	}
	return s
}

// world is what the checks share: the admin's Mercato session, Oro (the simulator) and the running orosync.
type world struct {
	s          settings
	m          *mercato
	oro        *oro.Client
	simBase    string // the simulator's root URL (admin endpoints under /__admin)
	metricsURL string
	hooks      *receiver
	figures    map[string]string
	syncStart  time.Time
	lastEdit   []*edited
}

// oroTypes are the Oro types the suite syncs: the simulator's whole CRM.
const oroTypes = "contacts,accounts,b2bcustomers,leads,opportunities,tasks,calls,emails,notes,cases,users"

func setUp(ctx context.Context, t *testing.T) *world {
	s := readSettings(t)
	m, err := login(ctx, s.mercatoURL, s.adminEmail, s.adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{s: s, m: m, figures: map[string]string{}}
	w.hooks = newReceiver(t)
	simPort, metricsPort := freePort(t), freePort(t)
	const secret = "orosync-e2e-oro-secret"
	w.simBase = fmt.Sprintf("http://127.0.0.1:%d", simPort)
	w.metricsURL = fmt.Sprintf("http://127.0.0.1:%d", metricsPort)
	start(t, s.runDir, "oro-sim", nil, s.orosyncBin, "sim", "--addr", fmt.Sprintf("127.0.0.1:%d", simPort),
		"--client-secret", secret, "--contacts", strconv.Itoa(s.contacts), "--counts", s.counts)
	waitHTTP(ctx, t, w.simBase+"/__admin/stats", 2*time.Minute)
	w.oro, err = oro.New(ctx, oro.Config{BaseURL: w.simBase + "/api", ClientID: "orosync", ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	w.configureIntegration(ctx, t)
	w.subscribeWebhook(ctx, t)
	orosyncEnv := []string{"DATABASE_URL=" + s.databaseURL, "TENANT_DATA_ENCRYPTION_KEY=" + s.encryptionKey,
		"OROSYNC_ORO_CLIENT_SECRET=" + secret, "OROSYNC_RECONCILE_AUDIT_INTERVAL=5s", "OROSYNC_METRICS_ADDR=" + strings.TrimPrefix(w.metricsURL, "http://")}
	run := func(name string, args ...string) *proc {
		return start(t, s.runDir, name, orosyncEnv, s.orosyncBin, args...)
	}
	if p := run("orosync-migrate", "migrate", "--database-url", s.databaseURL); p.cmd.Wait() != nil {
		t.Fatalf("orosync migrate failed: see %s/orosync-migrate.log", s.runDir)
	}
	w.syncStart = time.Now()
	run("orosync", "run", "--oro-url", w.simBase+"/api", "--types", oroTypes, "--tenant", "e2e",
		"--mercato-tenant-id", m.tenantID, "--mercato-organization-id", m.orgID, "--data-dir", s.runDir+"/orosync-data",
		"--nats-port", strconv.Itoa(s.natsPort), "--poll-interval", "2s")
	return w
}

// configureIntegration saves the integration's credentials and enables it, as an admin does on its page.
func (w *world) configureIntegration(ctx context.Context, t *testing.T) {
	creds := map[string]any{"credentials": map[string]any{"oroUrl": w.simBase + "/api", "orosyncUrl": w.metricsURL}}
	if err := w.m.call(ctx, http.MethodPut, "/api/integrations/sync_orocrm/credentials", creds, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.m.call(ctx, http.MethodPut, "/api/integrations/sync_orocrm/state", map[string]any{"isEnabled": true}, nil); err != nil {
		t.Fatal(err)
	}
}

// receiver is an HTTP endpoint Mercato's webhooks deliver to.
type receiver struct {
	url string
	mu  sync.Mutex
	got []map[string]any
	ch  chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{ch: make(chan struct{}, 1)}
	port := freePort(t)
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
	t.Cleanup(func() { _ = srv.Close() })
	r.url = fmt.Sprintf("http://127.0.0.1:%d/hook", port)
	return r
}

func (r *receiver) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(req.Body).Decode(&body)
	r.mu.Lock()
	r.got = append(r.got, body)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
	rw.WriteHeader(http.StatusNoContent)
}

// deliveries returns what arrived so far.
func (r *receiver) deliveries() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

func (w *world) subscribeWebhook(ctx context.Context, t *testing.T) {
	hook := map[string]any{"name": "orosync e2e", "url": w.hooks.url, "subscribedEvents": []string{"customers.person.updated"},
		"maxRetries": 0, "timeoutMs": 5000}
	if err := w.m.call(ctx, http.MethodPost, "/api/webhooks", hook, nil); err != nil {
		t.Fatal(err)
	}
}
