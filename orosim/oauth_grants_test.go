package orosim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tokenResponse posts a token request form and decodes the answer.
func (h *harness) tokenResponse(form url.Values, headers ...string) (int, map[string]any) {
	h.t.Helper()
	headers = append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)
	resp, body := h.do(http.MethodPost, "/oauth2-token", strings.NewReader(form.Encode()), headers...)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		h.t.Fatalf("token body %s: %v", body, err)
	}
	return resp.StatusCode, out
}

func passwordForm(user, pass string) url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {testClientID}, "client_secret": {testClientSecret},
		"username": {user}, "password": {pass}}
}

func TestPasswordGrant(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1, Users: map[string]string{"admin": "admin", "jane": "pa55"}})
	t.Run("issues working access and refresh tokens", func(t *testing.T) {
		status, tok := h.tokenResponse(passwordForm("jane", "pa55"))
		if status != http.StatusOK || tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3600) ||
			tok["access_token"] == "" || tok["refresh_token"] == "" {
			t.Fatalf("status %d %v", status, tok)
		}
		h.token = tok["access_token"].(string)
		h.getDoc("/api/contacts", http.StatusOK)
	})
	// User ids follow the sorted usernames: admin 1, jane 2.
	t.Run("numbers users by sorted username", func(t *testing.T) {
		if uid, ok := h.sim.userID("jane", "pa55"); !ok || uid != 2 {
			t.Errorf("jane's id %d %v", uid, ok)
		}
	})
}

func TestPasswordGrantAcceptsEveryClientCredentialForm(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	status, tok := h.tokenResponse(url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {"admin"}},
		"Authorization", basicAuth(testClientID, testClientSecret))
	if status != http.StatusOK || tok["refresh_token"] == nil {
		t.Errorf("basic: %d %v", status, tok)
	}
	resp, body := h.do(http.MethodPost, "/oauth2-token", strings.NewReader(`{"grant_type":"password","client_id":"`+testClientID+
		`","client_secret":"`+testClientSecret+`","username":"admin","password":"admin"}`), "Content-Type", "application/json")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"refresh_token"`) {
		t.Errorf("json: %d %s", resp.StatusCode, body)
	}
}

func TestPasswordGrantErrors(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	status, e := h.tokenResponse(passwordForm("admin", "wrong"))
	if status != http.StatusBadRequest || e["error"] != "invalid_grant" || e["message"] != "The user credentials were incorrect." {
		t.Errorf("wrong password: %d %v", status, e)
	}
	status, e = h.tokenResponse(passwordForm("", "x"))
	if status != http.StatusBadRequest || e["error"] != "invalid_request" || e["hint"] != "Check the `username` parameter" {
		t.Errorf("no username: %d %v", status, e)
	}
	status, e = h.tokenResponse(passwordForm("admin", ""))
	if status != http.StatusBadRequest || e["hint"] != "Check the `password` parameter" {
		t.Errorf("no password: %d %v", status, e)
	}
	form := passwordForm("admin", "admin")
	form.Set("client_secret", "nope")
	status, e = h.tokenResponse(form)
	if status != http.StatusUnauthorized || e["error"] != "invalid_client" {
		t.Errorf("wrong client secret: %d %v", status, e)
	}
}

func TestRefreshTokenGrantRotatesTokens(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	_, first := h.tokenResponse(passwordForm("admin", "admin"))
	refresh := func(rt string) (int, map[string]any) {
		return h.tokenResponse(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {testClientID}, "client_secret": {testClientSecret}})
	}
	h.clock.Advance(2 * time.Hour) // the access token has expired, the refresh token has not
	status, second := refresh(first["refresh_token"].(string))
	if status != http.StatusOK || second["access_token"] == "" || second["refresh_token"] == first["refresh_token"] {
		t.Fatalf("refresh: %d %v", status, second)
	}
	h.token = second["access_token"].(string)
	h.getDoc("/api/contacts", http.StatusOK)
	// The used refresh token is revoked.
	status, e := refresh(first["refresh_token"].(string))
	if status != http.StatusBadRequest || e["error"] != "invalid_grant" || e["message"] != "The refresh token is invalid." || e["hint"] != "Token has been revoked" {
		t.Errorf("reused refresh token: %d %v", status, e)
	}
	// Using a refresh token revokes the access token issued with it.
	_, third := refresh(second["refresh_token"].(string))
	if resp, _ := h.get("/api/contacts"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("access token of a used refresh token: %d", resp.StatusCode)
	}
	// Refresh tokens live 30 days.
	h.clock.Advance(30 * 24 * time.Hour)
	if status, e := refresh(third["refresh_token"].(string)); status != http.StatusBadRequest || e["hint"] != "Token has expired" {
		t.Errorf("expired refresh token: %d %v", status, e)
	}
	if status, e := refresh(""); status != http.StatusBadRequest || e["hint"] != "Check the `refresh_token` parameter" {
		t.Errorf("missing refresh token: %d %v", status, e)
	}
}

func TestClientCredentialsGrantHasNoRefreshToken(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	status, tok := h.tokenResponse(url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}})
	if _, ok := tok["refresh_token"]; status != http.StatusOK || ok {
		t.Errorf("%d %v", status, tok)
	}
}
