package orosim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testClientID     = "sync-client"
	testClientSecret = "s3cr3t"
)

// fakeClock is a controllable Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a simulator behind a real HTTP server with a token.
type harness struct {
	t     *testing.T
	sim   *Server
	srv   *httptest.Server
	clock *fakeClock
	token string
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	clock := newFakeClock()
	if cfg.ClientID == "" {
		cfg.ClientID, cfg.ClientSecret = testClientID, testClientSecret
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	sim := New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	h := &harness{t: t, sim: sim, srv: srv, clock: clock}
	h.token = h.fetchToken()
	return h
}

func (h *harness) fetchToken() string {
	h.t.Helper()
	resp, body := h.do(http.MethodPost, "/oauth2-token", strings.NewReader(url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {testClientID},
		"client_secret": {testClientSecret},
	}.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("token: status %d body %s", resp.StatusCode, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		h.t.Fatalf("token body %s: %v", body, err)
	}
	return tok.AccessToken
}

// do sends a request; headers are given as name, value pairs.
func (h *harness) do(method, path string, body io.Reader, headers ...string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// get sends an authenticated JSON:API GET.
func (h *harness) get(path string, headers ...string) (*http.Response, []byte) {
	h.t.Helper()
	headers = append([]string{"Authorization", "Bearer " + h.token, "Accept", mediaType}, headers...)
	return h.do(http.MethodGet, path, nil, headers...)
}

// doc is a decoded JSON document.
type doc = map[string]any

// getDoc GETs a path, requires the status and decodes the body.
func (h *harness) getDoc(path string, status int, headers ...string) (doc, *http.Response) {
	h.t.Helper()
	resp, body := h.get(path, headers...)
	if resp.StatusCode != status {
		h.t.Fatalf("GET %s: status %d, want %d; body %s", path, resp.StatusCode, status, body)
	}
	var d doc
	if err := json.Unmarshal(body, &d); err != nil {
		h.t.Fatalf("GET %s: body is not JSON: %v: %s", path, err, body)
	}
	return d, resp
}

// touch updates a contact at a given instant, which becomes its updatedAt.
func (h *harness) touch(id string, at time.Time, attrs map[string]any) {
	h.t.Helper()
	h.clock.Set(at)
	if attrs == nil {
		attrs = map[string]any{}
	}
	if err := h.sim.UpdateContact(id, attrs); err != nil {
		h.t.Fatal(err)
	}
	h.token = h.fetchToken() // moving the clock may have expired the old one
}

// ids returns the ids of the resources in a list document.
func ids(d doc) []string {
	data, _ := d["data"].([]any)
	out := make([]string, len(data))
	for i, r := range data {
		out[i], _ = r.(map[string]any)["id"].(string)
	}
	return out
}

// listIDs GETs a list and returns its ids.
func (h *harness) listIDs(path string) []string {
	h.t.Helper()
	d, _ := h.getDoc(path, http.StatusOK, "X-Include", "noHateoas")
	return ids(d)
}

func attrs(resource any) map[string]any {
	a, _ := resource.(map[string]any)["attributes"].(map[string]any)
	return a
}

// firstError returns errors[0] of an error document.
func firstError(t *testing.T, d doc) map[string]any {
	t.Helper()
	errs, _ := d["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %v", d)
	}
	return errs[0].(map[string]any)
}
