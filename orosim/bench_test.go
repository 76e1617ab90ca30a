package orosim

import (
	"net/http"
	"net/http/httptest"
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

func serve(tb testing.TB, sim *Server, token, target string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+token)
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
