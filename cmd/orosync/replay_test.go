package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	transformer "github.com/orosync/orosync/services/transformer/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// long runs the acceptance size (100,000 contacts, issue 5); `make bench` passes it. The default keeps `make test`
// fast; the replay path is the same at any size.
func replayContacts() int {
	if *long {
		return 100_000
	}
	return 2_000
}

// writeCounter lets a test await the writer: it counts committed records and wakes waiters.
type writeCounter struct {
	mu      sync.Mutex
	records int
	changed chan struct{}
}

func (w *writeCounter) add(r writer.Result) {
	w.mu.Lock()
	w.records += r.Records
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

func (w *writeCounter) await(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	for {
		w.mu.Lock()
		got, ch := w.records, w.changed
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("writer committed %d records, waiting for %d: %v", got, n, ctx.Err())
		}
	}
}

// publishContacts puts n contact versions on ORO_RAW, as the poller would.
func publishContacts(ctx context.Context, t *testing.T, url string, n int) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// A loaded machine can fall behind 4,096 outstanding publishes for longer than the default 200 ms stall.
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(4096))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		id := fmt.Sprint(i)
		res := json.RawMessage(fmt.Sprintf(`{"type":"contacts","id":"%s","attributes":{"firstName":"Zoë %d","lastName":"Ørsted","primaryEmail":"c%d@example.com","jobTitle":"CTO","updatedAt":"2026-11-01T08:00:00Z"},"relationships":{"accounts":{"data":[{"type":"accounts","id":"%d"}]},"defaultInAccounts":{"data":[{"type":"accounts","id":"%d"}]}}}`, id, i, i, i%50+1, i%50+1))
		h, _ := events.PayloadHash(res)
		r := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: id}, UpdatedAt: &at, PayloadHash: h,
			ObservedAt: at, Via: "poll", Resource: res}
		body, _ := json.Marshal(r)
		msg := nats.NewMsg("oro.raw.acme.contacts." + id)
		msg.Data = body
		events.Envelope{ID: r.MsgID(), Source: events.Source("acme", "poller"), Type: events.TypeRawRecord, Time: at}.Apply(msg.Header)
		if _, err := js.PublishMsgAsync(msg, nats.StallWait(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publishing raw contacts timed out")
	}
}

// changedMapping writes mapping oro-v2-test, the default one changing two columns, and returns its file: display
// names in capitals, and the job title jobTitle spelled out as spelled.
func changedMapping(tb testing.TB, jobTitle, spelled string) string {
	tb.Helper()
	b, _ := transformer.DefaultMapping()
	v2 := strings.Replace(string(b), "version: oro-v1", "version: oro-v2-test", 1)
	v2 = strings.Replace(v2, `n != "" ? n : (out.primaryEmail`, `n != "" ? upper(n) : (out.primaryEmail`, 1)
	v2 = strings.Replace(v2, `{to: jobTitle, from: attributes.jobTitle, as: text}`,
		`{to: jobTitle, field: attributes.jobTitle, expr: 'text(attr.jobTitle) == "`+jobTitle+`" ? "`+spelled+`" : text(attr.jobTitle)'}`, 1)
	if !strings.Contains(v2, "upper(n)") || !strings.Contains(v2, spelled) {
		tb.Fatal("the default mapping changed shape; adjust how changedMapping derives v2 from it")
	}
	file := filepath.Join(tb.TempDir(), "oro-v2-test.yaml")
	if err := os.WriteFile(file, []byte(v2), 0o644); err != nil {
		tb.Fatal(err)
	}
	return file
}

// replayRig is a pipeline (transformer and writer) that has written n contacts under the shipped mapping.
type replayRig struct {
	ns     *jstest.Server
	pool   *pgxpool.Pool
	writes *writeCounter
	scope  writer.Scope
}

func startReplayRig(ctx context.Context, t *testing.T, n int) *replayRig {
	t.Helper()
	ns := jstest.Start(t)
	dbURL := dbtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	writes := &writeCounter{changed: make(chan struct{})}
	scope := writer.Scope{TenantID: uuid.MustParse(defaultTenantID), OrganizationID: uuid.MustParse(defaultOrgID)}
	p := pipeline{NatsURL: ns.URL, DatabaseURL: dbURL, Tenant: "acme", Scope: scope,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), OnWrite: writes.add}
	runCtx, stop := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	p.startConsumers(gctx, g)
	t.Cleanup(func() { stop(); _ = g.Wait() })

	started := time.Now()
	publishContacts(ctx, t, ns.URL, n)
	writes.await(ctx, t, n)
	t.Logf("first pass (mapping oro-v1) of %d contacts: published, transformed and written in %s", n, time.Since(started).Round(time.Millisecond))
	return &replayRig{ns: ns, pool: pool, writes: writes, scope: scope}
}

