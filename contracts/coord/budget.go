package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
)

// SharedBudget is a connection's Oro request budget shared by every process that sends its requests (the active
// poller and the active reconciler may run in different processes): each request is granted by a
// revision-checked update of one key, which counts the grants of the last window per second of the granting
// clock. So however many processes ask, no window (a minute) ever holds more than PerWindow grants, provided
// their clocks agree (NTP).
type SharedBudget struct {
	KV        jetstream.KeyValue
	Key       string
	PerWindow float64       // grants a window; ≥ 1
	Window    time.Duration // 0: a minute
	Now       func() time.Time
}

// BudgetKey is the key of connection tenant's shared budget.
func BudgetKey(tenant string) string { return contracts.BudgetKeyPrefix + "." + tenant }

// PollerLeaseKey and ReconcilerLeaseKey are the keys of a connection's poller and reconciler leases, among the
// keys each may write (contracts.Users).
func PollerLeaseKey(tenant string) string { return tenant + "._lease" }
func ReconcilerLeaseKey(tenant string) string {
	return contracts.ReconcilerKeyPrefix + "." + tenant + "._lease"
}

// grantsValue is the key's value: grants per second (Unix seconds of the granting clock).
type grantsValue struct {
	Seconds map[int64]int `json:"seconds"`
}

func (s *SharedBudget) window() time.Duration {
	if s.Window <= 0 {
		return time.Minute
	}
	return s.Window
}

func (s *SharedBudget) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Take waits until one request is granted.
func (s *SharedBudget) Take(ctx context.Context) error {
	for {
		wait, err := s.TryTake(ctx)
		if err != nil || wait == 0 {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// TryTake grants one request now (0), or says how long until the oldest grant leaves the window.
func (s *SharedBudget) TryTake(ctx context.Context) (time.Duration, error) {
	limit := int(math.Floor(s.PerWindow))
	if limit < 1 {
		return 0, fmt.Errorf("shared budget %s: %g a window allows no request", s.Key, s.PerWindow)
	}
	span := int64(math.Ceil(s.window().Seconds()))
	for {
		var v grantsValue
		var rev uint64
		e, err := s.KV.Get(ctx, s.Key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, fmt.Errorf("shared budget %s: %w", s.Key, err)
		default:
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), &v); err != nil {
				return 0, fmt.Errorf("shared budget %s is not valid: %w", s.Key, err)
			}
		}
		now := s.now()
		sec := now.Unix()
		used, oldest := 0, sec
		kept := make(map[int64]int, len(v.Seconds)+1)
		for at, n := range v.Seconds {
			if at < sec-span { // a grant of second at counts until a whole window after that second's end
				continue
			}
			kept[at] = n
			used += n
			oldest = min(oldest, at)
		}
		if used >= limit {
			return time.Unix(oldest+span+1, 0).Sub(now), nil
		}
		kept[sec]++
		b, _ := json.Marshal(grantsValue{Seconds: kept})
		if rev == 0 {
			_, err = s.KV.Create(ctx, s.Key, b)
		} else {
			_, err = s.KV.Update(ctx, s.Key, b, rev)
		}
		if isConflict(err) {
			continue // another process granted one meanwhile: count again
		}
		if err != nil {
			return 0, fmt.Errorf("shared budget %s: %w", s.Key, err)
		}
		return 0, nil
	}
}
