package oro

import "testing"

func TestCatchUpBudgetStartsWithOneRequestNotABurst(t *testing.T) {
	b := NewCatchUpBudget("t", 1000, nil)
	if got := b.lim.Burst(); got != 16 {
		t.Errorf("burst %d, want 16 (one second of 1,000 a minute)", got)
	}
	// Refill since construction adds a fraction of a token at most on a loaded machine; a full bucket would be 16.
	if tokens := b.lim.Tokens(); tokens >= 2 {
		t.Errorf("a fresh catch-up budget holds %.2f tokens, want about 1: a cold start must not burst", tokens)
	}
}

func TestCatchUpBurstIsOneSecondOfRequestsNeverNone(t *testing.T) {
	for perMinute, want := range map[float64]int{0: 1, 30: 1, 100: 1, 200: 3, 1000: 16, 6000: 100} {
		if got := CatchUpBurst(perMinute); got != want {
			t.Errorf("CatchUpBurst(%v) = %d, want %d", perMinute, got, want)
		}
	}
}
