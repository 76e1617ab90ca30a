package adapters_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/app"
)

// A database whose tables grew since their last ANALYZE (autovacuum off, or behind a bulk import) has no
// statistics the planner can trust. Every statement the writer runs for a batch must still read only that batch's
// rows, found by their keys, not scan or hash a whole table: a plan node that reads (or filters out) more rows than
// a few per contact of the batch is one that grows with the table.
func TestABatchReadsOnlyItsOwnRowsWithoutStatistics(t *testing.T) {
	const stored, batch = 20_000, 500
	ctx := t.Context()
	url := dbtest.NewDatabase(t)
	load := storeOn(ctx, t, url, nil)
	withoutStatistics(ctx, t, load.pool)
	if _, err := load.apply.Handle(ctx, benchAccountChanges()); err != nil {
		t.Fatal(err)
	}
	for from := 0; from < stored; from += 1000 {
		if _, err := load.apply.Handle(ctx, plannedContacts(from, 1000, 10, "", "v1")); err != nil {
			t.Fatal(err)
		}
	}
	plans := &planLog{}
	explained := storeOn(ctx, t, url, plans)
	// The emails of Mercato's own people are read whole, on purpose, and cached: read them before measuring.
	if _, err := explained.apply.Handle(ctx, plannedContacts(stored+batch, 10, 10, "", "v1")); err != nil {
		t.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		changes []events.Change
	}{
		{"new contacts", plannedContacts(stored, batch, 10, "", "v1")},
		{"every row rewritten under a new mapping", plannedContacts(0, batch, 20, "-v2", "v2")},
		{"a new mapping that changes nothing", plannedContacts(batch, batch, 20, "", "v2")},
		{"deletions", tombstones(plannedContacts(2*batch, batch, 30, "", "v1"))},
		{"deleted contacts coming back", plannedContacts(2*batch, batch, 40, "", "v1")},
	} {
		t.Run(bc.name, func(t *testing.T) {
			plans.reset()
			if _, err := explained.apply.Handle(ctx, bc.changes); err != nil {
				t.Fatal(err)
			}
			all := plans.taken()
			if len(all) == 0 {
				t.Fatal("no plan was logged: auto_explain did not run")
			}
			for _, p := range all {
				if node, rows := misjudgedRead(p, 4*batch); node != "" {
					t.Errorf("a statement reads %d rows for a batch of %d (%s):\n%s", rows, batch, node, p)
				}
			}
		})
	}
}

// plannedContacts are benchChanges with what Oro contacts carry besides: an owner and a lifecycle stage.
func plannedContacts(from, n, sec int, suffix, mapping string) []events.Change {
	out := benchChanges(from, n, sec, suffix, mapping)
	for i := range out {
		p := *out[i].Person
		p.Owner = &events.OroRef{Type: "users", ID: strconv.Itoa((from + i) % 7)}
		p.LifecycleStage = ptr("customer")
		out[i].Person = &p
	}
	return out
}

func tombstones(changes []events.Change) []events.Change {
	out := make([]events.Change, len(changes))
	for i, c := range changes {
		out[i] = tombstone(c)
	}
	return out
}

type testStore struct {
	pool  *pgxpool.Pool
	apply app.ApplyChanges
}

// storeOn is the writer's use case on url; with plans, every statement's executed plan is logged there.
func storeOn(ctx context.Context, t *testing.T, url string, plans *planLog) testStore {
	t.Helper()
	cfg, err := adapters.PoolConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if plans != nil {
		cfg.ConnConfig.OnNotice = plans.notice
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off; SET client_min_messages = log`)
			return err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := adapters.NewStore(pool, map[string]adapters.Scope{"acme": scope}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return testStore{pool: pool, apply: app.ApplyChanges{Store: store}}
}

// withoutStatistics keeps autovacuum from analysing the database's tables, wherever the test runs.
func withoutStatistics(ctx context.Context, t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT format('ALTER TABLE %I SET (autovacuum_enabled = false)', relname)
FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := pool.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

// planLog collects the plans auto_explain sends as notices.
type planLog struct {
	mu    sync.Mutex
	plans []string
}

func (l *planLog) notice(_ *pgconn.PgConn, n *pgconn.Notice) {
	if !strings.HasPrefix(n.Message, "duration:") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.plans = append(l.plans, n.Message)
}

func (l *planLog) reset() { l.mu.Lock(); l.plans = nil; l.mu.Unlock() }

func (l *planLog) taken() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.plans...)
}

// planNode matches a node of EXPLAIN ANALYZE's text: its name, estimated rows and actual rows and loops.
var planNode = regexp.MustCompile(`^\s*(?:->\s*)?(.*?)\s+\(cost=\S+ rows=(\d+) width=\d+\) \(actual rows=(\d+) loops=(\d+)\)`)

// misjudgedRead is the plan node that read the most rows (rows × loops) among those that read more than limit rows
// where the planner expected a tenth of them: a plan chosen for a table it believed small. A whole table read
// knowingly (the planner's estimate holds) is a choice that changes with the table's size, and passes.
func misjudgedRead(plan string, limit int) (node string, rows int) {
	for _, line := range strings.Split(plan, "\n") {
		m := planNode.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		est, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		loops, _ := strconv.Atoi(m[4])
		if n*loops > limit && n > 10*max(est, 1) && n*loops > rows {
			node, rows = fmt.Sprintf("%s: %d rows × %d loops, %d expected a loop", m[1], n, loops, est), n*loops
		}
	}
	return node, rows
}
