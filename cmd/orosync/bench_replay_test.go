package main

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/mercatodb"
)

var replayBenchContacts = flag.Int("replay.contacts", 0, "contacts of BenchmarkReplayAfterAMappingChange (default 100,000; 1,000,000 with -long)")

func replayBenchSize() int { return benchSize(*replayBenchContacts, 100_000) }

// BenchmarkReplayAfterAMappingChange is issue 20's benchmark: N contacts (each a member of one of N/100 accounts)
// imported end to end as BenchmarkEndToEndReplay does (not timed), then `orosync replay` with a mapping that
// changes two columns of every contact (display name in capitals, job title spelled out), in a process of its
// own beside a writer process, until the writer has applied every change and relayed its outbox. Reported: the
// replay's contacts/s (replay-contacts/s) and when its transformer had finished (replay-transformer-contacts/s),
// the first import's contacts/s and replay/import, the floor in the same run (the replay's changes, read back from
// MERCATO_CHANGES, applied by the writer's use case directly to a database holding the import, only the apply
// calls timed) and replay/floor, and the CPU per contact of the replay's transformer, the writer, PostgreSQL and
// the JetStream server (this process).
func BenchmarkReplayAfterAMappingChange(b *testing.B) {
	n := replayBenchSize()
	accounts := max(n/100, 10)
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
		ns, dbURL, p := benchPipeline(b, n, accounts)
		imported := importContacts(b, ctx, ns.JS, p, n, accounts)
		file := changedMapping(b, "Engineer", "Software Engineer")

		b.ResetTimer()
		stopProfile, stopPG := profileSelf(b, "remap-nats"), profilePostgres(b, dbURL, "remap-postgres")
		pg, self := postgresCPU(dbName(b, dbURL)), selfCPU()
		start := time.Now()
		wr := startService(b, p, "writer")
		rp := startOrosync(b, "replay", "--nats-url", ns.URL, "--mapping", file, "--tenant", "acme", "--type", "contacts", "--log-level", "warn")
		transformed, err := waitRemapped(ctx, ns.JS, dbURL, start, rp, wr)
		elapsed := time.Since(start)
		b.StopTimer()
		pgSpent, natsSpent := cpuSince(pg, postgresCPU(dbName(b, dbURL))), selfCPU()-self
		stopProfile()
		stopPG()
		if err != nil {
			b.Fatal(err)
		}
		ru, wu := rp.ended(b), wr.stop(b)
		checkRemapped(b, ctx, dbURL, n)

		floor := writerFloor(b, ctx, ns.JS, p, n+accounts, n)
		replayed := float64(n) / elapsed.Seconds()
		perContact := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
		b.ReportMetric(replayed, "replay-contacts/s")
		b.ReportMetric(float64(n)/transformed.Seconds(), "replay-transformer-contacts/s")
		b.ReportMetric(floor, "floor-contacts/s")
		b.ReportMetric(replayed/floor, "replay/floor")
		b.ReportMetric(imported, "import-contacts/s")
		b.ReportMetric(replayed/imported, "replay/import")
		b.ReportMetric(perContact(ru.cpu), "transformer-cpu-µs/contact")
		b.ReportMetric(perContact(wu.cpu), "writer-cpu-µs/contact")
		b.ReportMetric(perContact(pgSpent), "postgres-cpu-µs/contact")
		b.ReportMetric(perContact(natsSpent), "nats-cpu-µs/contact")
		b.ReportMetric(0, "ns/op")
		cancel()
	}
}

// importContacts runs the transformer and the writer, each in a process of its own, over ORO_RAW until Mercato
// holds every contact, stops them and returns contacts/s.
func importContacts(b *testing.B, ctx context.Context, js jetstream.JetStream, p pipeline, n, accounts int) float64 {
	b.Helper()
	start := time.Now()
	tr := startService(b, p, "transformer")
	wr := startService(b, p, "writer")
	if _, err := waitReplayed(ctx, js, p.DatabaseURL, n, accounts, start, tr, wr); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	tr.stop(b)
	wr.stop(b)
	checkReplayed(b, ctx, p.DatabaseURL, n, accounts)
	return float64(n) / elapsed.Seconds()
}

// waitRemapped polls (every 100 ms) until the replay process has caught up and ended, and the writer has
// acknowledged every change and relayed its outbox; it returns when the replay had ended.
func waitRemapped(ctx context.Context, js jetstream.JetStream, dbURL string, start time.Time, replay, wr *child) (time.Duration, error) {
	db, err := mercatodb.OpenDB(dbURL)
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	var transformed time.Duration
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-wr.Exited():
			return 0, fmt.Errorf("orosync %v ended: %v\n%s", wr.cmd.Args, wr.err, wr.output)
		case <-tick.C:
		}
		if transformed == 0 {
			select {
			case <-replay.Exited():
				if replay.err != nil {
					return 0, fmt.Errorf("orosync %v ended: %v\n%s", replay.cmd.Args, replay.err, replay.output)
				}
				transformed = time.Since(start)
			default:
			}
			continue
		}
		if ok, err := idle(ctx, js, db); err != nil || ok {
			return transformed, err
		}
	}
}

// checkRemapped asserts every contact's row holds what the changed mapping writes, applied under its version.
func checkRemapped(b *testing.B, ctx context.Context, dbURL string, n int) {
	b.Helper()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var all, upper, spelled, records int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE e.display_name = upper(e.display_name)),
       count(*) FILTER (WHERE p.job_title = 'Software Engineer'),
       (SELECT count(*) FROM orosync_records WHERE internal_entity_type = 'customers.person' AND mapping_version = 'oro-v2-test')
FROM customer_entities e JOIN customer_people p ON p.entity_id = e.id
WHERE e.kind = 'person' AND e.deleted_at IS NULL`).Scan(&all, &upper, &spelled, &records); err != nil {
		b.Fatal(err)
	}
	if all != n || upper != n || spelled != n || records != n {
		b.Fatalf("after the replay: %d persons, %d upper-case names, %d spelled-out titles, %d records under oro-v2-test; want %d of each",
			all, upper, spelled, records, n)
	}
}
