package domain

import (
	"testing"
	"time"
)

func TestSupersedeMakesAChangeThatKeptItsUpdatedAtNewerThanTheLastVersion(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ptr := func(t time.Time) *time.Time { return &t }
	for name, c := range map[string]struct {
		updated    *time.Time
		last, now  time.Time
		want       time.Time
		supersedes bool
	}{
		"same updatedAt: Oro's clock":        {ptr(t0), t0, t0.Add(90*time.Second + 300*time.Millisecond), t0.Add(90 * time.Second), true},
		"older than the last: Oro's clock":   {ptr(t0.Add(-time.Hour)), t0, t0.Add(time.Minute), t0.Add(time.Minute), true},
		"Oro's clock behind: a second later": {ptr(t0), t0, t0.Add(-time.Minute), t0.Add(time.Second), true},
		"already newer":                      {ptr(t0.Add(time.Second)), t0, t0.Add(time.Minute), time.Time{}, false},
		"no updatedAt (emails)":              {nil, t0, t0.Add(time.Minute), time.Time{}, false},
		"nothing published before it":        {ptr(t0), time.Time{}, t0.Add(time.Minute), time.Time{}, false},
	} {
		got, ok := Supersede(c.updated, c.last, c.now)
		if ok != c.supersedes || !got.Equal(c.want) {
			t.Errorf("%s: %v %v, want %v %v", name, got, ok, c.want, c.supersedes)
		}
	}
}
