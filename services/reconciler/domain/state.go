package domain

import "time"

// Breaker is a type's breaker state, kept in the key-value store for `orosync status` and released by
// `orosync reconcile --confirm`.
type Breaker struct {
	Tripped   bool      `json:"tripped"`
	Path      string    `json:"path,omitempty"` // audit or diff: the path that would have deleted too much
	Pass      string    `json:"pass,omitempty"`
	TrippedAt time.Time `json:"trippedAt"`
	Missing   int       `json:"missing"`
	Held      int       `json:"held"`
	Reason    string    `json:"reason,omitempty"`
	// Confirmed is the operator's release: the next pass may delete up to Missing records (more trips again).
	Confirmed   bool       `json:"confirmed"`
	ConfirmedAt *time.Time `json:"confirmedAt,omitempty"`
	ConfirmedBy string     `json:"confirmedBy,omitempty"`
}

// Allows reports whether an operator's confirmation covers deleting n records.
func (b Breaker) Allows(n int) bool { return b.Tripped && b.Confirmed && n <= b.Missing }

// AuditCursor is how far the audit fast path read a type's removes.
type AuditCursor struct {
	LoggedAt time.Time `json:"loggedAt"`
	LastID   int64     `json:"lastId"`
	// Unavailable says why the audit log cannot be read (403: the API user lacks oro_dataaudit_view); the diff
	// path alone then finds deletions.
	Unavailable string `json:"unavailable,omitempty"`
}

// Since is where the next audit read starts: lag before the cursor, because Oro writes audit rows through its
// message queue and a row can appear after later ones were read. With no cursor yet, lookback before now.
func (c AuditCursor) Since(now time.Time, lag, lookback time.Duration) time.Time {
	if c.LoggedAt.IsZero() {
		return now.Add(-lookback)
	}
	return c.LoggedAt.Add(-lag)
}

// Advance moves the cursor to the newest entry read.
func (c AuditCursor) Advance(id int64, at time.Time) AuditCursor {
	if at.After(c.LoggedAt) {
		c.LoggedAt = at.UTC()
	}
	c.LastID = max(c.LastID, id)
	c.Unavailable = ""
	return c
}

// Repairs are the versions (Oro id → updatedAt) a pass published again because Mercato held an older one. A
// version is repaired once: if its repair does not land either (the transformer dead-letters it, say), the dead
// letter says why, and the next passes leave it alone until Oro has a newer one.
type Repairs map[uint64]time.Time

// Due splits the stale versions a pass found into those to repair and the repairs to keep: versions repaired before
// are not repaired again, and repairs of versions no longer stale are forgotten.
func (r Repairs) Due(stale []HeldID) (due []uint64, next Repairs) {
	next = make(Repairs, len(stale))
	for _, s := range stale {
		if at, done := r[s.N]; !done || !at.Equal(s.UpdatedAt) {
			due = append(due, s.N)
		}
		next[s.N] = s.UpdatedAt
	}
	return due, next
}
