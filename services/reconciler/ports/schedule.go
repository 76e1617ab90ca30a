// Package ports drives the reconciler: a schedule of audit rounds every interval and full diffs every interval or
// in cron-style windows, never overlapping.
package ports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule runs Round (audit path every Audit; with diff true when a diff is due) until ctx is done.
type Schedule struct {
	// Audit is the period of the audit fast path.
	Audit time.Duration
	// Diff is the next full diff after a time (Every or Cron).
	Diff  func(after time.Time) time.Time
	Round func(ctx context.Context, diff bool)
	// FirstDiffNow runs a diff in the first round (interval schedules); a cron window waits for its time.
	FirstDiffNow bool
	Now          func() time.Time
}

// Every is a diff schedule of a fixed interval after the end of the previous one.
func Every(d time.Duration) func(time.Time) time.Time {
	return func(t time.Time) time.Time { return t.Add(d) }
}

// Cron parses a cron spec (five fields, or descriptors such as @daily; CRON_TZ=Europe/Warsaw prefix for a zone)
// into a diff schedule: off-peak windows such as "0 2-5 * * *".
func Cron(spec string) (func(time.Time) time.Time, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("diff schedule %q: %w", spec, err)
	}
	return s.Next, nil
}

// Run returns nil when ctx is done.
func (s Schedule) Run(ctx context.Context) error {
	if s.Audit <= 0 || s.Diff == nil || s.Round == nil {
		return errors.New("schedule: a positive audit interval, a diff schedule and a round are required")
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	nextDiff := s.Diff(now())
	if s.FirstDiffNow {
		nextDiff = now()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		diff := !now().Before(nextDiff)
		s.Round(ctx, diff)
		end := now()
		if diff {
			nextDiff = s.Diff(end)
		}
		wait := min(s.Audit, max(nextDiff.Sub(end), 0))
		timer.Reset(wait)
	}
}
