package orosim

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bigServer is a 100k-contact simulator with a token, for load-sized checks.
func bigServer(tb testing.TB) (*Server, string) {
	tb.Helper()
	clock := newFakeClock()
	sim := New(Config{ClientID: "c", ClientSecret: "s", Contacts: 100_000, Seed: 1, Now: clock.Now})
	return sim, sim.tokens.issue(clock.Now(), time.Hour)
}

func serve(tb testing.TB, sim *Server, token, target string, headers ...string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("%s: %d %s", target, rec.Code, rec.Body.String())
	}
	return rec
}

func TestHundredThousandContactsPageQuickly(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100k contacts")
	}
	sim, token := bigServer(t)
	for _, target := range []string{
		"/api/contacts?filter[updatedAt][gte]=2024-01-01&sort=updatedAt,id&page[size]=100&page[number]=50",
		"/api/contacts?sort=-updatedAt&page[size]=100",
		"/api/contacts?page[size]=100&page[number]=900",
	} {
		start := time.Now()
		serve(t, sim, token, target)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s took %v", target, d)
		}
	}
}

func BenchmarkListSortedByUpdatedAt100k(b *testing.B) {
	sim, token := bigServer(b)
	b.ResetTimer()
	for b.Loop() {
		serve(b, sim, token, "/api/contacts?filter[updatedAt][gte]=2024-01-01&sort=updatedAt,id&page[size]=100&page[number]=50")
	}
}

func BenchmarkListIDsOnlyUnlimited100k(b *testing.B) {
	sim, token := bigServer(b)
	b.ResetTimer()
	for b.Loop() {
		serve(b, sim, token, "/api/contacts?fields[contacts]=id&page[size]=-1")
	}
}

// millionServer is the 1,000,000-contact simulator of the scale figures,
// built once for all benchmarks that need it.
var millionServer = sync.OnceValues(func() (*Server, string) {
	clock := newFakeClock()
	sim := New(Config{ClientID: "c", ClientSecret: "s", Contacts: 1_000_000, Seed: 1, Now: clock.Now})
	runtime.GC() // settle the seeded heap before measuring requests
	return sim, sim.tokens.issue(clock.Now(), time.Hour)
})

// BenchmarkPageOf1000From1MContacts is the scale figure "a page of 1,000
// served in under 100 ms" with 1,000,000 contacts in memory.
func BenchmarkPageOf1000From1MContacts(b *testing.B) {
	sim, token := millionServer()
	for name, target := range map[string]string{
		"id-order-deep-page": "/api/contacts?page[size]=1000&page[number]=700",
		"keyset-recent":      "/api/contacts?filter[updatedAt][gte]=2024-05-25T00:00:00Z&sort=updatedAt,id&page[size]=1000",
		"ids-after-cursor":   "/api/contacts?fields[contacts]=id&filter[id][gt]=500000&page[size]=1000",
		"sort-all-updatedAt": "/api/contacts?sort=updatedAt,id&page[size]=1000&page[number]=3",
		"sort-all-desc":      "/api/contacts?sort=-updatedAt&page[size]=1000&page[number]=3",
		// What the poller sends: no per-relationship links.
		"keyset-recent-noHateoas": "/api/contacts?filter[updatedAt][gte]=2024-05-25T00:00:00Z&sort=updatedAt,id&page[size]=1000#noHateoas",
	} {
		b.Run(name, func(b *testing.B) {
			cpu := cpuTime()
			target, frag, _ := strings.Cut(target, "#")
			for b.Loop() {
				serve(b, sim, token, target, "X-Include", frag)
			}
			// Wall time suffers when other processes share the machine;
			// the process's CPU time per request does not.
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkStartup100kContacts is the scale figure "start-up with 100,000
// contacts under 10 s".
func BenchmarkStartup100kContacts(b *testing.B) {
	for b.Loop() {
		New(Config{Contacts: 100_000, Seed: 1})
	}
}

// BenchmarkStartup100kContactsWithCRM seeds every other type as well.
func BenchmarkStartup100kContactsWithCRM(b *testing.B) {
	counts := map[string]int{"b2bcustomers": 5000, "opportunities": 20000, "leads": 20000, "tasks": 30000,
		"calls": 30000, "notes": 30000, "emails": 10000, "cases": 10000}
	for b.Loop() {
		New(Config{Contacts: 100_000, Counts: counts, Seed: 1})
	}
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
