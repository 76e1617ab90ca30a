// Package ports drives the reconciler: a schedule that runs a pass, waits an interval, and runs the next.
package ports

import (
	"context"
	"errors"
	"time"
)

// Schedule runs Pass at once and then Interval after the end of each pass, so passes never overlap, until ctx is
// done. A failed pass is the pass's business (it logs and reports); the schedule goes on.
type Schedule struct {
	Interval time.Duration
	Pass     func(ctx context.Context)
}

// Run returns nil when ctx is done.
func (s Schedule) Run(ctx context.Context) error {
	if s.Interval <= 0 || s.Pass == nil {
		return errors.New("schedule: a positive interval and a pass are required")
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		s.Pass(ctx)
		timer.Reset(s.Interval)
	}
}
