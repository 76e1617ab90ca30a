package domain

import (
	"testing"
	"time"

	"github.com/orosync/orosync/oro"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestForwardPagesReadFromTheBoundarySecondInclusivelyOneRequestEach(t *testing.T) {
	c, phase, done, err := Advance(Cursor{}, Forward, []Row{{5, t0}, {2, t0.Add(time.Second)}, {3, t0.Add(time.Second)}}, true)
	if err != nil || done || phase != Forward || c.LastID != 3 || !c.UpdatedAt.Equal(t0.Add(time.Second)) || c.Done != 3 {
		t.Fatalf("%+v %v %v %v", c, phase, done, err)
	}
	p := Next(c, phase, 100, t0.Add(time.Hour))
	if len(p.Query.Filters) != 2 || p.Query.Filters[1] != (oro.Filter{Field: "updatedAt", Op: "gte", Value: "2026-01-01T00:00:01Z"}) {
		t.Errorf("forward plan %+v", p.Query)
	}
	// The boundary rows come back and are not fresh; a tie with a higher id is.
	if Fresh(c, Row{2, t0.Add(time.Second)}) || Fresh(c, Row{3, t0.Add(time.Second)}) || !Fresh(c, Row{9, t0.Add(time.Second)}) {
		t.Error("boundary rows are not told apart from new ties")
	}
}

func TestAFullPageOfBoundaryRowsDrainsTiesById(t *testing.T) {
	c := Cursor{UpdatedAt: t0, LastID: 7}
	_, phase, done, err := Advance(c, Forward, nil, true)
	if err != nil || done || phase != Ties {
		t.Fatalf("phase %v done %v err %v", phase, done, err)
	}
	p := Next(c, phase, 100, t0.Add(time.Hour))
	if p.Query.Filters[0].Op != "eq" || p.Query.Filters[1].Field != "id" || p.Query.Filters[1].Value != "7" || p.Query.Sort[0] != "id" {
		t.Errorf("ties plan %+v", p.Query)
	}
	// A short ties page ends the ties; the next page starts strictly after the drained second.
	c, phase, done, _ = Advance(c, Ties, []Row{{9, t0}}, false)
	if phase != Past || done || c.LastID != 9 {
		t.Fatalf("%+v %v %v", c, phase, done)
	}
	if p := Next(c, phase, 100, t0.Add(time.Hour)); p.Query.Filters[1].Op != "gt" {
		t.Errorf("plan after ties %+v", p.Query)
	}
}

func TestEmptyForwardPageMeansCaughtUp(t *testing.T) {
	_, _, done, err := Advance(Cursor{UpdatedAt: t0, LastID: 4}, Forward, nil, false)
	if err != nil || !done {
		t.Fatal("empty forward page is not caught up")
	}
}

func TestRowsBehindTheCursorAreRefused(t *testing.T) {
	if _, _, _, err := Advance(Cursor{UpdatedAt: t0, LastID: 4}, Ties, []Row{{4, t0}}, false); err == nil {
		t.Fatal("a row at the cursor was accepted: a misbehaving server would loop forever")
	}
}

func TestFirstPlanHasOnlyTheUpperBound(t *testing.T) {
	p := Next(Cursor{}, Forward, 1000, t0)
	if len(p.Query.Filters) != 1 || p.Query.Filters[0].Op != "lte" || p.Query.PageSize != 1000 || p.Query.Sort[0] != "updatedAt" || p.Query.Sort[1] != "id" {
		t.Fatalf("%+v", p.Query)
	}
}

func TestAShortForwardPageIsCaughtUpWithoutAnotherRequest(t *testing.T) {
	c, phase, done, err := Advance(Cursor{UpdatedAt: t0, LastID: 4}, Forward, []Row{{7, t0.Add(time.Second)}}, false)
	if err != nil || !done || phase != Forward || c.LastID != 7 {
		t.Fatalf("%+v %v %v %v", c, phase, done, err)
	}
}

func TestTheBoundarySecondsIdsTellItsRowsReadFromLateOnes(t *testing.T) {
	c, _, _, err := Advance(Cursor{}, Forward, []Row{{4, t0}, {9, t0.Add(time.Second)}, {12, t0.Add(time.Second)}}, true)
	if err != nil || len(c.Boundary) != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	// A row of the boundary second committed late with a lower id is new, not an error.
	c, _, _, err = Advance(c, Forward, []Row{{7, t0.Add(time.Second)}, {15, t0.Add(time.Second)}}, false)
	if err != nil || c.LastID != 15 || len(c.Boundary) != 4 {
		t.Fatalf("late row: %+v %v", c, err)
	}
	// More rows at one second than MaxBoundary: the boundary is no longer listed, the inclusive read takes over.
	var rows []Row
	for i := range MaxBoundary {
		rows = append(rows, Row{int64(100 + i), t0.Add(time.Second)})
	}
	c, _, _, err = Advance(c, Forward, rows, true)
	if err != nil || c.Boundary != nil || c.LastID != int64(100+MaxBoundary-1) {
		t.Fatalf("overflow: %+v %v", c.LastID, err)
	}
	if p := Next(c, Forward, 100, t0.Add(time.Hour)); len(p.Query.Filters) != 2 {
		t.Errorf("plan without a known boundary: %+v", p.Query.Filters)
	}
	if Fresh(c, Row{100, t0.Add(time.Second)}) || !Fresh(c, Row{500, t0.Add(time.Second)}) {
		t.Error("inclusive fallback does not tell boundary rows apart")
	}
}

func TestABoundaryRecordEditedAgainIsNotExcludedFromTheNextPage(t *testing.T) {
	c, _, _, err := Advance(Cursor{}, Forward, []Row{{2, t0}, {3, t0}, {10, t0}}, false)
	if err != nil || len(c.Boundary) != 3 {
		t.Fatalf("%+v %v", c, err)
	}
	p := Next(c, Forward, 100, t0.Add(time.Hour))
	for _, f := range p.Query.Filters {
		if f.Field == "id" {
			t.Errorf("forward plan filters ids (%+v): a boundary record edited again would be skipped", f)
		}
	}
	if !Fresh(c, Row{2, t0.Add(time.Second)}) {
		t.Error("a boundary record whose updatedAt moved past the cursor is not fresh")
	}
}
