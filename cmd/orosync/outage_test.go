package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
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

// nats.go's reconnect budget before this change, the one orosync's connections had: 60 failed attempts, then the
// connection closed for good. The test shortens the wait between attempts (and drops the jitter) and keeps the
// server down until every connection of the pipeline has failed more attempts than that.
const (
	natsDefaultMaxReconnects = 60
	outageTestWait           = 10 * time.Millisecond
)

// reconnectTally counts, per open NATS connection of the pipeline, its failed reconnect attempts.
type reconnectTally struct {
	mu     sync.Mutex
	failed map[*nats.Conn]int
	notify chan struct{} // receives (without blocking) after each change
}

func newReconnectTally() *reconnectTally {
	return &reconnectTally{failed: map[*nats.Conn]int{}, notify: make(chan struct{}, 1)}
}

// options make every connection of the pipeline report to the tally.
func (r *reconnectTally) options() []nats.Option {
	return []nats.Option{nats.ReconnectWait(outageTestWait), nats.ReconnectJitter(0, 0),
		nats.ConnectHandler(func(nc *nats.Conn) { r.note(nc, 0) }),
		nats.ReconnectErrHandler(func(nc *nats.Conn, _ error) { r.note(nc, 1) })}
}

func (r *reconnectTally) note(nc *nats.Conn, failed int) {
	r.mu.Lock()
	r.failed[nc] += failed
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// fewest is the fewest failed attempts of the connections still open, and how many are open.
func (r *reconnectTally) fewest() (attempts, open int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	attempts = -1
	for nc, n := range r.failed {
		if nc.IsClosed() {
			continue
		}
		open++
		if attempts < 0 || n < attempts {
			attempts = n
		}
	}
	return attempts, open
}

func TestABrokerOutageLongerThanTheOldReconnectBudget(t *testing.T) {
	const contacts = 300
	ctx := t.Context() // every wait below is for an event: records in Mercato, reconnect attempts
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
	tally := newReconnectTally()
	p := pipeline{NatsURL: ns.URL, DatabaseURL: dbURL, Tenant: "acme", Types: []string{"contacts"}, PageSize: 100,
		Oro:   oro.Config{BaseURL: srv.URL + "/api", ClientID: "orosync", ClientSecret: "s3cret"},
		Scope: writer.Scope{TenantID: uuid.MustParse(defaultTenantID), OrganizationID: uuid.MustParse(defaultOrgID)},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 100 * time.Millisecond,
		Services:    services{svcPoller: true, svcTransformer: true, svcWriter: true},
		NatsOptions: tally.options()}
	runCtx, stop := context.WithCancel(ctx)
	ran := &ranPipeline{done: make(chan struct{})}
	go func() { ran.err = p.Run(runCtx); close(ran.done) }()
	defer func() { stop(); <-ran.done }()

	waitForOroInMercato(ctx, t, pool, p, ran)
	ns.Stop()
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
	waitedOut := t.Run("is waited out by every service", func(t *testing.T) {
		for {
			attempts, open := tally.fewest()
			if attempts > natsDefaultMaxReconnects {
				return // the broker stays down until every open connection failed more attempts than the old budget
			}
			select {
			case <-ran.done:
				t.Fatalf("the pipeline stopped during the outage: %v", ran.err)
			case <-ctx.Done():
				t.Fatalf("%d connections open, the least tried %d times: %v", open, attempts, ctx.Err())
			case <-tally.notify:
			}
		}
	})
	ns.Restart(t)
	if !waitedOut {
		return
	}
	t.Run("loses no record", func(t *testing.T) {
		waitForOroInMercato(ctx, t, pool, p, ran)
	})
}

// ranPipeline is a pipeline running in a goroutine: done is closed when Run returned err.
type ranPipeline struct {
	done chan struct{}
	err  error
}

// waitForOroInMercato waits until orosync_records holds every Oro contact at its current updatedAt.
func waitForOroInMercato(ctx context.Context, t *testing.T, pool *pgxpool.Pool, p pipeline, ran *ranPipeline) {
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
		case <-ran.done:
			t.Fatalf("the pipeline stopped: %v", ran.err)
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