// changesStored is how many messages MERCATO_CHANGES holds.
func (r *replayRig) changesStored(ctx context.Context, t *testing.T) uint64 {
	t.Helper()
	s, err := r.ns.JS.Stream(ctx, events.StreamMercatoChanges)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// replay runs orosync replay of the tenant's contacts with args and returns its output.
func (r *replayRig) replay(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	var out strings.Builder
	args = append([]string{"replay", "--nats-url", r.ns.URL, "--tenant", "acme", "--type", "contacts"}, args...)
	if err := run(ctx, args, &out, io.Discard); err != nil {
		t.Fatalf("replay: %v\n%s", err, out.String())
	}
	return out.String()
}

func TestReplayWithAChangedMappingConvergesMercatoToIt(t *testing.T) {
	n := replayContacts()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	rig := startReplayRig(ctx, t, n)
	pool, scope, writes, ns := rig.pool, rig.scope, rig.writes, rig.ns
	// rows counts live persons of the tenant: all, those with an upper-case display name, and those whose
	// customer_people.job_title is the spelled-out title mapping v2 writes.
	rows := func() (all, upper, spelled int) {
		t.Helper()
		err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE e.display_name = upper(e.display_name)),
       count(*) FILTER (WHERE p.job_title = 'Chief Technology Officer')
FROM customer_entities e JOIN customer_people p ON p.entity_id = e.id
WHERE e.kind = 'person' AND e.deleted_at IS NULL AND e.tenant_id = $1`, scope.TenantID).Scan(&all, &upper, &spelled)
		if err != nil {
			t.Fatal(err)
		}
		return all, upper, spelled
	}
	if all, upper, spelled := rows(); all != n || upper != 0 || spelled != 0 {
		t.Fatalf("after the first pass: %d persons, %d upper-case names, %d spelled-out titles; want %d, 0, 0", all, upper, spelled, n)
	}

	file := changedMapping(t, "CTO", "Chief Technology Officer")
	started := time.Now()
	out := rig.replay(ctx, t, "--mapping", file)
	replayed := time.Since(started)
	if !strings.Contains(out, fmt.Sprintf("replayed %d raw messages with mapping oro-v2-test", n)) ||
		!strings.Contains(out, fmt.Sprintf("published %d changes", n)) {
		t.Errorf("replay output: %s", out[max(0, len(out)-400):])
	}
	writes.await(ctx, t, 2*n)
	t.Logf("replay of %d contacts: transformed in %s, written (converged) in %s", n, replayed.Round(time.Millisecond),
		time.Since(started).Round(time.Millisecond))
	if all, upper, spelled := rows(); all != n || upper != n || spelled != n {
		t.Fatalf("after the replay: %d persons, %d upper-case names, %d spelled-out titles; want %d of each", all, upper, spelled, n)
	}
	var v1Rows, v2Rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE mapping_version = 'oro-v1'),
       count(*) FILTER (WHERE mapping_version = 'oro-v2-test') FROM orosync_records`).Scan(&v1Rows, &v2Rows); err != nil {
		t.Fatal(err)
	}
	if v1Rows != 0 || v2Rows != n {
		t.Errorf("records applied under oro-v1: %d, under oro-v2-test: %d; want 0 and %d", v1Rows, v2Rows, n)
	}
	// The pipeline's own consumer was left alone; the replay's stays for the operator to remove.
	for _, name := range []string{"transformer", ReplayConsumer("oro-v2-test")} {
		if _, err := ns.JS.Consumer(ctx, events.StreamOroRaw, name); err != nil {
			t.Errorf("consumer %s: %v", name, err)
		}
	}
}

