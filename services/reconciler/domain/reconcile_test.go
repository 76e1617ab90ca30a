package domain

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
)

// source yields held ids as the database streams them.
func source(ids ...string) func() (string, bool, error) {
	i := 0
	return func() (string, bool, error) {
		if i == len(ids) {
			return "", false, nil
		}
		i++
		return ids[i-1], true, nil
	}
}

func missingIDs(m *Merge) []string {
	out := make([]string, len(m.Missing))
	for i, h := range m.Missing {
		out[i] = h.ID
	}
	return out
}

func TestMergePageByPageInNumericOrder(t *testing.T) {
	// Held as the database orders them: numerically, "007" and "7" side by side, non-numbers last.
	m := NewMerge(source("1", "2", "007", "9", "10", "010", "100", "x"), nil)
	m.AbsentCap = 10
	for _, page := range [][]string{{"1", "3"}, {"10", "11"}, {"12"}} {
		if err := m.Page(page); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Finish(); err != nil {
		t.Fatal(err)
	}
	t.Run("finds the missing ids", func(t *testing.T) {
		if got, want := missingIDs(m), []string{"2", "007", "9", "100"}; !slices.Equal(got, want) {
			t.Errorf("missing %v, want %v", got, want) // "010" is record 10, which Oro listed
		}
	})
	t.Run("finds the absent ids", func(t *testing.T) {
		if !slices.Equal(m.Absent, []uint64{3, 11, 12}) || m.AbsentCount != 3 {
			t.Errorf("absent %v (%d)", m.Absent, m.AbsentCount)
		}
	})
	t.Run("counts what it saw", func(t *testing.T) {
		if m.Listed != 5 || m.Held != 7 || m.Unparsable != 1 || !slices.Equal(m.UnparsableIDs, []string{"x"}) {
			t.Errorf("listed %d held %d unparsable %d %v", m.Listed, m.Held, m.Unparsable, m.UnparsableIDs)
		}
	})
}

func TestMergeOfAListing(t *testing.T) {
	m := NewMerge(source(), nil)
	m.AbsentCap = 2
	if err := m.Page([]string{"2", "9", "10", "100"}); err != nil {
		t.Fatal(err)
	}
	t.Run("knows its last id", func(t *testing.T) {
		if n, ok := m.Last(); !ok || n != 100 {
			t.Errorf("Last = %d, %v", n, ok)
		}
	})
	t.Run("refuses an id out of order", func(t *testing.T) {
		for _, bad := range []string{"11", "100", "x", "-1", "1.5", ""} {
			if err := m.Page([]string{bad}); err == nil {
				t.Errorf("id %q after 100 accepted", bad)
			}
		}
	})
	t.Run("keeps absent ids up to its cap, counts the rest", func(t *testing.T) {
		if len(m.Absent) != 2 || m.AbsentCount != 4 {
			t.Errorf("absent %v of %d, want 2 kept of 4", m.Absent, m.AbsentCount)
		}
	})
}

func TestMergeTreatsSkippedIdsAsNotHeld(t *testing.T) {
	m := NewMerge(source("1", "2", "3"), func(n uint64) bool { return n == 2 })
	m.AbsentCap = 5
	if err := m.Page([]string{"1", "2"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Finish(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missingIDs(m), []string{"3"}) || !slices.Equal(m.Absent, []uint64{2}) || m.Held != 2 {
		t.Errorf("missing %v absent %v held %d", missingIDs(m), m.Absent, m.Held)
	}
}

func TestAListingIsCompleteOnlyWhenItsLastPageHoldsEveryCountedId(t *testing.T) {
	for _, c := range []struct {
		name              string
		rows, total, size int
		last, incomplete  bool
	}{
		{"full page, more to come", 10, 25, 10, false, false},
		{"last page", 5, 5, 10, true, false},
		{"empty type", 0, 0, 10, true, false},
		{"exactly one full page left", 10, 10, 10, true, false},
		{"short page with more counted: truncated", 4, 25, 10, false, true},
		{"no count sent", 5, -1, 10, false, true},
		{"more rows than counted", 6, 5, 10, false, true},
		{"everything at once, capped silently", 7, 23, -1, false, false},
		{"everything at once, empty but counted", 0, 3, -1, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			last, err := CheckPage(c.rows, c.total, c.size)
			if last != c.last || (err != nil) != c.incomplete {
				t.Fatalf("CheckPage(%d, %d, %d) = %v, %v", c.rows, c.total, c.size, last, err)
			}
			if err != nil && !errors.Is(err, ErrIncomplete) {
				t.Errorf("%v is not ErrIncomplete", err)
			}
		})
	}
}

func TestGraceTombstonesOnlyAfterConsecutivePassesMissedARecord(t *testing.T) {
	var g Grace
	g, due, waiting := g.Advance("p1", []uint64{3, 5, 5, 9}, 2)
	if len(due) != 0 || waiting != 3 {
		t.Fatalf("first pass: due %v waiting %d", due, waiting)
	}
	// 5 came back; 3 and 9 are missed again; 12 is new.
	g, due, waiting = g.Advance("p2", []uint64{3, 9, 12}, 2)
	if waiting != 1 || len(due) != 2 || !slices.Equal(due[3], []string{"p1", "p2"}) || !slices.Equal(due[9], []string{"p1", "p2"}) {
		t.Fatalf("second pass: due %v waiting %d", due, waiting)
	}
	g, due, _ = g.Advance("p3", []uint64{5, 12}, 2)
	if _, ok := due[5]; ok || !slices.Equal(due[12], []string{"p2", "p3"}) {
		t.Errorf("third pass: due %v (5 reappeared in p2, so its count restarts)", due)
	}
	if !slices.Equal(g.Passes, []string{"p2", "p3"}) {
		t.Errorf("passes %v", g.Passes)
	}
	if _, due, _ := (Grace{}).Advance("only", []uint64{1}, 1); !slices.Equal(due[1], []string{"only"}) {
		t.Errorf("grace 1: due %v", due)
	}
}

func TestGraceStateSurvivesItsCompactEncoding(t *testing.T) {
	var missing []uint64
	for i := range 200_000 {
		missing = append(missing, uint64(1_000_000+2*i))
	}
	g, _, _ := Grace{}.Advance("p1", missing, 3)
	g, _, _ = g.Advance("p2", missing[:1000], 3)
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 64<<10 {
		t.Errorf("200,000 missed ids encode to %d bytes", len(b))
	}
	var back Grace
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Passes, g.Passes) || !slices.Equal(back.Missing, g.Missing) {
		t.Errorf("round trip changed the state: %d entries, passes %v", len(back.Missing), back.Passes)
	}
	for _, bad := range []string{`{`, `{"missing":"AAAA"}`, `{"missing":12}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func TestBreakerTripsAboveTheShareOrTheCountUnlessSmallOrForced(t *testing.T) {
	for _, c := range []struct {
		name          string
		policy        Policy
		missing, held int
		refused       bool
	}{
		{"nothing missing", DefaultPolicy, 0, 0, false},
		{"5 % is allowed", DefaultPolicy, 50, 1000, false},
		{"more than 5 % is refused", DefaultPolicy, 51, 1000, true},
		{"everything gone is refused", DefaultPolicy, 1000, 1000, true},
		{"up to the floor is always allowed", DefaultPolicy, 10, 10, false},
		{"one above the floor is not", DefaultPolicy, 11, 11, true},
		{"forced", Policy{MaxShare: 0.05, Floor: 10, Force: true}, 1000, 1000, false},
		{"no floor", Policy{MaxShare: 0.1}, 2, 10, true},
		{"count limit", Policy{MaxShare: 1, MaxCount: 100, Floor: 10}, 101, 100_000, true},
		{"within the count limit", Policy{MaxShare: 1, MaxCount: 100, Floor: 10}, 100, 100_000, false},
		{"share of one", Policy{MaxShare: 1, Floor: 0}, 1000, 1000, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.policy.Check(c.missing, c.held)
			if (err != nil) != c.refused {
				t.Fatalf("Check(%d, %d) = %v, refused want %v", c.missing, c.held, err, c.refused)
			}
			if err == nil {
				return
			}
			var tm *TooManyDeletesError
			if !errors.Is(err, ErrTooManyDeletes) || !errors.As(err, &tm) || tm.Missing != c.missing || tm.Held != c.held {
				t.Errorf("error %#v does not carry the counts", err)
			}
			if !strings.Contains(err.Error(), "nothing was published") || !strings.Contains(err.Error(), "--confirm") {
				t.Errorf("error does not say what happened and what to do: %v", err)
			}
		})
	}
	for _, bad := range []Policy{{MaxShare: 0}, {MaxShare: 1.5}, {MaxShare: -0.1}, {MaxShare: 0.5, Floor: -1}, {MaxShare: 0.5, MaxCount: -1}} {
		if bad.Validate() == nil {
			t.Errorf("policy %+v validated", bad)
		}
	}
	if err := DefaultPolicy.Validate(); err != nil {
		t.Error(err)
	}
	b := Breaker{Tripped: true, Missing: 500}
	if b.Allows(10) {
		t.Error("an unconfirmed breaker allows deletes")
	}
	b.Confirmed = true
	if !b.Allows(500) || b.Allows(501) {
		t.Error("a confirmation covers exactly the tripped pass's deletes")
	}
}

func TestTombstonesOfTheSameDeletionShareAMessageIdWhicheverPassNoticesIt(t *testing.T) {
	h := []Held{{ID: "9", Version: events.SourceVersion{UpdatedAt: time.Unix(9, 0).UTC(), PayloadHash: "h9"}}}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	first := Tombstones("acme", "contacts", h, at, ReasonDiff, &events.TombstoneEvidence{Passes: []string{"p1", "p2"}})
	later := Tombstones("acme", "contacts", h, at.Add(15*time.Minute), ReasonAudit, &events.TombstoneEvidence{AuditID: 4})
	if len(first) != 1 {
		t.Fatalf("%d tombstones", len(first))
	}
	tb := first[0]
	if tb.RecordRef != (events.RecordRef{Tenant: "acme", Type: "contacts", ID: "9"}) || tb.Reason != "diff" || tb.Op != "delete" ||
		!tb.DeletedAt.Equal(at) || tb.DeletedAt.Location() != time.UTC || tb.LastSeen == nil || *tb.LastSeen != h[0].Version ||
		!slices.Equal(tb.Evidence.Passes, []string{"p1", "p2"}) {
		t.Errorf("tombstone %+v", tb)
	}
	if tb.MsgID() != later[0].MsgID() {
		t.Error("another pass or path would publish the same deletion under another message id")
	}
	newer := slices.Clone(h)
	newer[0].Version.PayloadHash = "other"
	if tb.MsgID() == Tombstones("acme", "contacts", newer, at, ReasonDiff, nil)[0].MsgID() {
		t.Error("the deletion of another version shares a message id")
	}
}

func TestAuditCursorReReadsTheLagWindow(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	if got := (AuditCursor{}).Since(now, 5*time.Minute, time.Hour); !got.Equal(now.Add(-time.Hour)) {
		t.Errorf("first read from %v", got)
	}
	c := AuditCursor{}.Advance(7, now.Add(-time.Minute)).Advance(5, now.Add(-2*time.Minute))
	if c.LastID != 7 || !c.LoggedAt.Equal(now.Add(-time.Minute)) {
		t.Errorf("cursor %+v", c)
	}
	if got := c.Since(now, 5*time.Minute, time.Hour); !got.Equal(now.Add(-6 * time.Minute)) {
		t.Errorf("next read from %v", got)
	}
}

func TestCountsAdd(t *testing.T) {
	a := Counts{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if got := a.Add(a); got != (Counts{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24}) {
		t.Errorf("Add = %+v", got)
	}
}

// BenchmarkMergeOfAMillionIDs merges 1,000,000 listed ids in pages of 10,000 with 1,010,000 held ones. The merge
// keeps only what it finds (10,000 missing); the two million allocations per op are the benchmark's own id strings.
func BenchmarkMergeOfAMillionIDs(b *testing.B) {
	const listed, pageSize = 1_000_000, 10_000
	page := make([]string, 0, pageSize)
	for range b.N {
		n := 0
		held := func() (string, bool, error) {
			n++
			if n > listed+listed/100 {
				return "", false, nil
			}
			return strconv.Itoa(n), true, nil
		}
		m := NewMerge(held, nil)
		for start := 1; start <= listed; start += pageSize {
			page = page[:0]
			for id := start; id < start+pageSize; id++ {
				page = append(page, strconv.Itoa(id))
			}
			if err := m.Page(page); err != nil {
				b.Fatal(err)
			}
		}
		if err := m.Finish(); err != nil || len(m.Missing) != listed/100 {
			b.Fatalf("%d missing, %v", len(m.Missing), err)
		}
	}
}

func TestListedVersionsNewerThanTheAppliedOnesAreStale(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 11, 1, 9, min, 0, 0, time.UTC) }
	held := []HeldID{{ID: "1", UpdatedAt: at(10)}, {ID: "2", UpdatedAt: at(10)}, {ID: "3", UpdatedAt: at(10)},
		{ID: "4", UpdatedAt: at(10)}, {ID: "5"}}
	i := 0
	m := NewVersionedMerge(func() (string, time.Time, bool, error) {
		if i == len(held) {
			return "", time.Time{}, false, nil
		}
		i++
		return held[i-1].ID, held[i-1].UpdatedAt, true, nil
	}, nil)
	m.AbsentCap, m.StaleBefore = 10, at(30)
	err := m.PageListed([]Listed{
		{ID: "1", UpdatedAt: at(10)}, // as applied
		{ID: "2", UpdatedAt: at(20)}, // newer: a change lost on the way
		{ID: "3", UpdatedAt: at(5)},  // older than applied (Oro's clock moved back): not ours to repair
		{ID: "4", UpdatedAt: at(40)}, // newer, but recent: maybe still on its way
		{ID: "5", UpdatedAt: at(20)}, // applied version unknown
		{ID: "6"},                    // listed without versions
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Finish(); err != nil {
		t.Fatal(err)
	}
	if len(m.Stale) != 1 || m.Stale[0].N != 2 || !m.Stale[0].UpdatedAt.Equal(at(20)) || m.StaleCount != 1 ||
		len(m.Absent) != 1 || m.Absent[0] != 6 {
		t.Errorf("stale %v (%d), absent %v; want [2] and [6]", m.Stale, m.StaleCount, m.Absent)
	}
}

func TestAStaleVersionIsRepairedOnce(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 11, 1, 9, min, 0, 0, time.UTC) }
	repairs := Repairs{2: at(20), 3: at(20), 4: at(20)}
	due, next := repairs.Due([]HeldID{{N: 1, UpdatedAt: at(20)}, {N: 2, UpdatedAt: at(20)}, {N: 3, UpdatedAt: at(30)}})
	if len(due) != 2 || due[0] != 1 || due[1] != 3 {
		t.Errorf("due %v, want 1 (new) and 3 (a newer version than the one repaired), not 2 (repaired already)", due)
	}
	if len(next) != 3 || !next[3].Equal(at(30)) {
		t.Errorf("kept %v, want 1, 2 and 3 at their versions; 4 is no longer stale", next)
	}
}
