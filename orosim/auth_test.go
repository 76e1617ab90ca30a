package orosim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokenAcceptsEveryCredentialForm(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	cases := map[string]struct {
		body    string
		headers []string
	}{
		"form": {
			body:    "grant_type=client_credentials&client_id=" + testClientID + "&client_secret=" + testClientSecret,
			headers: []string{"Content-Type", "application/x-www-form-urlencoded"},
		},
		"json": {
			body:    `{"grant_type":"client_credentials","client_id":"` + testClientID + `","client_secret":"` + testClientSecret + `"}`,
			headers: []string{"Content-Type", "application/json"},
		},
		"basic": {
			body:    "grant_type=client_credentials",
			headers: []string{"Content-Type", "application/x-www-form-urlencoded", "Authorization", basicAuth(testClientID, testClientSecret)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := h.do(http.MethodPost, "/oauth2-token", strings.NewReader(tc.body), tc.headers...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Errorf("Content-Type %q", ct)
			}
			var tok map[string]any
			if err := json.Unmarshal(body, &tok); err != nil {
				t.Fatal(err)
			}
			if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3600) || tok["access_token"] == "" {
				t.Errorf("token response %s", body)
			}
			// The token works on the API.
			h2 := *h
			h2.token = tok["access_token"].(string)
			h2.getDoc("/api/contacts", http.StatusOK)
		})
	}
}

func basicAuth(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestTokenWithWrongSecretIs401InvalidClient(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	resp, body := h.do(http.MethodPost, "/oauth2-token",
		strings.NewReader("grant_type=client_credentials&client_id="+testClientID+"&client_secret=wrong"),
		"Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := `{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}`
	if string(body) != want {
		t.Errorf("body %s\nwant %s", body, want)
	}
}

func TestTokenWithoutClientIDIs400InvalidRequestWithHint(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	resp, body := h.do(http.MethodPost, "/oauth2-token", strings.NewReader("grant_type=client_credentials"),
		"Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var e map[string]string
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if e["error"] != "invalid_request" || e["hint"] != "Check the `client_id` parameter" ||
		e["message"] == "" || e["message"] != e["error_description"] {
		t.Errorf("body %s", body)
	}
}

func TestTokenWithUnsupportedGrantIs400(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	resp, body := h.do(http.MethodPost, "/oauth2-token", strings.NewReader("grant_type=magic&client_id=x"),
		"Content-Type", "application/x-www-form-urlencoded")
	var e map[string]string
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != http.StatusBadRequest || e["error"] != "unsupported_grant_type" {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
}

func TestListWithoutTokenGets401EmptyBody(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	for _, headers := range [][]string{
		nil,
		{"Authorization", "Bearer not-a-token"},
		{"Authorization", basicAuth(testClientID, testClientSecret)},
	} {
		resp, body := h.do(http.MethodGet, "/api/contacts", nil, headers...)
		if resp.StatusCode != http.StatusUnauthorized || len(body) != 0 {
			t.Errorf("headers %v: status %d body %q, want 401 with empty body", headers, resp.StatusCode, body)
		}
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("headers %v: no WWW-Authenticate", headers)
		}
	}
}

func TestTokenInQueryStringIsNotAccepted(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	resp, _ := h.do(http.MethodGet, "/api/contacts?access_token="+h.token, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
}

func TestExpiredTokenIs401(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1, TokenTTL: 10 * time.Minute})
	h.getDoc("/api/contacts", http.StatusOK)
	h.clock.Advance(10*time.Minute - time.Second)
	h.getDoc("/api/contacts", http.StatusOK)
	h.clock.Advance(time.Second)
	resp, body := h.get("/api/contacts")
	if resp.StatusCode != http.StatusUnauthorized || len(body) != 0 {
		t.Fatalf("expired token: status %d body %q", resp.StatusCode, body)
	}
	// A new token works again.
	h.token = h.fetchToken()
	h.getDoc("/api/contacts", http.StatusOK)
}

func TestExpiresInFollowsTokenTTL(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1, TokenTTL: 90 * time.Second})
	resp, body := h.do(http.MethodPost, "/oauth2-token",
		strings.NewReader("grant_type=client_credentials&client_id="+testClientID+"&client_secret="+testClientSecret),
		"Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"expires_in":90`) {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
}

func TestEveryResponseCarriesDateFromClock(t *testing.T) {
	h := newHarness(t, Config{Contacts: 2})
	h.clock.Advance(37 * time.Hour)
	want := h.clock.Now().Format(http.TimeFormat)
	for _, path := range []string{"/api/contacts", "/api/contacts/1", "/api/contacts/999", "/api/nope", "/__admin/stats"} {
		resp, _ := h.get(path)
		if got := resp.Header.Get("Date"); got != want {
			t.Errorf("%s: Date %q, want %q", path, got, want)
		}
	}
	resp, _ := h.do(http.MethodGet, "/api/contacts", nil)
	if got := resp.Header.Get("Date"); got != want {
		t.Errorf("401: Date %q, want %q", got, want)
	}
}
