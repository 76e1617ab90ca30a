package domain

import "time"

// SyncProgress is how far a run of one type has come and when it should be done, from Oro's total count
// (X-Include: totalCount on the run's first page) and the records read so far.
type SyncProgress struct {
	Strategy  Strategy  `json:"strategy,omitempty"`
	Total     int64     `json:"total"` // records the run has to read; -1 unknown
	Done      int64     `json:"done"`
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	CaughtUp  bool      `json:"caughtUp"`
	// PerSecond is the run's average rate; ETA the time left at that rate (0 when unknown or caught up).
	PerSecond float64       `json:"perSecond"`
	ETA       time.Duration `json:"eta"`
}

// Percent is Done of Total, -1 when the total is unknown.
func (p SyncProgress) Percent() float64 {
	if p.Total <= 0 {
		return -1
	}
	return min(100, 100*float64(p.Done)/float64(p.Total))
}

// Step records a page: done records so far in the run (total is kept from the first page that knew it).
func (p SyncProgress) Step(total, done int64, caughtUp bool, now time.Time) SyncProgress {
	if p.StartedAt.IsZero() {
		p.StartedAt = now
	}
	if total >= 0 {
		p.Total = total
	}
	p.Done, p.CaughtUp, p.UpdatedAt = done, caughtUp, now
	p.PerSecond, p.ETA = 0, 0
	if secs := now.Sub(p.StartedAt).Seconds(); secs > 0 {
		p.PerSecond = float64(done) / secs
	}
	if !caughtUp && p.Total > done && p.PerSecond > 0 {
		p.ETA = time.Duration(float64(p.Total-done) / p.PerSecond * float64(time.Second))
	}
	return p
}
