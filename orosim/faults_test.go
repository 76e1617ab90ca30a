package orosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRateLimitAnswers429WithRetryAfterOnceTheMinuteIsFull(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	h.sim.SetFaults(Faults{RateLimitPerMinute: 3})
	start := h.clock.Now()
	for i, at := range []time.Duration{0, 30 * time.Second, 40 * time.Second} {
		h.clock.Set(start.Add(at))
		if resp, body := h.get("/api/contacts"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d %s", i, resp.StatusCode, body)
		}
	}
	h.clock.Set(start.Add(50 * time.Second))
	resp, _ := h.get("/api/contacts")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "10" {
		t.Fatalf("4th request in a minute: status %d Retry-After %q, want 429 and 10", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The first request leaves the sliding window after 60 s.
	h.clock.Set(start.Add(60 * time.Second))
	if resp, _ := h.get("/api/contacts"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the window slid: status %d", resp.StatusCode)
	}
	if resp, _ := h.get("/api/contacts"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("window full again: status %d", resp.StatusCode)
	}
}

func TestRateLimitCountsEachClientSeparately(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	h.sim.SetFaults(Faults{RateLimitPerMinute: 1})
	call := func(addr, auth string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/contacts", nil)
		req.RemoteAddr = addr
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.sim.ServeHTTP(rec, req)
		return rec.Code
	}
	// Anonymous requests count against the remote address.
	if got := call("10.0.0.1:1000", ""); got != http.StatusUnauthorized {
		t.Fatalf("first anonymous: %d", got)
	}
	if got := call("10.0.0.1:1001", ""); got != http.StatusTooManyRequests {
		t.Fatalf("second anonymous from the same host: %d", got)
	}
	if got := call("10.0.0.2:1000", ""); got != http.StatusUnauthorized {
		t.Fatalf("another host: %d", got)
	}
	// A token counts against its client, wherever it comes from.
	bearer := "Bearer " + h.token
	if got := call("10.0.0.1:1002", bearer); got != http.StatusOK {
		t.Fatalf("client's first request: %d", got)
	}
	if got := call("10.0.0.3:1000", bearer); got != http.StatusTooManyRequests {
		t.Fatalf("client's second request from elsewhere: %d", got)
	}
}

func TestErrorRateFaultsAreServerErrorsRepeatableFromTheSeed(t *testing.T) {
	statuses := func() []int {
		h := newHarness(t, Config{Contacts: 2, Seed: 7, Faults: Faults{ErrorRate: 0.5}})
		var out []int
		for range 40 {
			resp, body := h.get("/api/contacts")
			out = append(out, resp.StatusCode)
			switch resp.StatusCode {
			case http.StatusOK, http.StatusInternalServerError, http.StatusBadGateway:
			case http.StatusServiceUnavailable:
				if resp.Header.Get("Retry-After") == "" {
					t.Errorf("503 without Retry-After")
				}
			default:
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
		}
		return out
	}
	a, b := statuses(), statuses()
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	seen := map[int]int{}
	for _, s := range a {
		seen[s]++
	}
	if seen[200] < 8 || seen[200] > 32 || seen[500]+seen[502]+seen[503] < 8 {
		t.Errorf("error rate 0.5 over 40 requests gave %v", seen)
	}
}

func TestErrorRateSparesTheTokenEndpoint(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1, Faults: Faults{ErrorRate: 1}})
	h.token = h.fetchToken() // fatal unless 200
	if resp, _ := h.get("/api/contacts"); resp.StatusCode < 500 {
		t.Errorf("API status %d with error rate 1", resp.StatusCode)
	}
}

func TestLatencyDelaysAPIResponses(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	h.sim.SetFaults(Faults{Latency: 40 * time.Millisecond})
	began := time.Now()
	h.getDoc("/api/contacts", http.StatusOK)
	if took := time.Since(began); took < 40*time.Millisecond {
		t.Errorf("response after %v, want at least 40ms", took)
	}
}

func TestTruncatedListBody(t *testing.T) {
	h := newHarness(t, Config{Contacts: 20})
	_, full := h.get("/api/contacts")
	h.sim.SetFaults(Faults{TruncateRate: 1})
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/api/contacts", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading a truncated body: %v", err)
	}
	t.Run("has no length, closes the connection", func(t *testing.T) {
		if resp.StatusCode != http.StatusOK || resp.ContentLength != -1 || !resp.Close {
			t.Errorf("status %d Content-Length %d close %v, want 200, unknown length, connection close", resp.StatusCode, resp.ContentLength, resp.Close)
		}
	})
	t.Run("is the first half", func(t *testing.T) {
		if len(body) != len(full)/2 || string(body) != string(full[:len(full)/2]) || json.Valid(body) {
			t.Errorf("got %d bytes of a %d-byte body, want the first half", len(body), len(full))
		}
	})
	// Single resources are not lists; they are not cut.
	t.Run("spares single resources", func(t *testing.T) {
		h.getDoc("/api/contacts/1", http.StatusOK)
	})
}

