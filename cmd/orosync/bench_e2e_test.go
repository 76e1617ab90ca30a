package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb"
	"github.com/orosync/orosync/mercatodb/dbtest"
	writer "github.com/orosync/orosync/services/writer/service"
)

// The acceptance size of issue 6 (1,000,000 contacts) runs with -args -long (make bench); the default keeps
// `go test -bench .` short.
var e2eContactN = flag.Int("e2e.contacts", 0, "contacts replayed end-to-end (default 20,000; 1,000,000 with -long)")

// The writer as a replication session (--writer-replication-role), in the replay, the floor and the writer alone.
var e2eReplicationRole = flag.Bool("e2e.replication-role", false, "the writer applies as a replication session (no triggers or FK checks)")

func e2eSize() int { return benchSize(*e2eContactN, 20_000) }

// benchSize is a benchmark's contacts: the flag's value when set, 1,000,000 with -long, else def.
func benchSize(flagged, def int) int {
	switch {
	case flagged > 0:
		return flagged
	case *long:
		return 1_000_000
	}
	return def
}

// benchPipeline starts a JetStream server and a fresh database, fills ORO_RAW with n contacts and their accounts,
// and returns the pipeline over them.
func benchPipeline(b *testing.B, n, accounts int) (*jstest.Server, string, pipeline) {
	ns := jstest.Start(b)
	dbURL := dbtest.NewDatabase(b)
	p := pipeline{NatsURL: ns.URL, DatabaseURL: dbURL, Tenant: "acme",
		Scope: writer.Scope{TenantID: uuid.MustParse(defaultTenantID), OrganizationID: uuid.MustParse(defaultOrgID)},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))}
	fillOroRaw(b, ns.URL, n, accounts)
	return ns, dbURL, p
}

// BenchmarkEndToEndReplay is issue 6's benchmark: ORO_RAW pre-filled with N raw contacts (each a member of one of
// N/100 accounts, its default one) and the accounts, then the transformer and the writer, each in a process of its
// own as `orosync run --services transformer|writer` (this process holds the JetStream server), until every
// person, profile, company link, external id, version and outbox row is written and MERCATO_EVENTS holds every
// event. Reported: contacts/s end-to-end (e2e-contacts/s), when the transformer had mapped the last contact
// (transformer-contacts/s), each service's peak RSS and CPU per contact, PostgreSQL's CPU per contact; then the
// floor in the same run: the same changes, read back from MERCATO_CHANGES in batches of 1,000, applied by the
// writer's use case directly to a fresh database (only the apply calls timed), and e2e/floor. The transformer
// shares the two cores, so the writer is measured on its own too: a writer process alone replays
// MERCATO_CHANGES (its consumer recreated) into a third database until every change is acknowledged and every
// event relayed (writer-alone-contacts/s, writer-alone/floor, writer-alone-peakRSS-MB).
func BenchmarkEndToEndReplay(b *testing.B) {
	n := e2eSize()
	accounts := max(n/100, 10)
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
		ns, dbURL, p := benchPipeline(b, n, accounts)

		b.ResetTimer()
		stopProfile := profileSelf(b, "replay-nats")
		pg, self := postgresCPU(dbName(b, dbURL)), selfCPU()
		start := time.Now()
		tr := startService(b, p, "transformer")
		wr := startService(b, p, "writer")
		transformed, err := waitReplayed(ctx, ns.JS, dbURL, n, accounts, start, tr, wr)
		elapsed := time.Since(start)
		b.StopTimer()
		pgSpent, natsSpent := cpuSince(pg, postgresCPU(dbName(b, dbURL))), selfCPU()-self
		stopProfile()
		if err != nil {
			b.Fatal(err)
		}
		tu, wu := tr.stop(b), wr.stop(b)
		checkReplayed(b, ctx, dbURL, n, accounts)

		floor := writerFloor(b, ctx, ns.JS, p, n+accounts)[0]
		alone, aloneUsage := writerAlone(b, ctx, ns.JS, p, n, accounts)
		e2e := float64(n) / elapsed.Seconds()
		perContact := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
		b.ReportMetric(e2e, "e2e-contacts/s")
		b.ReportMetric(float64(n)/transformed.Seconds(), "transformer-contacts/s")
		b.ReportMetric(floor, "floor-contacts/s")
		b.ReportMetric(e2e/floor, "e2e/floor")
		b.ReportMetric(alone, "writer-alone-contacts/s")
		b.ReportMetric(alone/floor, "writer-alone/floor")
		b.ReportMetric(tu.peakRSSMB, "transformer-peakRSS-MB")
		b.ReportMetric(wu.peakRSSMB, "writer-peakRSS-MB")
		b.ReportMetric(aloneUsage.peakRSSMB, "writer-alone-peakRSS-MB")
		b.ReportMetric(perContact(tu.cpu), "transformer-cpu-µs/contact")
		b.ReportMetric(perContact(wu.cpu), "writer-cpu-µs/contact")
		b.ReportMetric(perContact(pgSpent), "postgres-cpu-µs/contact")
		b.ReportMetric(perContact(natsSpent), "nats-cpu-µs/contact")
		b.ReportMetric(0, "ns/op")
		cancel()
	}
}

