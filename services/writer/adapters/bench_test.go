package adapters_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/app"
)

const (
	benchBatch    = 1000
	benchAccounts = 100
)

// benchChanges are contacts from..from+n, each a member of one of benchAccounts accounts (its primary company).
func benchChanges(from, n, sec int, suffix, mapping string) []events.Change {
	out := make([]events.Change, n)
	for i := range out {
		id := strconv.Itoa(from + i)
		c := contact{id: id, first: "First" + id, last: "Last" + suffix, email: id + "@example.com", job: "Engineer", sec: sec}.change()
		c.MappingVersion = mapping
		acct := "a" + strconv.Itoa((from+i)%benchAccounts)
		out[i] = withLinks(c, acct, acct)
	}
	return out
}

func benchAccountChanges() []events.Change {
	out := make([]events.Change, benchAccounts)
	for i := range out {
		out[i] = account{id: "a" + strconv.Itoa(i), name: "Account " + strconv.Itoa(i), industry: "Software"}.change()
	}
	return out
}

// peakRSSMB is the process's peak resident set (VmHWM) in MB.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkWriterSQL is the floor of issue 6: the writer's own decision and SQL (entity, profile, company link,
// external id, record and outbox rows per contact) on pre-built batches of 1,000 contacts, without NATS or mapping.
func BenchmarkWriterSQL(b *testing.B) {
	for _, bc := range []struct {
		name        string
		matchEmails bool
	}{{"insert", false}, {"insert-with-email-match", true}} {
		b.Run(bc.name, func(b *testing.B) {
			store, _ := benchStore(b)
			store.MatchEmails = bc.matchEmails
			apply := app.ApplyChanges{Store: store}
			batches := make([][]events.Change, b.N)
			for i := range batches {
				batches[i] = benchChanges(i*benchBatch, benchBatch, 10, "", "v1")
			}
			b.ResetTimer()
			start := startMeasuring()
			for i := range b.N {
				if _, err := apply.Handle(context.Background(), batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			report(b, start)
		})
	}
	for _, bc := range []struct {
		name, suffix string
	}{{"update-every-row", "-v2"}, {"replay-new-mapping-same-values", ""}} {
		b.Run(bc.name, func(b *testing.B) {
			store, _ := benchStore(b)
			store.MatchEmails = false
			apply := app.ApplyChanges{Store: store}
			for i := range b.N {
				if _, err := apply.Handle(context.Background(), benchChanges(i*benchBatch, benchBatch, 10, "", "v1")); err != nil {
					b.Fatal(err)
				}
			}
			batches := make([][]events.Change, b.N)
			for i := range batches {
				batches[i] = benchChanges(i*benchBatch, benchBatch, 20, bc.suffix, "v2")
			}
			b.ResetTimer()
			start := startMeasuring()
			for i := range b.N {
				if _, err := apply.Handle(context.Background(), batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			report(b, start)
		})
	}
}

func benchStore(b *testing.B) (*adapters.Store, *pgxpool.Pool) {
	b.Helper()
	// The pool is adapters.NewPool's plus a statement counter.
	cfg, err := adapters.PoolConfig(dbtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.Tracer = &benchStatements
	cfg.AfterConnect = benchBackends.afterConnect
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	store, err := adapters.NewStore(pool, map[string]adapters.Scope{"acme": scope}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := (app.ApplyChanges{Store: store}).Handle(context.Background(), benchAccountChanges()); err != nil {
		b.Fatal(err)
	}
	return store, pool
}

// benchStatements counts the writer benchmarks' round trips (statements and pipelines);
// benchBackends the CPU time of their PostgreSQL backends.
var (
	benchStatements stmtCounter
	benchBackends   backendCPU
)

type measuring struct {
	at      time.Time
	pgTicks int64
	goCPU   time.Duration
}

func startMeasuring() measuring {
	benchStatements.n.Store(0)
	return measuring{at: time.Now(), pgTicks: benchBackends.ticks(), goCPU: processCPU()}
}

func report(b *testing.B, m measuring) {
	b.ReportMetric(float64(benchStatements.n.Load())/float64(b.N), "roundtrips/batch")
	b.ReportMetric(float64(benchBackends.ticks()-m.pgTicks)*10/float64(b.N), "pg-cpu-ms/batch")
	b.ReportMetric(float64((processCPU()-m.goCPU).Milliseconds())/float64(b.N), "go-cpu-ms/batch")
	b.ReportMetric(float64(b.N*benchBatch)/time.Since(m.at).Seconds(), "contacts/s")
	b.ReportMetric(peakRSSMB(), "peakRSS-MB")
	b.ReportMetric(0, "ns/op")
}
