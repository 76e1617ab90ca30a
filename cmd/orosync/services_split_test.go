package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/orosim"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

// TestEachServiceInItsOwnProcessSyncsContactsIntoMercato runs every service as `orosync run --services X`, each
// process serving its probes and metrics on an OROSYNC_METRICS_ADDR of its own.
func TestEachServiceInItsOwnProcessSyncsContactsIntoMercato(t *testing.T) {
	const contacts = 300
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sim := orosim.New(orosim.Config{ClientID: "orosync", ClientSecret: "s3cret", Contacts: contacts, Seed: 7})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ns := jstest.Start(t)
	dbURL := dbtest.NewDatabase(t)
	t.Setenv("OROSYNC_ORO_CLIENT_SECRET", "s3cret")
	common := []string{"--nats-url", ns.URL, "--database-url", dbURL, "--tenant", "acme", "--log-level", "warn"}
	procs := map[string]*child{}
	probes := map[string]string{} // service: its metrics address
	for _, svc := range allServices {
		args := append([]string{"run", "--services", svc}, common...)
		if svc == svcPoller || svc == svcReconciler {
			args = append(args, "--oro-url", srv.URL+"/api", "--poll-interval", "1s")
		}
		probes[svc] = freeAddr(t)
		t.Setenv("OROSYNC_METRICS_ADDR", probes[svc]) // startOrosync passes the environment as it is now
		procs[svc] = startOrosync(t, args...)
	}

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	alive := func(t *testing.T) {
		t.Helper()
		for svc, c := range procs {
			select {
			case <-c.Exited():
				t.Fatalf("the %s process ended: %v\n%s", svc, c.err, c.output)
			default:
			}
		}
	}
	await := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			alive(t)
			select {
			case <-ctx.Done():
				t.Fatalf("waiting for %s: %v", what, ctx.Err())
			case <-tick.C:
			}
		}
	}
	persons := func() (n int) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM customer_people p JOIN sync_external_id_mappings m
			ON m.internal_entity_id = p.entity_id AND m.internal_entity_type = 'customers.person'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	await(t, "every contact in Mercato", func() bool { return persons() >= contacts })

	// What each process's /metrics must hold: its own service's metrics (the reconciler's once it has run a round).
	own := map[string]string{svcPoller: "orosync_poller_", svcTransformer: "orosync_transformer_changes_total",
		svcWriter: "orosync_writer_batches_committed_total", svcReconciler: "orosync_reconciler_rounds_total"}
	for _, svc := range allServices {
		t.Run(svc+" serves its probes and metrics", func(t *testing.T) {
			base := "http://" + probes[svc]
			if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "alive\n" {
				t.Errorf("/healthz: %d %q", code, body)
			}
			await(t, svc+"'s /readyz", func() bool { code, _ := get(t, base+"/readyz"); return code == http.StatusOK })
			await(t, svc+"'s "+own[svc], func() bool { _, body := get(t, base+"/metrics"); return strings.Contains(body, "\n"+own[svc]) })
		})
	}
	t.Run("the writer is not ready while PostgreSQL refuses writes", func(t *testing.T) {
		setReadOnly(ctx, t, pool, true)
		if err := sim.UpdateContact("1", map[string]any{"firstName": "Readonly"}); err != nil {
			t.Fatal(err)
		}
		writerReady := "http://" + probes[svcWriter] + "/readyz"
		await(t, "the writer's /readyz to say it waits", func() bool {
			code, body := get(t, writerReady)
			return code == http.StatusServiceUnavailable && strings.Contains(body, "writer: the writer waits for PostgreSQL") &&
				strings.Contains(body, "25006")
		})
		setReadOnly(ctx, t, pool, false)
		await(t, "the writer ready again", func() bool { code, _ := get(t, writerReady); return code == http.StatusOK })
	})
	for svc, c := range procs {
		c.stop(t) // each stops cleanly on SIGTERM
		if strings.Contains(c.output.String(), "Oro simulator at") {
			t.Errorf("the %s process started the bundled simulator though --oro-url was given or it needs no Oro:\n%s", svc, c.output)
		}
	}
}

// setReadOnly makes the database's new sessions read-only (or writable again) and ends every other session, as a
// standby promoted the wrong way round would.
func setReadOnly(ctx context.Context, t *testing.T, pool *pgxpool.Pool, on bool) {
	t.Helper()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var db string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	stmt := `SET default_transaction_read_only = off; ALTER DATABASE %s RESET default_transaction_read_only`
	if on {
		stmt = `ALTER DATABASE %s SET default_transaction_read_only = on`
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(stmt, pgx.Identifier{db}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
}

func TestServicesFlagRejectsAnUnknownServiceByName(t *testing.T) {
	for list, want := range map[string]string{"writer,poler": `unknown service "poler"`, "transformer, x": `unknown service "x"`} {
		if _, err := parseServices(list); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseServices(%q) = %v, want an error naming %s", list, err, want)
		}
	}
	s, err := parseServices(" writer , transformer")
	if err != nil || !s.has("writer") || !s.has("transformer") || s.has("poller") || s.needsOro() {
		t.Errorf("parseServices(writer,transformer) = %v, %v", s, err)
	}
	if all, err := parseServices("all"); err != nil || !all.has("reconciler") || all.String() != "poller,transformer,writer,reconciler" {
		t.Errorf("parseServices(all) = %v, %v", all, err)
	}
}

func TestAProcessGarbageCollectsAsItsServicesNeedUnlessGOGCIsSet(t *testing.T) {
	current := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	before := current()
	for _, tc := range []struct {
		services, gogc string
		want           int
	}{
		{"writer", "", writerGCPercent},
		{"transformer", "", transformer.DefaultGCPercent},
		{"all", "", transformer.DefaultGCPercent},
		{"writer,transformer", "", transformer.DefaultGCPercent},
		{"poller,reconciler", "", before},
		{"writer", "150", before},
	} {
		t.Setenv("GOGC", tc.gogc)
		svcs, err := parseServices(tc.services)
		if err != nil {
			t.Fatal(err)
		}
		restore := pipeline{Services: svcs}.tuneGC()
		got := current()
		restore()
		if got != tc.want {
			t.Errorf("services %s, GOGC=%q: GC percent %d, want %d", tc.services, tc.gogc, got, tc.want)
		}
		if after := current(); after != before {
			t.Errorf("services %s: GC percent %d after the restore, want %d", tc.services, after, before)
		}
	}
}