// startService runs one service of the pipeline in a process of its own, as an operator deploys it.
func startService(b *testing.B, p pipeline, service string) *child {
	args := []string{"run", "--services", service, "--nats-url", p.NatsURL, "--database-url", p.DatabaseURL,
		"--tenant", p.Tenant, "--mercato-tenant-id", p.Scope.TenantID.String(),
		"--mercato-organization-id", p.Scope.OrganizationID.String(), "--log-level", "warn"}
	if *e2eReplicationRole {
		args = append(args, "--writer-replication-role")
	}
	return startOrosync(b, args...)
}

func dbName(b testing.TB, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// selfCPU is this process's CPU time so far: during the replay almost all of it is the embedded JetStream server's.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the CPU time spent so far by the PostgreSQL processes that serve database db (their command
// line names it: backends and autovacuum workers), by pid; cpuSince sums what they spent after an earlier reading.
func postgresCPU(db string) map[string]time.Duration {
	procs, _ := os.ReadDir("/proc")
	out := map[string]time.Duration{}
	for _, d := range procs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || !strings.HasPrefix(string(cmdline), "postgres") || !strings.Contains(string(cmdline), " "+db+" ") {
			continue
		}
		raw, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:])) // from field 3: utime is 14, stime 15
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[d.Name()] = time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
	}
	return out
}

func cpuSince(before, now map[string]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range now {
		d += t - before[pid]
	}
	return d
}

// fillOroRaw publishes the accounts, then the contacts, as the poller would.
func fillOroRaw(b *testing.B, url string, n, accounts int) {
	b.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stamp := at.Format(time.RFC3339)
	wait := func() {
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(10 * time.Minute):
			b.Fatal("publishing ORO_RAW did not complete")
		}
	}
	publish := func(typ, id, resource string) {
		res := json.RawMessage(resource)
		h, _ := events.PayloadHash(res)
		r := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: typ, ID: id}, UpdatedAt: &at, PayloadHash: h,
			ObservedAt: at, Via: "poll", Resource: res}
		body, _ := json.Marshal(r)
		msg := nats.NewMsg("oro.raw.acme." + typ + "." + id)
		msg.Data = body
		events.Envelope{ID: r.MsgID(), Source: events.Source("acme", "poller"), Type: events.TypeRawRecord, Time: at}.Apply(msg.Header)
		if _, err := js.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		if js.PublishAsyncPending() >= 2048 { // a loaded machine stalls a full window
			wait()
		}
	}
	for i := 1; i <= accounts; i++ {
		id := strconv.Itoa(i)
		publish("accounts", id, `{"type":"accounts","id":"`+id+`","attributes":{"name":"Account `+id+`","updatedAt":"`+stamp+`"}}`)
	}
	for i := 1; i <= n; i++ {
		id, acct := strconv.Itoa(i), strconv.Itoa(1+i%accounts)
		ref := `{"data":[{"type":"accounts","id":"` + acct + `"}]}`
		publish("contacts", id, `{"type":"contacts","id":"`+id+`","attributes":{"firstName":"First`+id+`","lastName":"Last",`+
			`"primaryEmail":"c`+id+`@example.com","jobTitle":"Engineer","updatedAt":"`+stamp+`"},`+
			`"relationships":{"accounts":`+ref+`,"defaultInAccounts":`+ref+`}}`)
	}
	wait()
}

// waitReplayed polls until the transformer and writer consumers acknowledged everything, the outbox is relayed
// and MERCATO_EVENTS holds every event; it returns when the transformer had finished.
func waitReplayed(ctx context.Context, js jetstream.JetStream, dbURL string, n, accounts int, start time.Time, procs ...*child) (time.Duration, error) {
	want := uint64(2*n + accounts) // person.created + person_company_link.created per contact, company.created
	var transformed time.Duration
	err := awaitPipeline(ctx, dbURL, procs, func(db *sql.DB) (bool, error) {
		if transformed == 0 {
			done, err := consumedAll(ctx, js, events.StreamOroRaw, "transformer")
			if done {
				transformed = time.Since(start)
			}
			return false, err
		}
		if ok, err := idle(ctx, js, db); err != nil || !ok {
			return false, err
		}
		st, err := js.Stream(ctx, events.StreamMercatoEvents)
		if err != nil {
			return false, err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return false, err
		}
		return info.State.Msgs >= want, nil
	})
	return transformed, err
}

// awaitPipeline opens Mercato's database and calls done with it every 100 ms until it says so, ctx ends or one of
// the running processes ends.
func awaitPipeline(ctx context.Context, dbURL string, running []*child, done func(db *sql.DB) (bool, error)) error {
	db, err := mercatodb.OpenDB(dbURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		for _, c := range running {
			select {
			case <-c.Exited():
				return fmt.Errorf("orosync %v ended: %v\n%s", c.cmd.Args, c.err, c.output)
			default:
			}
		}
		if ok, err := done(db); err != nil || ok {
			return err
		}
	}
}

