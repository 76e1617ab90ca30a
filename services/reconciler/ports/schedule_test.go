package ports

import (
	"context"
	"testing"
	"time"
)

func TestCronWindowsScheduleTheNextDiffOffPeak(t *testing.T) {
	next, err := Cron("CRON_TZ=UTC 0 2-4 * * *")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 13, 30, 0, 0, time.UTC)
	for _, want := range []time.Time{
		time.Date(2026, 1, 3, 2, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 3, 3, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 3, 4, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 4, 2, 0, 0, 0, time.UTC),
	} {
		at = next(at)
		if !at.Equal(want) {
			t.Fatalf("next %v, want %v", at, want)
		}
	}
	for _, bad := range []string{"", "every night", "61 * * * *"} {
		if _, err := Cron(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSchedule(t *testing.T) {
	// A fake clock that moves a second per round: a diff 3 s after the end of the previous one, audit rounds between.
	clock := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	var kinds []bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := Schedule{Audit: time.Nanosecond, Diff: func(t time.Time) time.Time { return t.Add(3 * time.Second) }, FirstDiffNow: true,
		Now: func() time.Time { return clock },
		Round: func(ctx context.Context, diff bool) {
			kinds = append(kinds, diff)
			clock = clock.Add(time.Second)
			if len(kinds) == 7 {
				cancel()
			}
		}}
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("runs audit rounds between diffs, one at a time", func(t *testing.T) {
		want := []bool{true, false, false, false, true, false, false}
		for i := range want {
			if kinds[i] != want[i] {
				t.Fatalf("rounds (diff?) %v, want %v", kinds, want)
			}
		}
	})
	t.Run("refuses to run empty", func(t *testing.T) {
		if (Schedule{}).Run(ctx) == nil {
			t.Error("an empty schedule ran")
		}
	})
}
