package service_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
)

// BenchmarkInitialSyncOfAMillionContacts runs the poller as its own process (so its RSS is its own) through an
// initial sync of 1,000,000 contacts (-long; 100,000 otherwise) with Oro's page limit at 1,000: once with the
// simulator limited to 1,000 requests a minute and the same budget, once without limits. It reports the list calls
// the simulator counted, the budget use, 429s, records/s and the poller's peak RSS.
func BenchmarkInitialSyncOfAMillionContacts(b *testing.B) {
	contacts := 100_000
	if *long {
		contacts = 1_000_000
	}
	for _, tc := range []struct {
		name  string
		limit int
	}{{"limit-1000-per-min", 1000}, {"unlimited", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				// The simulator runs on the real clock: its rate limit is a sliding window of its clock.
				f := fixtureFor(b, nil, orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: contacts, Seed: 7,
					MaxEntities: 1000}))
				f.sim.SetFaults(orosim.Faults{RateLimitPerMinute: tc.limit})
				b.StartTimer()
				began := time.Now()
				cmd := childCommand(b, f, 1000, float64(tc.limit))
				out, err := cmd.Output()
				elapsed := time.Since(began)
				if err != nil {
					b.Fatalf("poller: %v", err)
				}
				b.StopTimer()
				var st oro.BudgetState
				rssKB := -1.0
				for l := range strings.Lines(string(out)) {
					if js, ok := strings.CutPrefix(l, "budget "); ok {
						_ = json.Unmarshal([]byte(js), &st)
					}
					if v, ok := strings.CutPrefix(l, "rss-kb "); ok {
						rssKB, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
					}
				}
				calls := f.sim.Requests()["GET /api/contacts"]
				b.Logf("%d contacts in %s: %d list calls, %d 429s, peak RSS %.0f MB", contacts, elapsed, calls, st.Throttled, rssKB/1024)
				// The stream holds only this run's contacts: its totals are the check (listing a million subjects
				// would time out).
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				st2, err := f.js.Stream(ctx, events.StreamOroRaw)
				if err != nil {
					b.Fatal(err)
				}
				info, err := st2.Info(ctx)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if info.State.NumSubjects != uint64(contacts) || info.State.Msgs != uint64(contacts) {
					b.Fatalf("ORO_RAW holds %d contacts in %d messages, want %d each", info.State.NumSubjects, info.State.Msgs, contacts)
				}
				b.ReportMetric(float64(calls), "list-calls")
				b.ReportMetric(float64(st.Throttled), "429s")
				b.ReportMetric(float64(contacts)/elapsed.Seconds(), "records/s")
				b.ReportMetric(rssKB/1024, "poller-RSS-MB")
				if tc.limit > 0 {
					b.ReportMetric(100*float64(calls)/(elapsed.Minutes()*float64(tc.limit)), "budget-use-%")
				}
			}
		})
	}
}
