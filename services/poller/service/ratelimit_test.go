package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/poller/app"
)

// fastClock runs the simulator's clock k times faster than real time, so its per-minute rate limit windows pass
// in 60/k seconds; a budget of N per simulated minute is N·k per real minute.
type fastClock struct {
	start, realStart time.Time
	k                int
}

func (c fastClock) Now() time.Time {
	return c.start.Add(time.Since(c.realStart) * time.Duration(c.k))
}

func rateFixture(t *testing.T, contacts, limitPerSimMinute, k int) (fixture, fastClock) {
	fc := fastClock{start: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), realStart: time.Now(), k: k}
	sim := orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: contacts, Seed: 7, Now: fc.Now})
	sim.SetFaults(orosim.Faults{RateLimitPerMinute: limitPerSimMinute})
	f := fixtureFor(t, &clock{now: fc.start}, sim)
	return f, fc
}

func TestBudgetEqualToTheServersLimitNeverGets429(t *testing.T) {
	// A burst of 1 spaces every request; a catch-up burst (oro.CatchUpBurst: a second's worth at 1,000 a minute)
	// lets late requests use missed slots, and the budget's sliding window must still keep every minute at the limit.
	for _, burst := range []int{1, oro.CatchUpBurst(1000)} {
		t.Run(fmt.Sprintf("burst-%d", burst), func(t *testing.T) {
			const k = 10 // one simulated minute = 6 s (a faster clock turns network jitter into early arrivals)
			f, _ := rateFixture(t, 1300, 100, k)
			budget := oro.NewBudgetPer("acme", 100, time.Minute/k, burst, nil) // 100 per simulated minute
			oc := f.oroConfig()
			oc.Budget = budget
			var th int64
			f.run(t, oc, 10, nil, func(p app.Progress) {
				if st := budget.State(); st.Throttled != th {
					th = st.Throttled
					t.Logf("%+v %+v", p, st)
				}
			}) // > 130 list calls: more than one simulated minute at the limit
			if st := budget.State(); st.Throttled != 0 || st.Requests < 130 {
				t.Errorf("budget state %+v: want ≥ 130 requests and no 429", st)
			}
			if info := f.stream(t); info.State.NumSubjects != 1300 {
				t.Errorf("ORO_RAW holds %d contacts, want 1300", info.State.NumSubjects)
			}
		})
	}
}

func TestABudgetAboveTheServersLimit(t *testing.T) {
	// One simulated minute = 6 s: the limit of 50 a simulated minute (8/s) is well below what the poller sends even
	// on a loaded machine, and the budget is twice it (the seed's 100 and 200 a minute, halved).
	const k = 10
	f, _ := rateFixture(t, 1500, 50, k)
	budget := oro.NewBudgetPer("acme", 100, time.Minute/k, 1, nil)
	oc := f.oroConfig()
	oc.Budget = budget
	oc.Backoff.MaxRetryAfter = time.Minute / k // Retry-After counts simulated seconds; cap it at a simulated minute
	f.run(t, oc, 10, nil, nil)
	t.Run("backs off as Retry-After says", func(t *testing.T) {
		if st := budget.State(); st.Throttled == 0 {
			t.Errorf("budget state %+v: a budget twice the limit should have met 429s", st)
		}
	})
	t.Run("still reads every record", func(t *testing.T) {
		if info := f.stream(t); info.State.NumSubjects != 1500 || info.State.Msgs != 1500 {
			t.Errorf("ORO_RAW holds %d contacts in %d messages, want 1500", info.State.NumSubjects, info.State.Msgs)
		}
	})
}