func TestMalformedListBodyIsInvalidJSON(t *testing.T) {
	h := newHarness(t, Config{Contacts: 5, Faults: Faults{MalformedRate: 1}})
	resp, body := h.get("/api/contacts")
	if resp.StatusCode != http.StatusOK || json.Valid(body) {
		t.Errorf("status %d, valid JSON %v: %s", resp.StatusCode, json.Valid(body), body)
	}
	// Errors are not damaged.
	h.getDoc("/api/contacts?filter[nope]=1", http.StatusBadRequest)
}

func TestClockSkewShiftsTheDateHeader(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1, Faults: Faults{ClockSkew: -90 * time.Second}})
	_, resp := h.getDoc("/api/contacts", http.StatusOK)
	want := h.clock.Now().Add(-90 * time.Second).Format(http.TimeFormat)
	if got := resp.Header.Get("Date"); got != want {
		t.Errorf("Date %q, want %q", got, want)
	}
}

func TestAuditForbiddenAnswers403(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1, Faults: Faults{AuditForbidden: true}})
	resp, body := h.get("/api/rest/latest/audits")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	h.getDoc("/api/contacts", http.StatusOK) // JSON:API is still allowed
}

func TestDriftEditsRecordsAfterEachListPage(t *testing.T) {
	h := newHarness(t, Config{Contacts: 50, Faults: Faults{DriftEditsPerPage: 3}})
	h.clock.Advance(time.Hour)
	h.token = h.fetchToken()
	now := h.clock.Now().Format(oroDateTime)
	h.getDoc("/api/contacts?page[size]=5", http.StatusOK, "X-Include", "noHateoas")
	h.sim.SetFaults(Faults{})
	edited := h.listIDs("/api/contacts?page[size]=-1&filter[updatedAt]=" + now)
	if len(edited) == 0 || len(edited) > 3 {
		t.Fatalf("edited after one page: %v, want 1..3 records", edited)
	}
	// Drift edits are real edits: audited, by another user.
	var rows []map[string]any
	getJSON(t, h, "/api/rest/latest/audits?action=update&limit=100", &rows)
	if len(rows) != len(edited) || rows[0]["user"] != float64(driftUser) {
		t.Errorf("audit rows %v for edits %v", rows, edited)
	}
}

