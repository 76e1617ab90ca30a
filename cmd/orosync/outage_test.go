package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	writer "github.com/orosync/orosync/services/writer/service"
)

// nats.go's reconnect budget before this change, the one orosync's connections had: 60 attempts, a wait between
// rounds. The test shortens the wait (and drops the jitter) so that budget is 60 × outageTestWait, and keeps the
// server down several times that long.
const (
	natsDefaultMaxReconnects = 60
	outageTestWait           = 10 * time.Millisecond
)

func TestBrokerOutageLongerThanTheOldReconnectBudgetLosesNoRecord(t *testing.T) {
	const contacts = 300
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sim := orosim.New(orosim.Config{ClientID: "orosync", ClientSecret: "s3cret", Contacts: contacts, Seed: 11})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ns := jstest.Start(t)
	dbURL := dbtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	p := pipeline{NatsURL: ns.URL, DatabaseURL: dbURL, Tenant: "acme", Types: []string{"contacts"}, PageSize: 100,
		Oro:   oro.Config{BaseURL: srv.URL + "/api", ClientID: "orosync", ClientSecret: "s3cret"},
		Scope: writer.Scope{TenantID: uuid.MustParse(defaultTenantID), OrganizationID: uuid.MustParse(defaultOrgID)},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 100 * time.Millisecond,
		Services:    services{svcPoller: true, svcTransformer: true, svcWriter: true},
		NatsOptions: []nats.Option{nats.ReconnectWait(outageTestWait), nats.ReconnectJitter(0, 0)}}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- p.Run(runCtx) }()
	defer func() { stop(); <-ran }()

	waitForOroInMercato(ctx, t, pool, p, ran)
	ns.Stop()
	outage := 5 * natsDefaultMaxReconnects * outageTestWait
	for i, id := range sim.ContactIDs()[:50] {
		if err := sim.UpdateContact(id, map[string]any{"jobTitle": fmt.Sprintf("edited during the outage %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if _, err := sim.CreateContact(map[string]any{"firstName": "Created", "lastName": fmt.Sprintf("During Outage %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-ran:
		t.Fatalf("the pipeline stopped during the outage: %v", err)
	case <-time.After(outage): // the outage itself: the broker stays down this long
	}
	ns.Restart(t)
	waitForOroInMercato(ctx, t, pool, p, ran)
}

// waitForOroInMercato waits until orosync_records holds every Oro contact at its current updatedAt.
func waitForOroInMercato(ctx context.Context, t *testing.T, pool *pgxpool.Pool, p pipeline, ran <-chan error) {
	t.Helper()
	c, err := oro.New(ctx, p.Oro)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		want, err := oroContactVersions(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appliedVersions(ctx, pool, p.Scope)
		if err != nil {
			t.Fatal(err)
		}
		behind := 0
		for id, at := range want {
			if g, ok := got[id]; !ok || !g.Equal(at) {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d Oro contacts are not in Mercato at their current version: %v", behind, len(want), ctx.Err())
		case err := <-ran:
			t.Fatalf("the pipeline stopped: %v", err)
		case <-tick.C:
		}
	}
}

func oroContactVersions(ctx context.Context, c *oro.Client) (map[string]time.Time, error) {
	page, err := c.List(ctx, "contacts", oro.Query{PageSize: -1, Fields: map[string][]string{"contacts": {"updatedAt"}}})
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(page.Data))
	for _, r := range page.Data {
		at, ok := r.UpdatedAt()
		if !ok {
			return nil, errors.New("contact " + r.ID + " without updatedAt")
		}
		out[r.ID] = at.UTC()
	}
	return out, nil
}

func appliedVersions(ctx context.Context, pool *pgxpool.Pool, scope writer.Scope) (map[string]time.Time, error) {
	rows, err := pool.Query(ctx, `SELECT source_id, source_updated_at FROM orosync_records
WHERE tenant_id = $1 AND organization_id = $2 AND source_type = 'contacts' AND deleted_at IS NULL`, scope.TenantID, scope.OrganizationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			id string
			at time.Time
		)
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = at.UTC()
	}
	return out, rows.Err()
}
