package adapters_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/events"
)

// tupleCounts is pg_stat_user_tables' inserted/updated/deleted tuples per table.
type tupleCounts map[string][3]int64

// readTupleCounts reads the statistics after making the pool's only connection (the one that wrote) flush its
// pending counts: pg_stat_force_next_flush() makes the backend flush when it goes idle after that statement,
// before it answers, so nothing is waited for.
func readTupleCounts(ctx context.Context, t *testing.T, pool *pgxpool.Pool) tupleCounts {
	t.Helper()
	if _, err := pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := tupleCounts{}
	for rows.Next() {
		var name string
		var c [3]int64
		if err := rows.Scan(&name, &c[0], &c[1], &c[2]); err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReplayUnderANewMappingRewritesOnlyTheRowsWhoseMappedValuesChanged replays every contact (each linked to
// its account) under a new mapping version that changes one column, the job title of a quarter of them, and
// counts with pg_stat_user_tables what the replay wrote: one customer_people update and one orosync_records update
// per changed contact, the new job title in the dictionary, and nothing else in any table but the outbox, which
// holds one event (customers.person.updated) per changed contact.
func TestReplayUnderANewMappingRewritesOnlyTheRowsWhoseMappedValuesChanged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// One connection: the statistics it flushes are all the writes there are.
	pool, apply := oneConnectionWriter(ctx, t)
	const contacts, accounts = 400, 10
	stream := func(mapping string, job func(i int) string) []events.Change {
		var out []events.Change
		for i := range accounts {
			a := account{id: "a" + strconv.Itoa(i), name: "Account " + strconv.Itoa(i), industry: "Software"}.change()
			a.MappingVersion = "accounts-" + mapping
			out = append(out, a)
		}
		for i := range contacts {
			id := strconv.Itoa(i)
			c := contact{id: id, first: "First" + id, last: "Last", email: id + "@example.com", job: job(i), sec: 10}.change()
			c.MappingVersion = "contacts-" + mapping
			acct := "a" + strconv.Itoa(i%accounts)
			out = append(out, withLinks(c, acct, acct))
		}
		return out
	}
	changed := 0
	v1 := func(i int) string {
		if i%4 == 0 {
			return "Engineer"
		}
		return "Designer"
	}
	v2 := func(i int) string { // the new mapping spells out one of the job titles
		if i%4 == 0 {
			return "Software Engineer"
		}
		return "Designer"
	}
	for i := range contacts {
		if v1(i) != v2(i) {
			changed++
		}
	}
	for _, batch := range chunk(stream("v1", v1), 150) {
		if _, err := apply.Handle(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	events := func(typ string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM orosync_outbox WHERE event_type LIKE $1) +
  (SELECT count(*) FROM orosync_outbox_batches b, json_array_elements(b.events) e WHERE e->>'t' LIKE $1)`, typ).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := readTupleCounts(ctx, t, pool)
	eventsBefore, updatesBefore := events("%"), events("customers.person.updated")

	var updated int
	for _, batch := range chunk(stream("v2", v2), 150) {
		r, err := apply.Handle(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		updated += r.Updated
	}
	after := readTupleCounts(ctx, t, pool)

	if updated != changed {
		t.Errorf("replay reported %d people updated, want %d", updated, changed)
	}
	if n, u := events("%")-eventsBefore, events("customers.person.updated")-updatesBefore; n != changed || u != changed {
		t.Errorf("the replay wrote %d events, %d of them customers.person.updated; want %d, all updates", n, u, changed)
	}
	want := map[string][3]int64{ // inserted, updated, deleted
		"customer_people":             {0, int64(changed), 0},
		"orosync_records":             {0, int64(changed), 0},
		"customer_dictionary_entries": {1, 0, 0},
	}
	var diffs []string
	for table, a := range after {
		if table == "orosync_outbox" || table == "orosync_outbox_batches" {
			continue // the events are counted above (one row per event, or one per batch of many)
		}
		b := before[table]
		got := [3]int64{a[0] - b[0], a[1] - b[1], a[2] - b[2]}
		if got != want[table] {
			diffs = append(diffs, fmt.Sprintf("%s: %d inserted, %d updated, %d deleted; want %v", table, got[0], got[1], got[2], want[table]))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("the replay wrote more than the changed job titles:\n%s", strings.Join(diffs, "\n"))
	}
	// The statistics are the writes: the job titles read back are the new mapping's.
	var engineers int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM customer_people WHERE job_title = 'Software Engineer'`).Scan(&engineers); err != nil {
		t.Fatal(err)
	}
	if engineers != changed {
		t.Errorf("%d people with the new job title, want %d", engineers, changed)
	}
}

func chunk(cs []events.Change, n int) [][]events.Change {
	var out [][]events.Change
	for len(cs) > n {
		out = append(out, cs[:n])
		cs = cs[n:]
	}
	return append(out, cs)
}

// TestNewVersionsOfEveryRecordUpdateTheirBookkeepingRowsInPlace applies every contact twice, the second time in newer
// versions with the same values (a replay of a newer export), and counts with pg_stat_user_tables what the second
// pass did to orosync_records: one update per contact, every one of them HOT (the new row version on the page of
// the old one, no index entries), which the table's fillfactor leaves room for.
func TestNewVersionsOfEveryRecordUpdateTheirBookkeepingRowsInPlace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, apply := oneConnectionWriter(ctx, t)
	const contacts = 600
	for _, sec := range []int{10, 20} {
		if sec == 20 { // count from here: the first pass's counts flushed, then reset
			for _, q := range []string{`SELECT pg_stat_force_next_flush()`, `SELECT pg_stat_reset()`} {
				if _, err := pool.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		}
		for from := 0; from < contacts; from += 200 {
			batch := make([]events.Change, 0, 200)
			for i := from; i < from+200; i++ {
				id := strconv.Itoa(i)
				batch = append(batch, contact{id: id, first: "First" + id, last: "Last", email: id + "@example.com", job: "Engineer", sec: sec}.change())
			}
			if _, err := apply.Handle(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	var updated, hot int64
	if err := pool.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'orosync_records'`).
		Scan(&updated, &hot); err != nil {
		t.Fatal(err)
	}
	if updated != contacts || hot != contacts {
		t.Errorf("orosync_records: %d updates, %d of them HOT; want %d, all HOT", updated, hot, contacts)
	}
}