// checkReplayed asserts the replay wrote exactly the rows it should.
func checkReplayed(b *testing.B, ctx context.Context, dbURL string, n, accounts int) {
	b.Helper()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	for _, c := range []struct {
		q    string
		want int
	}{
		{`SELECT count(*) FROM customer_people p JOIN customer_entities e ON e.id = p.entity_id AND e.kind = 'person'
		  WHERE p.company_entity_id IS NOT NULL`, n},
		{`SELECT count(*) FROM customer_companies`, accounts},
		{`SELECT count(*) FROM customer_person_company_links WHERE deleted_at IS NULL AND is_primary`, n},
		{`SELECT count(*) FROM sync_external_id_mappings WHERE internal_entity_type = 'customers.person'`, n},
		{`SELECT count(*) FROM orosync_records WHERE internal_entity_type = 'customers.person'`, n},
		{`SELECT (SELECT count(*) FROM orosync_outbox) + (SELECT count(*) FROM orosync_outbox_batches)`, 0},
	} {
		var got int
		if err := pool.QueryRow(ctx, c.q).Scan(&got); err != nil {
			b.Fatal(err)
		}
		if got != c.want {
			b.Fatalf("%s: %d rows, want %d", strings.Join(strings.Fields(c.q), " "), got, c.want)
		}
	}
}

// writerFloor applies the changes of MERCATO_CHANGES, from the first, to a fresh database with the writer's use
// case, 1,000 a batch, in consecutive segments of the given numbers of changes (an import, then a replay that
// starts from it, ...), timing only the apply calls: the writer's own decision and SQL without NATS or mapping.
// It returns each segment's contacts/s.
func writerFloor(b *testing.B, ctx context.Context, js jetstream.JetStream, p pipeline, segments ...int) []float64 {
	b.Helper()
	dbURL := dbtest.NewDatabase(b)
	applier, err := writer.NewApplier(ctx, dbURL, map[string]writer.Scope{p.Tenant: p.Scope}, nil, *e2eReplicationRole)
	if err != nil {
		b.Fatal(err)
	}
	defer applier.Close()
	cons, err := js.OrderedConsumer(ctx, events.StreamMercatoChanges, jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	floors := make([]float64, len(segments))
	for i, n := range segments {
		spent, contacts := applyChanges(b, ctx, cons, applier, n)
		floors[i] = float64(contacts) / spent.Seconds()
	}
	return floors
}

// applyChanges applies the next count changes of cons, 1,000 a batch, and returns the time the apply calls took
// and how many of the changes were persons.
func applyChanges(b *testing.B, ctx context.Context, cons jetstream.Consumer, applier *writer.Applier, count int) (time.Duration, int) {
	b.Helper()
	var (
		spent    time.Duration
		contacts int
		read     int
	)
	batch := make([]events.Change, 0, 1000)
	for read < count {
		msgs, err := cons.Fetch(min(1000-len(batch), count-read), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			b.Fatal(err)
		}
		for m := range msgs.Messages() {
			var c events.Change
			if err := json.Unmarshal(m.Data(), &c); err != nil {
				b.Fatal(err)
			}
			batch = append(batch, c)
			read++
		}
		if len(batch) < 1000 && read < count {
			continue
		}
		start := time.Now()
		if _, err := applier.Apply(ctx, batch); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
		for _, c := range batch {
			if c.Aggregate == events.AggregatePerson {
				contacts++
			}
		}
		batch = batch[:0]
	}
	return spent, contacts
}

// writerAlone runs a writer process alone over the whole of MERCATO_CHANGES into a fresh database: its consumer
// is recreated to start from the first change. It returns contacts/s until every change is acknowledged and the
// outbox is relayed (MERCATO_EVENTS de-duplicates the events it already holds, acknowledging them as stored), and
// the process's resource usage.
func writerAlone(b *testing.B, ctx context.Context, js jetstream.JetStream, p pipeline, n, accounts int) (float64, procUsage) {
	b.Helper()
	cons, err := js.Consumer(ctx, events.StreamMercatoChanges, "writer")
	if err != nil {
		b.Fatal(err)
	}
	cfg := cons.CachedInfo().Config
	if err := js.DeleteConsumer(ctx, events.StreamMercatoChanges, "writer"); err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, events.StreamMercatoChanges, cfg); err != nil {
		b.Fatal(err)
	}
	p.DatabaseURL = dbtest.NewDatabase(b)
	start := time.Now()
	wr := startService(b, p, "writer")
	if err := awaitPipeline(ctx, p.DatabaseURL, []*child{wr}, func(db *sql.DB) (bool, error) {
		if drained, err := consumedAll(ctx, js, events.StreamMercatoChanges, "writer"); err != nil || !drained {
			return false, err
		}
		return outboxEmpty(ctx, db)
	}); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	usage := wr.stop(b)
	checkReplayed(b, ctx, p.DatabaseURL, n, accounts)
	return float64(n) / elapsed.Seconds(), usage
}
