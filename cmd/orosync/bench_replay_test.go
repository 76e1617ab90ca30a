package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

var replayBenchContacts = flag.Int("replay.contacts", 0, "contacts of BenchmarkReplayAfterAMappingChange (default 100,000; 1,000,000 with -long)")

var replayBenchNice = flag.Int("replay.nice", 10, "--nice of the benchmark's `orosync replay` processes")

func replayBenchSize() int { return benchSize(*replayBenchContacts, 100_000) }

// BenchmarkReplayAfterAMappingChange is issue 20's benchmark: N contacts (each a member of one of N/100 accounts)
// imported end to end as BenchmarkEndToEndReplay does (import-contacts/s, import-s), then two replays, each
// `orosync replay` in a process of its own beside a writer process, timed until the writer has applied every change
// and relayed its outbox:
//   - a mapping that changes one column of 1 % of the contacts (the job title of those whose first name ends in
//     "00"): onepct-replay-s and onepct/import (its time over the first import's); only those rows may be
//     rewritten, which the benchmark checks;
//   - a mapping that changes two columns of every contact (display name in capitals, job title spelled out):
//     replay-contacts/s, when its transformer had finished (replay-transformer-contacts/s), replay/import, the
//     floor in the same run (the replay's changes, read back from MERCATO_CHANGES, applied by the writer's use case
//     directly to a database holding the import and the 1 % replay, only the apply calls timed) and replay/floor,
//     and the CPU per contact of the replay's transformer, the writer, PostgreSQL and the JetStream server (this
//     process).
//
// The import's own floor (its changes applied the same way first: import-floor-contacts/s, import/floor) comes
// from the same database.
func BenchmarkReplayAfterAMappingChange(b *testing.B) {
	n := replayBenchSize()
	accounts := max(n/100, 10)
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
		ns, dbURL, p := benchPipeline(b, n, accounts)
		imported, importTime := importContacts(b, ctx, ns.JS, p, n, accounts)
		onePercent := replayOnePercent(b, ctx, ns, p, n)
		file := changedMapping(b, "Engineer", "Software Engineer")

		b.ResetTimer()
		stopProfile, stopPG := profileSelf(b, "remap-nats"), profilePostgres(b, dbURL, "remap-postgres")
		pg, self := postgresCPU(dbName(b, dbURL)), selfCPU()
		start := time.Now()
		wr := startService(b, p, "writer")
		rp := startOrosync(b, "replay", "--nats-url", ns.URL, "--mapping", file, "--tenant", "acme", "--type", "contacts", "--log-level", "warn", "--nice", strconv.Itoa(*replayBenchNice))
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

		floors := writerFloor(b, ctx, ns.JS, p, n+accounts, n, n)
		importFloor, floor := floors[0], floors[2]
		replayed := float64(n) / elapsed.Seconds()
		perContact := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
		b.ReportMetric(onePercent.Seconds(), "onepct-replay-s")
		b.ReportMetric(importTime.Seconds(), "import-s")
		b.ReportMetric(onePercent.Seconds()/importTime.Seconds(), "onepct/import")
		b.ReportMetric(replayed, "replay-contacts/s")
		b.ReportMetric(float64(n)/transformed.Seconds(), "replay-transformer-contacts/s")
		b.ReportMetric(floor, "floor-contacts/s")
		b.ReportMetric(replayed/floor, "replay/floor")
		b.ReportMetric(imported, "import-contacts/s")
		b.ReportMetric(replayed/imported, "replay/import")
		b.ReportMetric(importFloor, "import-floor-contacts/s")
		b.ReportMetric(imported/importFloor, "import/floor")
		b.ReportMetric(perContact(ru.cpu), "transformer-cpu-µs/contact")
		b.ReportMetric(perContact(wu.cpu), "writer-cpu-µs/contact")
		b.ReportMetric(perContact(pgSpent), "postgres-cpu-µs/contact")
		b.ReportMetric(perContact(natsSpent), "nats-cpu-µs/contact")
		b.ReportMetric(0, "ns/op")
		cancel()
	}
}

// replayOnePercent replays ORO_RAW with a mapping that changes the job title of 1 % of the contacts, beside a
// writer, until Mercato has converged; it checks only those contacts' rows were rewritten and returns the time.
func replayOnePercent(b *testing.B, ctx context.Context, ns *jstest.Server, p pipeline, n int) time.Duration {
	b.Helper()
	start := time.Now()
	wr := startService(b, p, "writer")
	rp := startOrosync(b, "replay", "--nats-url", ns.URL, "--mapping", onePercentMapping(b), "--tenant", "acme", "--type", "contacts", "--log-level", "warn", "--nice", strconv.Itoa(*replayBenchNice))
	if _, err := waitRemapped(ctx, ns.JS, p.DatabaseURL, start, rp, wr); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	rp.ended(b)
	wr.stop(b)
	pool, err := pgxpool.New(ctx, p.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var retitled, records int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM customer_people WHERE job_title = 'Software Engineer'),
       (SELECT count(*) FROM orosync_records WHERE mapping_version = 'oro-v2-one-percent')`).Scan(&retitled, &records); err != nil {
		b.Fatal(err)
	}
	if want := n / 100; retitled != want || records != want {
		b.Fatalf("after the 1 %% replay: %d people retitled, %d records rewritten under its mapping; want %d of each", retitled, records, want)
	}
	return elapsed
}

// onePercentMapping writes mapping oro-v2-one-percent, the default one spelling out the job title of contacts
// whose first name ends in "00" (1 % of the benchmark's), and returns its file.
func onePercentMapping(tb testing.TB) string {
	tb.Helper()
	b, _ := transformer.DefaultMapping()
	v := strings.Replace(string(b), "version: oro-v1", "version: oro-v2-one-percent", 1)
	v = strings.Replace(v, `{to: jobTitle, from: attributes.jobTitle, as: text}`,
		`{to: jobTitle, field: attributes.jobTitle, expr: 'text(attr.firstName) endsWith "00" ? "Software Engineer" : text(attr.jobTitle)'}`, 1)
	if !strings.Contains(v, "endsWith") {
		tb.Fatal("the default mapping changed shape; adjust how onePercentMapping derives its mapping from it")
	}
	file := filepath.Join(tb.TempDir(), "oro-v2-one-percent.yaml")
	if err := os.WriteFile(file, []byte(v), 0o644); err != nil {
		tb.Fatal(err)
	}
	return file
}

// importContacts runs the transformer and the writer, each in a process of its own, over ORO_RAW until Mercato
// holds every contact, stops them and returns contacts/s and the time it took.
func importContacts(b *testing.B, ctx context.Context, js jetstream.JetStream, p pipeline, n, accounts int) (float64, time.Duration) {
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
	return float64(n) / elapsed.Seconds(), elapsed
}

// waitRemapped polls until the replay process has caught up and ended, and the writer has acknowledged every
// change and relayed its outbox; it returns when the replay had ended.
func waitRemapped(ctx context.Context, js jetstream.JetStream, dbURL string, start time.Time, replay, wr *child) (time.Duration, error) {
	var transformed time.Duration
	err := awaitPipeline(ctx, dbURL, []*child{wr}, func(db *sql.DB) (bool, error) {
		if transformed == 0 {
			select {
			case <-replay.Exited():
				if replay.err != nil {
					return false, fmt.Errorf("orosync %v ended: %v\n%s", replay.cmd.Args, replay.err, replay.output)
				}
				transformed = time.Since(start)
			default:
			}
			return false, nil
		}
		return idle(ctx, js, db)
	})
	return transformed, err
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
