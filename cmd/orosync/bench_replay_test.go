package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

var replayBenchContacts = flag.Int("replay.contacts", 0, "contacts of BenchmarkReplayAfterAMappingChange (default 100,000; 1,000,000 with -long)")

var replayBenchNice = flag.Int("replay.nice", 10, "--nice of the benchmark's `orosync replay` processes")

var replayBenchEveryRecord = flag.Bool("replay.every-record", false, "the every-row replay of BenchmarkReplayAfterAMappingChange publishes every record's change (--every-record)")

func replayBenchSize() int { return benchSize(*replayBenchContacts, 100_000) }

// BenchmarkReplayAfterAMappingChange is issue 20's benchmark: N contacts (each a member of one of N/100 accounts)
// imported end to end as BenchmarkEndToEndReplay does (import-contacts/s, import-s), then two replays, each
// `orosync replay` in a process of its own beside a writer process, timed until the writer has applied every change
// and relayed its outbox:
//   - twice a mapping that changes one column of 1 % of the contacts (the job title of those whose first name ends
//     in "00"): first with --every-record, publishing every change as replays did before they had a base
//     (onepct-every-record-s, and onepct-every-record-transformer-s when its transformer had mapped them all), then
//     against its base, publishing only the changes that differ (onepct-replay-s, onepct/import: its time over the
//     first import's, and onepct/every-record); only those rows may be rewritten and, against the base, only their
//     changes published, which the benchmark checks;
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
		everyRecord, everyRecordTransformed := replayOnePercent(b, ctx, ns, p, n, "oro-v2-one-percent", "Software Engineer", "--every-record")
		onePercent, _ := replayOnePercent(b, ctx, ns, p, n, "oro-v3-one-percent", "Staff Engineer",
			"--base", onePercentMapping(b, "oro-v2-one-percent", "Software Engineer"))
		file := changedMapping(b, "Engineer", "Software Engineer")

		b.ResetTimer()
		stopProfile, stopPG := profileSelf(b, "remap-nats"), profilePostgres(b, dbURL, "remap-postgres")
		pg, self := postgresCPU(dbName(b, dbURL)), selfCPU()
		start := time.Now()
		wr := startService(b, p, "writer")
		args := []string{"replay", "--nats-url", ns.URL, "--mapping", file, "--tenant", "acme", "--type", "contacts", "--log-level", "warn", "--nice", strconv.Itoa(*replayBenchNice)}
		if *replayBenchEveryRecord {
			args = append(args, "--every-record")
		} else {
			args = append(args, "--base", onePercentMapping(b, "oro-v3-one-percent", "Staff Engineer")) // the latest mapping run
		}
		rp := startOrosync(b, args...)
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

		floors := writerFloor(b, ctx, ns.JS, p, n+accounts, n, n/100, n)
		importFloor, floor := floors[0], floors[3]
		replayed := float64(n) / elapsed.Seconds()
		perContact := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
		b.ReportMetric(onePercent.Seconds(), "onepct-replay-s")
		b.ReportMetric(importTime.Seconds(), "import-s")
		b.ReportMetric(onePercent.Seconds()/importTime.Seconds(), "onepct/import")
		b.ReportMetric(everyRecord.Seconds(), "onepct-every-record-s")
		b.ReportMetric(everyRecordTransformed.Seconds(), "onepct-every-record-transformer-s")
		b.ReportMetric(onePercent.Seconds()/everyRecord.Seconds(), "onepct/every-record")
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

// replayOnePercent replays ORO_RAW with the mapping onePercentMapping writes for version and title, and the further
// flags, beside a writer, until Mercato has converged; it checks that only the contacts the mapping retitles were rewritten and,
// unless every record was published, that only their changes were, and returns the time to converge and the time
// the replay process took.
func replayOnePercent(b *testing.B, ctx context.Context, ns *jstest.Server, p pipeline, n int, version, title string, flags ...string) (time.Duration, time.Duration) {
	b.Helper()
	changes, err := ns.JS.Stream(ctx, events.StreamMercatoChanges)
	if err != nil {
		b.Fatal(err)
	}
	before := streamMsgs(b, ctx, changes)
	start := time.Now()
	wr := startService(b, p, "writer")
	args := append([]string{"replay", "--nats-url", ns.URL, "--mapping", onePercentMapping(b, version, title), "--tenant", "acme", "--type", "contacts", "--log-level", "warn",
		"--nice", strconv.Itoa(*replayBenchNice)}, flags...)
	rp := startOrosync(b, args...)
	transformed, err := waitRemapped(ctx, ns.JS, p.DatabaseURL, start, rp, wr)
	if err != nil {
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
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM customer_people WHERE job_title = $1),
       (SELECT count(*) FROM orosync_records WHERE mapping_version = $2)`, title, version).Scan(&retitled, &records); err != nil {
		b.Fatal(err)
	}
	want := n / 100
	if retitled != want || records != want {
		b.Fatalf("after the 1 %% replay with %s: %d people retitled, %d records rewritten under its mapping; want %d of each", version, retitled, records, want)
	}
	if published := streamMsgs(b, ctx, changes) - before; !slices.Contains(flags, "--every-record") && published != uint64(want) {
		b.Fatalf("the 1 %% replay with %s published %d changes; want %d", version, published, want)
	}
	return elapsed, transformed
}

func streamMsgs(b *testing.B, ctx context.Context, s jetstream.Stream) uint64 {
	b.Helper()
	info, err := s.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return info.State.Msgs
}

// onePercentMapping writes mapping version, the default one giving contacts whose first name ends in "00" (1 % of
// the benchmark's) the job title title, and returns its file.
func onePercentMapping(tb testing.TB, version, title string) string {
	tb.Helper()
	b, _ := transformer.DefaultMapping()
	v := strings.Replace(string(b), "version: oro-v1", "version: "+version, 1)
	v = strings.Replace(v, `{to: jobTitle, from: attributes.jobTitle, as: text}`,
		`{to: jobTitle, field: attributes.jobTitle, expr: 'text(attr.firstName) endsWith "00" ? "`+title+`" : text(attr.jobTitle)'}`, 1)
	if !strings.Contains(v, "endsWith") {
		tb.Fatal("the default mapping changed shape; adjust how onePercentMapping derives its mapping from it")
	}
	file := filepath.Join(tb.TempDir(), version+".yaml")
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
