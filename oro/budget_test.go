package oro

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		runtime.Gosched()
	}
}

func TestDeltaPollsAreServedBeforeAWaitingScan(t *testing.T) {
	b := NewBudgetPer("t", 1, 50*time.Millisecond, 1, nil)
	ctx := context.Background()
	release, err := b.Wait(ctx, PriorityDelta) // empties the bucket
	if err != nil {
		t.Fatal(err)
	}
	release()
	var mu sync.Mutex
	var order []Priority
	var wg sync.WaitGroup
	start := func(p Priority) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := b.Wait(ctx, p)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, p)
			mu.Unlock()
			rel()
		}()
	}
	for range 3 {
		start(PriorityDelta)
	}
	waitFor(t, func() bool { return b.State().Waiting["delta"] == 3 })
	start(PriorityScan)
	wg.Wait()
	if len(order) != 4 || order[3] != PriorityScan {
		t.Fatalf("served in order %v; want the scan after every delta poll", order)
	}
}

func TestRetryAfterPausesEveryCallerOfTheConnection(t *testing.T) {
	b := NewBudget("t", 0, 1, nil)
	b.Pause(150*time.Millisecond, "429 Too Many Requests, Retry-After 150ms")
	st := b.State()
	if st.PausedUntil.IsZero() || st.Reason == "" || st.Throttled != 1 {
		t.Fatalf("state %+v: want the pause and its reason visible", st)
	}
	began := time.Now()
	rel, err := b.Wait(context.Background(), PriorityScan)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if waited := time.Since(began); waited < 140*time.Millisecond {
		t.Errorf("waited %s through a 150ms pause", waited)
	}
}

func TestSlidingWindowNeverAdmitsMoreThanTheBudget(t *testing.T) {
	b := NewBudgetPer("t", 5, 200*time.Millisecond, 5, nil)
	var sent []time.Time
	for range 12 {
		rel, err := b.Wait(context.Background(), PriorityDelta)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, time.Now())
		rel()
	}
	for i := 5; i < len(sent); i++ {
		if d := sent[i].Sub(sent[i-5]); d < 200*time.Millisecond {
			t.Errorf("requests %d and %d only %s apart: 6 in one 200ms window", i-5, i, d)
		}
	}
}

func TestBackoffGrowsExponentiallyWithJitterUpToTheMaximum(t *testing.T) {
	bo := Backoff{Base: 100 * time.Millisecond, Max: time.Second}.withDefaults()
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 6: time.Second} {
		lo, hi := bo.delay(n, 0), bo.delay(n, 0.999999)
		if lo != want/2 || hi > want || hi < want*99/100 {
			t.Errorf("retry %d: delay in [%s, %s]; want [%s, %s]", n, lo, hi, want/2, want)
		}
	}
}
