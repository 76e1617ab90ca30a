package orosim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenStore remembers issued access tokens and when they expire.
type tokenStore struct {
	mu     sync.Mutex
	expiry map[string]time.Time
}

func (t *tokenStore) issue(now time.Time, ttl time.Duration) string {
	tok := rand.Text() + rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, exp := range t.expiry {
		if !now.Before(exp) {
			delete(t.expiry, k) // keep the map small in long runs
		}
	}
	t.expiry[tok] = now.Add(ttl)
	return tok
}

func (t *tokenStore) valid(tok string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.expiry[tok]
	return ok && now.Before(exp)
}

// oauthError is league/oauth2-server's error payload; "message" duplicates
// "error_description" for backward compatibility.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Hint        string `json:"hint,omitempty"`
	Message     string `json:"message"`
}

func writeOAuthError(w http.ResponseWriter, status int, e oauthError) {
	e.Message = e.Description
	writeJSON(w, status, "application/json", e)
}

// handleToken is POST /oauth2-token (OroOAuth2ServerBundle). Only the
// client_credentials grant is simulated.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	params, err := tokenParams(w, r)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, oauthError{
			Error:       "invalid_request",
			Description: "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
		})
		return
	}
	if params["grant_type"] != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, oauthError{
			Error:       "unsupported_grant_type",
			Description: "The authorization grant type is not supported by the authorization server.",
			Hint:        "Check that all required parameters have been provided",
		})
		return
	}
	// Like league: body parameters win, HTTP Basic credentials are the default.
	basicID, basicSecret, basic := r.BasicAuth()
	id, secret := params["client_id"], params["client_secret"]
	if id == "" {
		id = basicID
	}
	if secret == "" {
		secret = basicSecret
	}
	if id == "" {
		writeOAuthError(w, http.StatusBadRequest, oauthError{
			Error:       "invalid_request",
			Description: "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
			Hint:        "Check the `client_id` parameter",
		})
		return
	}
	if !equal(id, s.cfg.ClientID) || !equal(secret, s.cfg.ClientSecret) {
		s.log.Info("oauth2 client authentication failed", "client_id", id)
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="OAuth"`)
		}
		writeOAuthError(w, http.StatusUnauthorized, oauthError{
			Error:       "invalid_client",
			Description: "Client authentication failed",
		})
		return
	}
	tok := s.tokens.issue(s.now(), s.cfg.TokenTTL)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, "application/json; charset=UTF-8", struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}{"Bearer", int64(s.cfg.TokenTTL / time.Second), tok})
}

// tokenParams reads the token request from a JSON body (what Oro's docs
// show) or a form body (what Oro's tests send).
func tokenParams(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	if ct == "application/json" {
		var body map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
			return nil, err
		}
		for k, v := range body {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
		return out, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k := range r.PostForm {
		out[k] = r.PostForm.Get(k)
	}
	return out, nil
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// authorized checks the bearer token. Oro answers every failure with 401 and
// an empty body.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") && s.tokens.valid(strings.TrimSpace(tok), s.now()) {
		return true
	}
	w.Header().Set("WWW-Authenticate", "Basic realm=\"Secured API\"")
	w.WriteHeader(http.StatusUnauthorized)
	return false
}
