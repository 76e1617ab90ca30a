package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
)

func listing(t *testing.T, ids ...string) *Listing {
	t.Helper()
	l := &Listing{}
	for _, id := range ids {
		if err := l.Add(id); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func held(ids ...string) []Held {
	out := make([]Held, len(ids))
	for i, id := range ids {
		out[i] = Held{ID: id, Version: events.SourceVersion{UpdatedAt: time.Unix(int64(i), 0).UTC(), PayloadHash: "h" + id}}
	}
	return out
}

func ids(hs []Held) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func TestListingComparesIdsAsNumbersAndRefusesAnyOtherOrder(t *testing.T) {
	l := listing(t, "2", "9", "10", "100")
	if last, ok := l.Last(); !ok || last != "100" {
		t.Errorf("Last = %q, %v", last, ok) // as strings "9" would be the highest
	}
	for _, bad := range []string{"11", "100", "x", "-1", "1.5", ""} {
		if err := l.Add(bad); err == nil {
			t.Errorf("Add(%q) after 100 accepted", bad)
		}
	}
	if l.Len() != 4 {
		t.Errorf("a refused id was kept: %d ids", l.Len())
	}
	if _, ok := (&Listing{}).Last(); ok {
		t.Error("an empty listing has a last id")
	}
}

func TestDiffFindsHeldRecordsOroNoLongerListsInNumericOrder(t *testing.T) {
	l := listing(t, "1", "2", "10", "11")
	d := Compare(l, held("11", "10", "9", "100", "2", "010", "007", "x", "1"))
	if got, want := ids(d.Missing), []string{"007", "9", "100"}; !slices.Equal(got, want) {
		t.Errorf("missing %v, want %v", got, want) // "010" is record 10, which Oro listed
	}
	if got := ids(d.Unparsable); !slices.Equal(got, []string{"x"}) {
		t.Errorf("unparsable %v", got)
	}
	if d := Compare(l, nil); len(d.Missing)+len(d.Unparsable) != 0 {
		t.Errorf("nothing held, yet %+v", d)
	}
	if d := Compare(&Listing{}, held("1", "2")); len(d.Missing) != 2 {
		t.Errorf("empty listing: %d missing, want every held record", len(d.Missing))
	}
}

func TestShareRuleRefusesMassDeletesUnlessForcedOrSmall(t *testing.T) {
	for _, c := range []struct {
		name          string
		policy        Policy
		missing, held int
		refused       bool
	}{
		{"nothing missing", DefaultPolicy, 0, 0, false},
		{"half is allowed", DefaultPolicy, 50, 100, false},
		{"more than half is refused", DefaultPolicy, 51, 100, true},
		{"everything gone is refused", DefaultPolicy, 1000, 1000, true},
		{"up to the floor is always allowed", DefaultPolicy, 10, 10, false},
		{"one above the floor is not", DefaultPolicy, 11, 11, true},
		{"forced", Policy{MaxShare: 0.5, Floor: 10, Force: true}, 1000, 1000, false},
		{"no floor", Policy{MaxShare: 0.1}, 2, 10, true},
		{"stricter share", Policy{MaxShare: 0.05, Floor: 10}, 11, 200, true},
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
			if !strings.Contains(err.Error(), "nothing was published") {
				t.Errorf("error does not say what happened: %v", err)
			}
		})
	}
	for _, bad := range []Policy{{MaxShare: 0}, {MaxShare: 1.5}, {MaxShare: -0.1}, {MaxShare: 0.5, Floor: -1}} {
		if bad.Validate() == nil {
			t.Errorf("policy %+v validated", bad)
		}
	}
	if err := DefaultPolicy.Validate(); err != nil {
		t.Error(err)
	}
}

func TestTombstonesOfTheSameDeletionShareAMessageIdWhicheverPassNoticesIt(t *testing.T) {
	h := held("9")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	first := Tombstones("acme", "contacts", h, at)
	later := Tombstones("acme", "contacts", h, at.Add(15*time.Minute))
	if len(first) != 1 {
		t.Fatalf("%d tombstones", len(first))
	}
	tb := first[0]
	if tb.RecordRef != (events.RecordRef{Tenant: "acme", Type: "contacts", ID: "9"}) || tb.Reason != ReasonIDDiff ||
		!tb.DeletedAt.Equal(at) || tb.DeletedAt.Location() != time.UTC || tb.LastSeen == nil || *tb.LastSeen != h[0].Version {
		t.Errorf("tombstone %+v", tb)
	}
	if tb.MsgID() != later[0].MsgID() {
		t.Error("a later pass would publish the same deletion under another message id")
	}
	newer := held("9")
	newer[0].Version.PayloadHash = "other"
	if tb.MsgID() == Tombstones("acme", "contacts", newer, at)[0].MsgID() {
		t.Error("the deletion of another version shares a message id")
	}
}

func TestCountsAdd(t *testing.T) {
	a := Counts{Listed: 1, Held: 2, Missing: 3, Published: 4, Duplicates: 5, Unparsable: 6}
	if got := a.Add(a); got != (Counts{2, 4, 6, 8, 10, 12}) {
		t.Errorf("Add = %+v", got)
	}
}
