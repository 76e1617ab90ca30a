// Package domain holds the poller's paging rules: a keyset cursor on (updatedAt, id). Pure logic, no I/O.
package domain

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/orosync/orosync/oro"
)

// Cursor marks how far a type has been read: every record with (updatedAt, id) <= (UpdatedAt, LastID) has been
// published and acknowledged. Keyset, not offset: edits during paging move records to the end of the order, where
// the cursor will still find them, instead of shifting a page boundary over them.
type Cursor struct {
	UpdatedAt time.Time `json:"updatedAt"`
	LastID    int64     `json:"lastId"`
	// Done counts records published so far in the current run (progress; not part of the position).
	Done int64 `json:"done,omitempty"`
	// Boundary lists every id read at second UpdatedAt (at most MaxBoundary; nil: not known, as in cursors
	// saved before it existed or after a second with more rows). The inclusive read returns them again and Fresh
	// drops them, so a row of that second committed late with a lower id is still read. They are not excluded
	// in the query: Oro cannot scope filter[id][neq] to one second, and a boundary record edited again later
	// would be skipped.
	Boundary []int64 `json:"boundary,omitempty"`

	// Strategy is the delta strategy the position below belongs to (empty: keyset, as before strategies).
	Strategy Strategy `json:"strategy,omitempty"`
	// ScanID is the last id read by the current id-ordered pass (hash scan, audit-log baseline), so a crash
	// resumes mid-pass; 0 between passes.
	ScanID int64 `json:"scanId,omitempty"`
	// PassedAt is when the last id-ordered hash-scan pass ended (the parts scan's schedule).
	PassedAt time.Time `json:"passedAt,omitzero"`
	// Baseline says the audit-log strategy's first full pass is done (the audit log only has what changed
	// after it was switched on, so every record is read once first).
	Baseline bool `json:"baseline,omitempty"`
	// AuditSince is the loggedAt up to which the audit log has been read; AuditSeen the audit rows already
	// handled in the overlap window before it (rows are re-read from AuditSince minus the overlap, because Oro
	// writes them through its message queue and a late row can carry an earlier loggedAt).
	AuditSince time.Time   `json:"auditSince,omitzero"`
	AuditSeen  []AuditMark `json:"auditSeen,omitempty"`
}

// Phase of the next request.
type Phase int

const (
	// Ties drains records sharing the cursor's updatedAt whose id is above LastID (Oro cannot filter on the pair,
	// so ties are read as updatedAt = T, id > LastID, sorted by id). Needed only when a whole page shares one
	// second; otherwise Forward's inclusive bound covers the ties.
	Ties Phase = iota
	// Forward reads records with updatedAt >= the cursor's (inclusive, so records sharing the boundary second
	// are never skipped), sorted by (updatedAt, id); the boundary rows already read (id <= LastID at that
	// second) are dropped by Fresh. One request per page.
	Forward
	// Past reads like Forward but strictly after the cursor's second: after Ties drained a second, the rows of
	// that second must not fill the next page again.
	Past
)

// Plan is the next request.
type Plan struct {
	Phase Phase
	Query oro.Query
}

// TimeFormat is how updatedAt values are sent: Oro keeps seconds, and a second-precision value filters the exact
// second (partial precision would widen it).
const TimeFormat = "2006-01-02T15:04:05Z"

// Next plans the request after cursor c. upper caps updatedAt (Oro's server time minus a safety lag) so records
// whose transactions are still committing are read on a later round rather than skipped.
func Next(c Cursor, phase Phase, pageSize int, upper time.Time) Plan {
	lte := oro.Filter{Field: "updatedAt", Op: "lte", Value: upper.UTC().Format(TimeFormat)}
	if phase == Ties {
		return Plan{Phase: Ties, Query: oro.Query{
			Filters:  []oro.Filter{{Field: "updatedAt", Op: "eq", Value: c.UpdatedAt.UTC().Format(TimeFormat)}, {Field: "id", Op: "gt", Value: strconv.FormatInt(c.LastID, 10)}},
			Sort:     []string{"id"},
			PageSize: pageSize,
		}}
	}
	q := oro.Query{Sort: []string{"updatedAt", "id"}, PageSize: pageSize, Filters: []oro.Filter{lte}}
	if !c.UpdatedAt.IsZero() {
		op := "gte"
		if phase == Past {
			op = "gt"
		}
		q.Filters = append(q.Filters, oro.Filter{Field: "updatedAt", Op: op, Value: c.UpdatedAt.UTC().Format(TimeFormat)})
	}
	if phase != Past {
		phase = Forward
	}
	return Plan{Phase: phase, Query: q}
}

// Row is what the cursor needs of a record.
type Row struct {
	ID        int64
	UpdatedAt time.Time
}

// Fresh says whether a row of a Forward page is new: after the cursor, not one of the boundary rows the inclusive
// lower bound returns again.
func Fresh(c Cursor, r Row) bool {
	if c.Boundary != nil && r.UpdatedAt.Equal(c.UpdatedAt) {
		return !slices.Contains(c.Boundary, r.ID)
	}
	return r.UpdatedAt.After(c.UpdatedAt) || (r.UpdatedAt.Equal(c.UpdatedAt) && r.ID > c.LastID)
}

// MaxBoundary bounds Cursor.Boundary (saved with the cursor after every page).
const MaxBoundary = 100

// Advance moves the cursor past a page of fresh rows (in the order they were requested) and says which phase
// comes next and whether the type is caught up. full says the page was as large as requested (more may follow),
// counting the boundary rows dropped.
func Advance(c Cursor, phase Phase, rows []Row, full bool) (next Cursor, nextPhase Phase, caughtUp bool, err error) {
	for i, r := range rows {
		if !Fresh(c, r) {
			return c, phase, false, fmt.Errorf("row %d (id %d, updatedAt %s) is not after the cursor (%s, %d): Oro did not honour the sort or filter",
				i, r.ID, r.UpdatedAt.Format(time.RFC3339), c.UpdatedAt.Format(time.RFC3339), c.LastID)
		}
		switch {
		case r.UpdatedAt.After(c.UpdatedAt):
			c.UpdatedAt, c.LastID, c.Boundary = r.UpdatedAt, r.ID, []int64{r.ID}
		case c.Boundary != nil && len(c.Boundary) < MaxBoundary:
			// Same second: with a known boundary a row below LastID can be one committed late; it is new.
			c.LastID = max(c.LastID, r.ID)
			c.Boundary = append(slices.Clip(c.Boundary), r.ID)
		default:
			c.LastID, c.Boundary = r.ID, nil // too many at one second: the inclusive read and Ties take over
		}
		c.Done++
	}
	switch {
	case phase == Ties && full:
		return c, Ties, false, nil // more ties at the same second
	case phase == Ties:
		return c, Past, false, nil
	case len(rows) == 0 && full:
		// A full page of boundary rows only: more records share the cursor's second than a page holds.
		return c, Ties, false, nil
	case !full:
		// A short page returned everything up to the upper bound: caught up without asking for an empty page.
		return c, Forward, true, nil
	default:
		return c, Forward, false, nil
	}
}

// ParseID reads an Oro id; the poller's types all have integer ids.
func ParseID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("id %q is not a positive integer", id)
	}
	return n, nil
}