func TestFaultsSwitchAtRunTimeThroughAdmin(t *testing.T) {
	h := newHarness(t, Config{Contacts: 2})
	want := Faults{RateLimitPerMinute: 100, ErrorRate: 0.25, Latency: time.Millisecond, TruncateRate: 0.1,
		MalformedRate: 0.2, ClockSkew: time.Minute, AuditForbidden: true, DriftEditsPerPage: 2, DeepRecords: []string{"contacts/1"}}
	b, _ := json.Marshal(want)
	if resp, body := h.do(http.MethodPut, "/__admin/faults", strings.NewReader(string(b))); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	if got := h.sim.Faults(); !reflect.DeepEqual(got, want) {
		t.Errorf("faults %+v, want %+v", got, want)
	}
	_, body := h.do(http.MethodGet, "/__admin/faults", nil)
	var got Faults
	if err := json.Unmarshal(body, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GET: %s (%v)", body, err)
	}
	if resp, _ := h.get("/api/rest/latest/audits"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("audits with the fault on: %d", resp.StatusCode)
	}
	h.do(http.MethodPut, "/__admin/faults", strings.NewReader(`{}`))
	if resp, _ := h.get("/api/rest/latest/audits"); resp.StatusCode != http.StatusOK {
		t.Errorf("audits with faults off: %d", resp.StatusCode)
	}
	if resp, _ := h.do(http.MethodPut, "/__admin/faults", strings.NewReader(`{"errorRat":1}`)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("misspelt fault: %d, want 400", resp.StatusCode)
	}
}

func TestRequestsAreCountedPerEndpoint(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	h.get("/api/contacts")
	h.get("/api/contacts?page[number]=2")
	h.get("/api/contacts/1")
	h.get("/api/contacts/2")
	h.get("/api/rest/latest/audits?page=1")
	h.do(http.MethodPost, "/__admin/contacts", strings.NewReader(`{"firstName":"A"}`))
	want := map[string]int{
		"POST /oauth2-token":          1,
		"GET /api/contacts":           2,
		"GET /api/contacts/{id}":      2,
		"GET /api/rest/latest/audits": 1,
	}
	if got := h.sim.Requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	var got map[string]int
	_, body := h.do(http.MethodGet, "/__admin/requests", nil)
	if err := json.Unmarshal(body, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GET /__admin/requests: %s", body)
	}
}

func TestEndpointPatterns(t *testing.T) {
	s := New(Config{})
	for path, want := range map[string]string{
		"/api/contacts":                          "/api/contacts",
		"/api/contacts/7":                        "/api/contacts/{id}",
		"/api/contacts/7/accounts":               "/api/contacts/{id}/accounts",
		"/api/contacts/7/relationships/accounts": "/api/contacts/{id}/relationships/accounts",
		"/api/rest/latest/audits":                "/api/rest/latest/audits",
		"/api/rest/latest/audits/3":              "/api/rest/latest/audits/{id}",
		"/oauth2-token":                          "/oauth2-token",
	} {
		if got := s.endpointPattern(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

// getJSON GETs an authenticated path, requires 200 and decodes the body.
func getJSON(t *testing.T, h *harness, path string, v any) {
	t.Helper()
	resp, body := h.get(path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func TestFaultsJSONTakesDurationsAsStringsOrNanoseconds(t *testing.T) {
	var f Faults
	if err := json.Unmarshal([]byte(`{"latency":"250ms","clockSkew":-5000000000,"errorRate":0.1}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.Latency != 250*time.Millisecond || f.ClockSkew != -5*time.Second || f.ErrorRate != 0.1 {
		t.Errorf("%+v", f)
	}
	if err := json.Unmarshal([]byte(`{"latency":"soon"}`), &f); err == nil {
		t.Error("bad duration accepted")
	}
	if err := json.Unmarshal([]byte(`{"latncy":1}`), &f); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestDeepRecordIsListedWithAValueNestedDeeperThanDecodersGo(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3, Faults: Faults{DeepRecords: []string{"contacts/2"}}})
	resp, body := h.get("/api/contacts")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if json.Valid(body) || !bytes.Contains(body, []byte(`"deepValue":`+strings.Repeat("[", DeepLevels)+"]")) {
		t.Fatalf("the list is valid JSON or lacks the deep value: %.200s", body)
	}
	h.sim.SetFaults(Faults{})
	if _, body := h.get("/api/contacts"); !json.Valid(body) {
		t.Fatal("the list stays deep after the fault is off")
	}
}
