package adapters_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/orosync/orosync/events"
)

// changeStream is a deterministic history of contacts as the pipeline produces it: versions, tombstones naming
// the last version seen, and contacts that reappear after deletion.
func changeStream(contacts int) []events.Change {
	rng := rand.New(rand.NewPCG(6, 6))
	var out []events.Change
	for i := range contacts {
		id := fmt.Sprint(i + 1)
		sec := 0
		var last events.Change
		for v := range 1 + rng.IntN(4) {
			sec += 1 + rng.IntN(100)
			last = contact{id: id, first: fmt.Sprintf("First%d", v), last: fmt.Sprintf("Last%d", i), email: id + "@example.com",
				job: []string{"", "CTO", "Engineer"}[rng.IntN(3)], sec: sec}.change()
			out = append(out, last)
		}
		if rng.IntN(3) == 0 {
			out = append(out, tombstone(last))
			if rng.IntN(2) == 0 {
				out = append(out, contact{id: id, first: "Back", last: fmt.Sprintf("Last%d", i), email: id + "@example.com", sec: sec + 500}.change())
			}
		}
	}
	// Interleave contacts as a real stream would.
	rng.Shuffle(len(out), func(i, j int) {
		if out[i].Source.ID != out[j].Source.ID {
			out[i], out[j] = out[j], out[i]
		}
	})
	return out
}

func (e *env) applyInBatches(stream []events.Change, size int) {
	e.t.Helper()
	for len(stream) > 0 {
		n := min(size, len(stream))
		e.apply(nil, stream[:n]...)
		stream = stream[n:]
	}
}

// appliedTwiceAndInReverse applies the stream in batches of size to a fresh database (returned, with what rows
// reads from it), then again, and reversed to another one: rows must read the same and the second pass add no event.
func appliedTwiceAndInReverse(t *testing.T, stream []events.Change, size int, rows func(*env) string) (*env, string) {
	t.Helper()
	once := newEnv(t, scope)
	once.applyInBatches(stream, size)
	want := rows(once)
	outbox := once.count(`SELECT count(*) FROM orosync_outbox`)
	once.applyInBatches(stream, max(size-2, 1))
	sameRows(t, "applied twice", rows(once), want)
	if n := once.count(`SELECT count(*) FROM orosync_outbox`); n != outbox {
		t.Errorf("applying the stream again added %d events", n-outbox)
	}
	reversed := slices.Clone(stream)
	slices.Reverse(reversed)
	backwards := newEnv(t, scope)
	backwards.applyInBatches(reversed, size)
	sameRows(t, "applied in reverse", rows(backwards), want)
	return once, want
}

// checksum digests what the tables say (ids, values, versions, whether deleted), not when it was written.
func (e *env) checksum() string {
	e.t.Helper()
	var sum string
	if err := e.db.QueryRow(e.ctx, `
SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
  SELECT ROW('e', id, organization_id, tenant_id, kind, display_name, primary_email, primary_phone, is_active, deleted_at IS NOT NULL)::text
  FROM customer_entities
  UNION ALL SELECT ROW('p', id, entity_id, first_name, last_name, job_title)::text FROM customer_people
  UNION ALL SELECT ROW('m', id, integration_id, internal_entity_type, internal_entity_id, external_id, sync_status, deleted_at IS NOT NULL)::text
  FROM sync_external_id_mappings
  UNION ALL SELECT ROW('r', source_type, source_id, internal_entity_id, profile_id, source_updated_at, payload_hash, mapping_version,
    deleted_at IS NOT NULL, snapshot)::text FROM orosync_records
) t(x)`).Scan(&sum); err != nil {
		e.t.Fatal(err)
	}
	return sum
}

func TestChangeStreamAppliedTwiceOrInReverseOrShuffledLeavesIdenticalTables(t *testing.T) {
	stream := changeStream(40)
	reversed := slices.Clone(stream)
	slices.Reverse(reversed)

	once := newEnv(t, scope)
	once.applyInBatches(stream, 7)
	want := once.checksum()
	if n := once.count(`SELECT count(*) FROM customer_entities`); n != 40 {
		t.Fatalf("%d people after one pass, want 40", n)
	}

	twice := newEnv(t, scope)
	twice.applyInBatches(stream, 7)
	twice.applyInBatches(stream, 5)
	if got := twice.checksum(); got != want {
		t.Errorf("applied twice: checksum %s, want %s", got, want)
	}

	backwards := newEnv(t, scope)
	backwards.applyInBatches(reversed, 7)
	if got := backwards.checksum(); got != want {
		t.Errorf("applied in reverse: checksum %s, want %s", got, want)
	}

	shuffled := slices.Clone(stream)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	anyOrder := newEnv(t, scope)
	anyOrder.applyInBatches(shuffled, 3)
	if got := anyOrder.checksum(); got != want {
		t.Errorf("applied in random order: checksum %s, want %s", got, want)
	}

	single := newEnv(t, scope)
	for _, c := range reversed {
		single.apply(nil, c)
	}
	if got := single.checksum(); got != want {
		t.Errorf("applied in reverse one change at a time: checksum %s, want %s", got, want)
	}
}

// rewritten counts the rows of a table whose row version (xmin) changed since before.
func (e *env) rowVersions(table string) map[string]string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT id::text, xmin::text FROM `+table)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, x string
		if err := rows.Scan(&id, &x); err != nil {
			e.t.Fatal(err)
		}
		out[id] = x
	}
	return out
}

func rewrites(before, after map[string]string) int {
	n := 0
	for id, x := range after {
		if before[id] != x {
			n++
		}
	}
	return n
}

func TestReplayWithANewMappingRewritesOnlyRowsWhoseMappedValuesChanged(t *testing.T) {
	e := newEnv(t, scope)
	var first, replay []events.Change
	for i := range 50 {
		id := fmt.Sprint(i + 1)
		first = append(first, contact{id: id, first: "F" + id, last: "L", email: id + "@example.com", job: "Engineer", sec: 10}.change())
		// The new mapping changes one column (job title) for ten contacts; the rest map to the same values.
		job := "Engineer"
		if i < 10 {
			job = "Senior Engineer"
		}
		c := contact{id: id, first: "F" + id, last: "L", email: id + "@example.com", job: job, sec: 10}.change()
		c.MappingVersion = "contacts-v2"
		replay = append(replay, c)
	}
	e.apply(nil, first...)
	entities, people := e.rowVersions("customer_entities"), e.rowVersions("customer_people")
	mappings := e.rowVersions("sync_external_id_mappings")
	r := e.apply(nil, replay...)
	if r.Updated != 10 {
		t.Errorf("%d updated events, want 10", r.Updated)
	}
	if n := rewrites(people, e.rowVersions("customer_people")); n != 10 {
		t.Errorf("%d customer_people rows rewritten, want 10", n)
	}
	// customer_entities holds no job title: none of its rows is rewritten (customer_people.updated_at moves).
	if n := rewrites(entities, e.rowVersions("customer_entities")); n != 0 {
		t.Errorf("%d customer_entities rows rewritten, want 0", n)
	}
	if n := rewrites(mappings, e.rowVersions("sync_external_id_mappings")); n != 0 {
		t.Errorf("%d external id rows rewritten, want 0", n)
	}
}
