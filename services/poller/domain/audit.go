package domain

import (
	"slices"
	"time"
)

// AuditMark is an audit row already handled: its id and loggedAt.
type AuditMark struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
}

// maxAuditMarks bounds the overlap set kept in the cursor: past it the oldest marks are dropped, which only
// means a row may be handled twice (a re-fetch whose publish is de-duplicated by its Nats-Msg-Id).
const maxAuditMarks = 5000

// AuditFrom is the loggedAt the next audit read starts at: the cursor's minus the overlap window.
func AuditFrom(c Cursor, overlap time.Duration) time.Time {
	if c.AuditSince.IsZero() {
		return time.Time{}
	}
	return c.AuditSince.Add(-overlap)
}

// AuditSeen says whether an audit row was handled already.
func AuditSeen(c Cursor, id int64) bool {
	return slices.ContainsFunc(c.AuditSeen, func(m AuditMark) bool { return m.ID == id })
}

// AuditAdvance records handled audit rows: AuditSince moves to the latest loggedAt seen, and the marks keep only
// rows inside the overlap window before it.
func AuditAdvance(c Cursor, rows []AuditMark, overlap time.Duration) Cursor {
	marks := slices.Clone(c.AuditSeen)
	for _, r := range rows {
		if r.At.After(c.AuditSince) {
			c.AuditSince = r.At.UTC()
		}
		if !slices.ContainsFunc(marks, func(m AuditMark) bool { return m.ID == r.ID }) {
			marks = append(marks, AuditMark{ID: r.ID, At: r.At.UTC()})
		}
	}
	from := c.AuditSince.Add(-overlap)
	marks = slices.DeleteFunc(marks, func(m AuditMark) bool { return m.At.Before(from) })
	slices.SortFunc(marks, func(a, b AuditMark) int { return a.At.Compare(b.At) })
	if len(marks) > maxAuditMarks {
		marks = marks[len(marks)-maxAuditMarks:]
	}
	c.AuditSeen = marks
	return c
}