func TestAReplayPublishesOnlyTheRecordsItsMappingChanges(t *testing.T) {
	n := 2_000 // contacts "Zoë 1" to "Zoë 2000": the first names of 20 end in "00"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rig := startReplayRig(ctx, t, n)
	retitled := func() (people, records int) {
		t.Helper()
		if err := rig.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM customer_people WHERE job_title = 'Software Engineer'),
       (SELECT count(*) FROM orosync_records WHERE mapping_version = 'oro-v2-one-percent')`).Scan(&people, &records); err != nil {
			t.Fatal(err)
		}
		return people, records
	}

	t.Run("refused against a base other than the latest change's mapping", func(t *testing.T) {
		var out strings.Builder
		err := run(ctx, []string{"replay", "--nats-url", rig.ns.URL, "--tenant", "acme", "--type", "contacts",
			"--mapping", onePercentMapping(t, "oro-v2-one-percent", "Software Engineer"), "--base", copyOfTheShippedMapping(t, "acme-v0")}, &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "mapped with oro-v1, not with the base acme-v0") {
			t.Fatalf("replay against base acme-v0: %v; want a refusal naming oro-v1", err)
		}
		if _, err := rig.ns.JS.Consumer(ctx, events.StreamOroRaw, ReplayConsumer("oro-v2-one-percent")); err == nil {
			t.Error("the refused replay created its consumer")
		}
	})
	t.Run("dry run", func(t *testing.T) {
		before := rig.changesStored(ctx, t)
		out := rig.replay(ctx, t, "--mapping", onePercentMapping(t, "oro-v2-one-percent", "Software Engineer"), "--dry-run")
		var row []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == "contacts" {
				row = f
			}
		}
		if want := []string{"contacts", "2000", "20", "1980", "0", "0", "100", "200", "300", "400", "500"}; !slices.Equal(row, want) {
			t.Errorf("dry run said:\n%s\nwant the contacts row %q", out, want)
		}
		if got := rig.changesStored(ctx, t) - before; got != 0 {
			t.Errorf("the dry run published %d changes", got)
		}
		if _, err := rig.ns.JS.Consumer(ctx, events.StreamOroRaw, ReplayConsumer("oro-v2-one-percent")); err == nil {
			t.Error("the dry run created the replay's consumer")
		}
	})
	t.Run("against the base mapping", func(t *testing.T) {
		before := rig.changesStored(ctx, t)
		out := rig.replay(ctx, t, "--mapping", onePercentMapping(t, "oro-v2-one-percent", "Software Engineer"))
		if want := fmt.Sprintf("published %d changes and 0 dead letters; %d records map to the same values as under oro-v1", n/100, n-n/100); !strings.Contains(out, want) {
			t.Errorf("replay output %q; want it to say %q", out, want)
		}
		if got := rig.changesStored(ctx, t) - before; got != uint64(n/100) {
			t.Errorf("MERCATO_CHANGES grew by %d changes; want %d, those of the retitled contacts", got, n/100)
		}
		rig.writes.await(ctx, t, n+n/100)
		if people, records := retitled(); people != n/100 || records != n/100 {
			t.Errorf("%d people retitled, %d records under the new mapping; want %d of each", people, records, n/100)
		}
	})
	t.Run("every record", func(t *testing.T) {
		before := rig.changesStored(ctx, t)
		same := copyOfTheShippedMapping(t, "oro-v1-copy")
		out := rig.replay(ctx, t, "--mapping", same, "--every-record")
		if !strings.Contains(out, fmt.Sprintf("published %d changes", n)) || !strings.Contains(out, "every record's change was published") {
			t.Errorf("replay output %q; want every change published", out)
		}
		if got := rig.changesStored(ctx, t) - before; got != uint64(n) {
			t.Errorf("MERCATO_CHANGES grew by %d changes; want %d", got, n)
		}
	})
	t.Run("with its own version as the base", func(t *testing.T) {
		var out strings.Builder
		err := run(ctx, []string{"replay", "--nats-url", rig.ns.URL, "--mapping", copyOfTheShippedMapping(t, "oro-v1")}, &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--every-record") {
			t.Errorf("replay with the base's version: %v; want a refusal naming --every-record", err)
		}
	})
}

// copyOfTheShippedMapping writes the shipped mapping under another version and returns its file.
func copyOfTheShippedMapping(t *testing.T, version string) string {
	t.Helper()
	b, _ := transformer.DefaultMapping()
	file := filepath.Join(t.TempDir(), version+".yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), "version: oro-v1", "version: "+version, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}
