package main

import (
	"context"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/orosim"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

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
	for _, svc := range []string{"poller", "transformer", "writer"} {
		args := append([]string{"run", "--services", svc}, common...)
		if svc == "poller" {
			args = append(args, "--oro-url", srv.URL+"/api", "--poll-interval", "1s")
		}
		procs[svc] = startOrosync(t, args...)
	}

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for persons := 0; persons < contacts; {
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d contacts reached Mercato: %v", persons, contacts, ctx.Err())
		case <-tick.C:
		}
		for svc, c := range procs {
			select {
			case <-c.Exited():
				t.Fatalf("the %s process ended: %v\n%s", svc, c.err, c.output)
			default:
			}
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM customer_people p JOIN sync_external_id_mappings m
			ON m.internal_entity_id = p.entity_id AND m.internal_entity_type = 'customers.person'`).Scan(&persons); err != nil {
			t.Fatal(err)
		}
	}
	for svc, c := range procs {
		c.stop(t) // each stops cleanly on SIGTERM
		if strings.Contains(c.output.String(), "Oro simulator at") {
			t.Errorf("the %s process started the bundled simulator though --oro-url was given or it needs no Oro:\n%s", svc, c.output)
		}
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
