package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
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

var (
	freshnessEdits    = flag.Int("freshness.edits", 20, "Oro edits timed in each mode of BenchmarkFreshness")
	freshnessInterval = flag.Duration("freshness.interval", 2*time.Second, "the poll interval of BenchmarkFreshness")
)

// freshnessContacts is the simulator's size: the pipeline catches up on it before the edits start.
const freshnessContacts = 100

// BenchmarkFreshness times Oro edits until Mercato shows them: the pipeline (poller, transformer, writer in one
// process, as `orosync run` runs them) caught up on the simulator, then one contact edited at a time, each after a
// pause that walks through the poll interval's phases, and the delay from the edit to the person's
// customers.person.updated event on MERCATO_EVENTS (the writer publishes it from its outbox once the row is
// committed). Twice: polling alone at -freshness.interval, then with Oro's webhooks delivering the edits (polling
// then runs every 10 intervals as the safety net). Reported: p50 and p99 of each, polling's as a ratio to the
// poll interval, the webhooks' as a ratio to polling's p50 in the same run.
func BenchmarkFreshness(b *testing.B) {
	interval := *freshnessInterval
	for range b.N {
		polled := freshness(b, interval, false)
		hooked := freshness(b, interval, true)
		pp50, pp99 := percentile(polled, 50), percentile(polled, 99)
		wp50, wp99 := percentile(hooked, 50), percentile(hooked, 99)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(interval), "poll-interval-ms")
		b.ReportMetric(ms(pp50), "poll-p50-ms")
		b.ReportMetric(ms(pp99), "poll-p99-ms")
		b.ReportMetric(pp50.Seconds()/interval.Seconds(), "poll-p50/interval")
		b.ReportMetric(pp99.Seconds()/interval.Seconds(), "poll-p99/interval")
		b.ReportMetric(ms(wp50), "webhook-p50-ms")
		b.ReportMetric(ms(wp99), "webhook-p99-ms")
		b.ReportMetric(wp50.Seconds()/pp50.Seconds(), "webhook-p50/poll-p50")
		b.ReportMetric(wp99.Seconds()/pp50.Seconds(), "webhook-p99/poll-p50")
		b.ReportMetric(0, "ns/op")
	}
}

// percentile is the nearest-rank p-th percentile of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// freshness runs the pipeline on a fresh simulator, NATS server and database, and returns the delays of
// -freshness.edits edits, with webhooks or polling alone.
func freshness(b *testing.B, interval time.Duration, webhooks bool) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sim := orosim.New(orosim.Config{ClientID: "orosync", ClientSecret: "s3cret", Contacts: freshnessContacts, Seed: 3})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ns := jstest.Start(b)
	dbURL := dbtest.NewDatabase(b)
	p := pipeline{NatsURL: ns.URL, DatabaseURL: dbURL, Tenant: "acme", Types: []string{"contacts"}, PageSize: 200,
		Oro:   oro.Config{BaseURL: srv.URL + "/api", ClientID: "orosync", ClientSecret: "s3cret"},
		Scope: writer.Scope{TenantID: uuid.MustParse(defaultTenantID), OrganizationID: uuid.MustParse(defaultOrgID)},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: interval,
		Services: services{svcPoller: true, svcTransformer: true, svcWriter: true}}
	if webhooks {
		addr := freeAddr(b)
		b.Setenv("OROSYNC_WEBHOOK_ADDR", addr)
		b.Setenv("OROSYNC_WEBHOOK_SECRET", "hook-secret")
		b.Setenv("OROSYNC_WEBHOOK_URL", "http://"+addr+"/webhooks/acme")
		for _, topic := range []string{"contact.created", "contact.updated"} { // the poller's probe wants both
			if _, err := sim.AddWebhook(orosim.Webhook{NotificationURL: "http://" + addr + "/webhooks/acme", Topic: topic,
				Secret: "hook-secret", Enabled: true}); err != nil {
				b.Fatal(err)
			}
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Errorf("pipeline: %v", err)
		}
	}()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	entities := caughtUp(ctx, b, pool, done)

	nc, err := nats.Connect(ns.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	updated := make(chan *nats.Msg, 1024)
	sub, err := nc.ChanSubscribe("mercato.events.acme.customers.person.updated.*", updated)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	ids := sim.ContactIDs()
	delays := make([]time.Duration, 0, *freshnessEdits)
	for i := range *freshnessEdits {
		// The golden ratio's multiples spread the edits over the poll interval's phases.
		_, frac := math.Modf(float64(i) * 0.6180339887)
		select {
		case <-time.After(time.Duration(frac * float64(interval))):
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
		id := ids[i%len(ids)]
		entity, ok := entities[id]
		if !ok {
			b.Fatalf("contact %s has no person in Mercato", id)
		}
		edited := time.Now()
		if err := sim.UpdateContact(id, map[string]any{"jobTitle": fmt.Sprintf("Fresh %d", i)}); err != nil {
			b.Fatal(err)
		}
		awaitEvent(ctx, b, updated, entity, done)
		delays = append(delays, time.Since(edited))
	}
	b.Logf("webhooks %v: delays %v", webhooks, delays)
	return delays
}

// caughtUp waits until every simulated contact is a person in Mercato and returns their entity ids by Oro id.
func caughtUp(ctx context.Context, b *testing.B, pool *pgxpool.Pool, done <-chan error) map[string]string {
	b.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rows, err := pool.Query(ctx, `SELECT substr(external_id, length('contacts:') + 1), internal_entity_id::text
FROM sync_external_id_mappings WHERE internal_entity_type = 'customers.person' AND starts_with(external_id, 'contacts:')`)
		if err != nil {
			b.Fatal(err)
		}
		out := map[string]string{}
		for rows.Next() {
			var id, entity string
			if err := rows.Scan(&id, &entity); err != nil {
				b.Fatal(err)
			}
			out[id] = entity
		}
		rows.Close()
		if len(out) >= freshnessContacts {
			return out
		}
		select {
		case err := <-done:
			b.Fatalf("the pipeline stopped before catching up: %v", err)
		case <-ctx.Done():
			b.Fatalf("%d of %d contacts in Mercato: %v", len(out), freshnessContacts, ctx.Err())
		case <-tick.C:
		}
	}
}

// awaitEvent waits for the customers.person.updated event of entity, passing over the others.
func awaitEvent(ctx context.Context, b *testing.B, events <-chan *nats.Msg, entity string, done <-chan error) {
	b.Helper()
	for {
		select {
		case m := <-events:
			if strings.HasSuffix(m.Subject, "."+entity) {
				return
			}
		case err := <-done:
			b.Fatalf("the pipeline stopped: %v", err)
		case <-ctx.Done():
			b.Fatalf("no customers.person.updated event of %s: %v", entity, ctx.Err())
		}
	}
}
