package service_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/orosync/orosync/events"
)

// refuseWhere makes PostgreSQL refuse every write of an orosync_records row that meets cond (on NEW) with the
// SQLSTATE given: a change the database will never take, or a refusal of the database's own.
func (h *harness) refuseWhere(cond, sqlstate string) {
	h.t.Helper()
	if _, err := h.db.Exec(h.ctx, fmt.Sprintf(`
CREATE OR REPLACE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF %s THEN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '%s'; END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER test_refuse BEFORE INSERT OR UPDATE ON orosync_records FOR EACH ROW EXECUTE FUNCTION test_refuse();`,
		cond, sqlstate)); err != nil {
		h.t.Fatal(err)
	}
}

func TestABatchWithOnePoisonChangeCommitsItsGoodChangesInAFewTransactions(t *testing.T) {
	commits := 0
	h := startWith(t, nil)
	h.refuseWhere("NEW.source_id = '500'", "23514") // check_violation: the change's own fault
	changes := make([]events.Change, 1000)
	for i := range changes {
		id := strconv.Itoa(i + 1)
		changes[i] = person(id, i, "F"+id, "L", id+"@example.com")
	}
	h.publish(changes...)
	for persons := 0; persons < 999; {
		select {
		case <-h.committed:
			commits++
		case <-h.ctx.Done():
			t.Fatalf("%d of 999 persons after %d commits", persons, commits)
		}
		persons = h.count(`SELECT count(*) FROM orosync_records WHERE source_type = 'contacts'`)
	}
	// The writer's batches are at most 1,000: one with the bad change bisects into about 2 × log2(1,000) = 20
	// transactions; the others commit once each.
	if commits > 40 {
		t.Errorf("the good changes took %d commits, want a few dozen at most (bisected, not one by one)", commits)
	}
	t.Logf("999 good changes of a batch with one poison change committed in %d transactions", commits)
}

// BenchmarkBatchOfAThousand is the time for a batch of 1,000 new contacts to commit, clean and with one change the
// database refuses (bisected: ~10 commits and ~11 failed transactions); compare the two in one run.
func BenchmarkBatchOfAThousand(b *testing.B) {
	for _, poison := range []bool{false, true} {
		name := "clean"
		if poison {
			name = "one poison change"
		}
		b.Run(name, func(b *testing.B) {
			h := startWith(b, nil)
			h.refuseWhere("length(NEW.source_id) >= 10", "23514")
			b.ResetTimer()
			for i := range b.N {
				changes := make([]events.Change, 1000)
				for j := range changes {
					id := strconv.Itoa(i*1000 + j + 1)
					if poison && j == 500 {
						id = strconv.Itoa(1_000_000_000 + i) // refused
					}
					changes[j] = person(id, j, "F"+id, "L", id+"@example.com")
				}
				h.publish(changes...)
				want := (i + 1) * 1000
				if poison {
					want = (i + 1) * 999
				}
				for h.count(`SELECT count(*) FROM orosync_records`) < want {
					select {
					case <-h.committed:
					case <-h.ctx.Done():
						b.Fatal("batch not committed in time")
					}
				}
			}
		})
	}
}
