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
	writerapp "github.com/orosync/orosync/services/writer/app"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newCommand("demo", `orosync demo [flags]

First run: drops and re-creates the demo database (only one named orosync_demo*) and the demo's streams, seeds
the bundled Oro simulator, syncs everything into Mercato's tables once and prints a summary.`, stdout, stderr)
	c.register(fs)
	contacts := fs.Int("contacts", 5000, "contacts in the bundled simulator")
	hold := fs.Bool("hold", isTerminal(os.Stdin), "keep NATS and the simulator running after the summary, for the nats CLI (default when interactive)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if c.oroURL != "" {
		return fmt.Errorf("the demo runs against the bundled simulator; use `orosync run --oro-url` for a real Oro")
	}
	log := c.logger(stderr)
	start := time.Now()
	if err := resetDemo(ctx, &c, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Starting the Oro simulator with %d contacts, an embedded NATS server and the pipeline…\n", *contacts)
	r, err := setup(ctx, &c, *contacts, log)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := prepare(ctx, r.natsURL, c.databaseURL, c.replicas, true); err != nil {
		return err
	}
	p, err := c.pipeline(r, log)
	if err != nil {
		return err
	}
	bar := &progress{w: stdout, total: int64(*contacts), start: time.Now()}
	p.OnPollProgress = bar.polled
	p.OnWrite = bar.written
	rep, err := p.SyncOnce(ctx)
	if err != nil {
		return err
	}
	bar.finish()
	tid, oid, _ := c.scope()
	persons, err := countPersons(ctx, c.databaseURL, tid.String(), oid.String())
	if err != nil {
		return err
	}
	rows, err := status(ctx, r.natsURL, c.databaseURL, c.tenant, c.typeList(), tid, oid)
	if err != nil {
		return err
	}
	storeDir := r.nats.JetStreamConfig().StoreDir
	fmt.Fprintf(stdout, `
Summary
  records in Oro (contacts):        %d
  persons in Mercato (live):        %d   (customer_entities kind=person + customer_people + sync_external_id_mappings)
  records in ORO_RAW:               %d versions of %d records
  dead letters:                     %d
  reconcile pass:                   %d listed, %d tombstones
  time taken:                       %s
  database:                         %s
  streams stored in:                %s
  NATS:                             %s
`, r.sim.Count("contacts"), persons, rows[0].Versions, rows[0].Seen, rows[0].DeadLetters,
		listed(rep), tombstones(rep), time.Since(start).Round(time.Millisecond), redact.URL(c.databaseURL), storeDir, r.natsURL)
	if persons == r.sim.Count("contacts") {
		fmt.Fprintf(stdout, "\nAll %d contacts are live persons in Mercato.\n", persons)
	} else {
		fmt.Fprintf(stdout, "\nMismatch: %d contacts in Oro, %d persons in Mercato; see the dead letters (`nats stream view OROSYNC_DLQ`).\n", r.sim.Count("contacts"), persons)
	}
	fmt.Fprintf(stdout, "Inspect the streams with the nats CLI while NATS runs (`orosync run --data-dir %s` or this demo with --hold):\n  nats -s %s stream ls\n  nats -s %s stream view ORO_RAW\n", c.dataDir, r.natsURL, r.natsURL)
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

func countPersons(ctx context.Context, url, tenantID, orgID string) (int, error) {
	db, err := mercatodb.OpenDB(url)
	if err != nil {
		return 0, err
	}
	defer func() { _ = db.Close() }()
	var n int
	err = db.QueryRowContext(ctx, `
SELECT count(*) FROM customer_entities e
JOIN customer_people p ON p.entity_id = e.id
JOIN sync_external_id_mappings m ON m.internal_entity_id = e.id AND m.integration_id = 'sync_orocrm'
     AND m.internal_entity_type = 'customers.person' AND m.deleted_at IS NULL
WHERE e.kind = 'person' AND e.deleted_at IS NULL AND e.tenant_id = $1 AND e.organization_id = $2`, tenantID, orgID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting persons: %w", err)
	}
	return n, nil
}

// progress prints one line per step of the initial sync with an ETA.
type progress struct {
	mu               sync.Mutex
	w                io.Writer
	total            int64
	read, applied    int64
	start, lastPrint time.Time
}

func (p *progress) polled(pr pollerProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Total > 0 {
		p.total = pr.Total
	}
	p.read = pr.Done
	p.print(false)
}

func (p *progress) written(r writerapp.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applied += int64(r.Created + r.Updated)
	p.print(false)
}

func (p *progress) print(force bool) {
	if !force && time.Since(p.lastPrint) < 500*time.Millisecond {
		return
	}
	p.lastPrint = time.Now()
	eta := "-"
	if p.applied > 0 && p.total > p.applied {
		rate := float64(p.applied) / time.Since(p.start).Seconds()
		eta = time.Duration(float64(p.total-p.applied) / rate * float64(time.Second)).Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(p.w, "  %s read from Oro %6d/%d   written to Mercato %6d/%d   ETA %s\n", bar(p.applied, p.total), p.read, p.total, p.applied, p.total, eta)
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
