package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/term"

	"github.com/orosync/orosync/events/redact"
	"github.com/orosync/orosync/mercatodb"
	writer "github.com/orosync/orosync/services/writer/service"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newCommand("demo", `orosync demo [flags]

First run: drops and re-creates the demo database (only one named orosync_demo*) and the demo's streams, seeds
the bundled Oro simulator with a whole CRM, syncs every type into Mercato's tables once and prints, per Oro type,
what landed where.`, stdout, stderr)
	c.register(fs)
	contacts := fs.Int("contacts", 5000, "contacts in the bundled simulator, with the rest of a CRM of that size")
	hold := fs.Bool("hold", isTerminal(os.Stdin), "keep NATS and the simulator running after the summary, for the nats CLI (default when interactive)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if c.oroURL != "" {
		return fmt.Errorf("the demo runs against the bundled simulator; use `orosync run --oro-url` for a real Oro")
	}
	log := c.logger(stderr)
	start := time.Now()
	if _, err := writer.ReadEncryptionKeys(os.Getenv); err != nil {
		return err // refused before the demo database is reset
	}
	if err := resetDemo(ctx, &c, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Starting the Oro simulator with %d contacts and the rest of a CRM of that size, an embedded NATS server and the pipeline…\n", *contacts)
	r, err := setup(ctx, &c, *contacts, log)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := prepare(ctx, r.natsURL, c.databaseURL, c.replicas, true, true, log); err != nil {
		return err
	}
	p, err := c.pipeline(r, log)
	if err != nil {
		return err
	}
	types := c.typeList()
	bar := &progress{w: stdout, start: time.Now(), read: map[string]int64{}, totals: map[string]int64{}}
	for _, t := range types {
		bar.totals[t] = int64(r.sim.Count(t))
	}
	p.OnPollProgress = bar.polled
	p.OnWrite = bar.written
	rep, err := p.SyncOnce(ctx)
	if err != nil {
		return err
	}
	bar.finish()
	tid, oid, _ := c.scope()
	rows, err := status(ctx, r.natsURL, c.databaseURL, c.tenant, types, tid, oid)
	if err != nil {
		return err
	}
	aggs, err := mappingAggregates()
	if err != nil {
		return err
	}
	ls, err := landings(ctx, rows, c.databaseURL, tid, oid, r.sim.Count, aggs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nSummary: %s, database %s, streams in %s\n\n", time.Since(start).Round(time.Millisecond),
		redact.URL(c.databaseURL), r.nats.JetStreamConfig().StoreDir)
	printLandings(stdout, ls)
	fmt.Fprintf(stdout, "Reconcile pass: %d records listed in Oro, %d tombstones.\n", listed(rep), tombstones(rep))
	fmt.Fprintf(stdout, "\nInspect the streams with the nats CLI while NATS runs (this demo with --hold, or `orosync run --data-dir %s`):\n"+
		"  nats -s %s stream ls\n  nats -s %s stream subjects ORO_RAW 'oro.raw.%s.contacts.>'\n"+
		"  nats -s %s stream get ORO_RAW --last-for oro.raw.%s.contacts.1\n", c.dataDir, r.natsURL, r.natsURL, c.tenant, r.natsURL, c.tenant)
	if *hold {
		fmt.Fprintf(stdout, "\nHolding NATS (%s) and the simulator (%s) open; Ctrl-C to stop.\n", r.natsURL, r.simURL)
		<-ctx.Done()
	}
	return nil
}

// resetDemo starts every demo from scratch, but only on the demo's own database and data directory.
func resetDemo(ctx context.Context, c *common, stdout io.Writer) error {
	cfg, err := pgx.ParseConfig(c.databaseURL)
	if err != nil {
		return fmt.Errorf("--database-url: %w", err)
	}
	if !strings.HasPrefix(cfg.Database, "orosync_demo") {
		return fmt.Errorf("the demo resets its database; it only runs on a database named orosync_demo*, not %q", cfg.Database)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL at %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("resetting demo database: %w", err)
	}
	if err := mercatodb.EnsureDatabase(ctx, c.databaseURL); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(c.dataDir, "nats")); err != nil {
		return fmt.Errorf("resetting demo streams: %w", err)
	}
	fmt.Fprintf(stdout, "Fresh demo database %q created on %s:%d.\n", cfg.Database, cfg.Host, cfg.Port)
	return nil
}

// progress prints one line about twice a second during the initial sync, over every type: records read from Oro,
// records applied by the writer, and an ETA.
type progress struct {
	mu               sync.Mutex
	w                io.Writer
	read, totals     map[string]int64 // per type
	applied          int64
	start, lastPrint time.Time
}

func (p *progress) polled(pr pollerProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Total > 0 {
		p.totals[pr.Type] = pr.Total
	}
	p.read[pr.Type] = pr.Done
	p.print(false)
}

func (p *progress) written(r writer.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applied += int64(r.Records)
	p.print(false)
}

func (p *progress) print(force bool) {
	if !force && time.Since(p.lastPrint) < 500*time.Millisecond {
		return
	}
	p.lastPrint = time.Now()
	var read, total int64
	for t, n := range p.totals {
		total += n
		read += min(p.read[t], n)
	}
	applied := min(p.applied, total) // a record the writer saw twice (a redelivery) counts once here
	eta := "-"
	if applied > 0 && total > applied {
		rate := float64(applied) / time.Since(p.start).Seconds()
		eta = time.Duration(float64(total-applied) / rate * float64(time.Second)).Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(p.w, "  %s read from Oro %6d/%d   applied to Mercato %6d/%d   ETA %s\n", bar(applied, total), read, total, applied, total, eta)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.print(true)
}

func bar(done, total int64) string {
	const width = 30
	if total <= 0 {
		return "[" + strings.Repeat(" ", width) + "]"
	}
	n := int(done * width / total)
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func listed(r SyncReport) (n int) {
	for _, p := range r.Reconcile.Passes {
		n += p.Listed
	}
	return n
}

func tombstones(r SyncReport) (n int) {
	for _, p := range r.Reconcile.Passes {
		n += p.Published
	}
	return n
}
