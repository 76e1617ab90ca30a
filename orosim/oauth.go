package orosim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// tokenInfo is what the server knows about an issued token.
type tokenInfo struct {
	expiry   time.Time
	clientID string
	userID   int64  // the acting user: the password user, or the client's owner (1)
	access   string // for a refresh token: the access token issued with it
}

// tokenStore remembers issued access and refresh tokens and when they expire.
type tokenStore struct {
	mu      sync.Mutex
	expiry  map[string]time.Time // kept for the tests' and benchmarks' convenience
	info    map[string]tokenInfo
	refresh map[string]tokenInfo
}

func newTokenStore() *tokenStore {
	return &tokenStore{expiry: map[string]time.Time{}, info: map[string]tokenInfo{}, refresh: map[string]tokenInfo{}}
}

// issue makes an access token of the owning user of no particular client.
func (t *tokenStore) issue(now time.Time, ttl time.Duration) string {
	return t.issueFor(now, ttl, tokenInfo{userID: 1})
}

func (t *tokenStore) issueFor(now time.Time, ttl time.Duration, info tokenInfo) string {
	tok := rand.Text() + rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, exp := range t.expiry {
		if !now.Before(exp) {
			delete(t.expiry, k) // keep the maps small in long runs
			delete(t.info, k)
		}
	}
	info.expiry = now.Add(ttl)
	t.expiry[tok] = info.expiry
	t.info[tok] = info
	return tok
}

func (t *tokenStore) issueRefresh(now time.Time, ttl time.Duration, info tokenInfo) string {
	tok := "def50200" + rand.Text() + rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, r := range t.refresh {
		if !now.Before(r.expiry) {
			delete(t.refresh, k)
		}
	}
	info.expiry = now.Add(ttl)
	t.refresh[tok] = info
	return tok
}

// useRefresh revokes a refresh token and the access token issued with it,
// as league/oauth2-server does when it rotates tokens.
func (t *tokenStore) useRefresh(tok, clientID string, now time.Time) (tokenInfo, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	info, ok := t.refresh[tok]
	switch {
	case !ok:
		return tokenInfo{}, "Token has been revoked"
	case !now.Before(info.expiry):
		return tokenInfo{}, "Token has expired"
	case info.clientID != clientID:
		return tokenInfo{}, "Token is not linked to client"
	}
	delete(t.refresh, tok)
	delete(t.expiry, info.access)
	delete(t.info, info.access)
	return info, ""
}

func (t *tokenStore) valid(tok string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.expiry[tok]
	return ok && now.Before(exp)
}

func (t *tokenStore) lookup(tok string) (tokenInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	info, ok := t.info[tok]
	return info, ok
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

const invalidRequest = "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed."

func missingParam(name string) oauthError {
	return oauthError{Error: "invalid_request", Description: invalidRequest, Hint: "Check the `" + name + "` parameter"}
}

// refreshTokenTTL is OroOAuth2ServerBundle's default refresh token lifetime.
const refreshTokenTTL = 2592000 * time.Second

// handleToken is POST /oauth2-token (OroOAuth2ServerBundle, league
// oauth2-server): the client_credentials, password and refresh_token grants.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	params, err := tokenParams(w, r)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: invalidRequest})
		return
	}
	grant := params["grant_type"]
	if grant != "client_credentials" && grant != "password" && grant != "refresh_token" {
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
		writeOAuthError(w, http.StatusBadRequest, missingParam("client_id"))
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
	now := s.now()
	info := tokenInfo{clientID: id, userID: 1}
	withRefresh := false
	switch grant {
	case "password":
		user, pass := params["username"], params["password"]
		switch {
		case user == "":
			writeOAuthError(w, http.StatusBadRequest, missingParam("username"))
			return
		case pass == "":
			writeOAuthError(w, http.StatusBadRequest, missingParam("password"))
			return
		}
		uid, ok := s.userID(user, pass)
		if !ok {
			s.log.Info("oauth2 user authentication failed", "username", user)
			writeOAuthError(w, http.StatusBadRequest, oauthError{Error: "invalid_grant", Description: "The user credentials were incorrect."})
			return
		}
		info.userID, withRefresh = uid, true
	case "refresh_token":
		rt := params["refresh_token"]
		if rt == "" {
			writeOAuthError(w, http.StatusBadRequest, missingParam("refresh_token"))
			return
		}
		old, problem := s.tokens.useRefresh(rt, id, now)
		if problem != "" {
			writeOAuthError(w, http.StatusBadRequest, oauthError{Error: "invalid_grant", Description: "The refresh token is invalid.", Hint: problem})
			return
		}
		info.userID, withRefresh = old.userID, true
	}
	tok := s.tokens.issueFor(now, s.cfg.TokenTTL, info)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	body := object{{"token_type", "Bearer"}, {"expires_in", int64(s.cfg.TokenTTL / time.Second)}, {"access_token", tok}}
	if withRefresh {
		info.access = tok
		body = append(body, member{"refresh_token", s.tokens.issueRefresh(now, refreshTokenTTL, info)})
	}
	writeJSON(w, http.StatusOK, "application/json; charset=UTF-8", body)
}

// userID checks back-office user credentials (Config.Users); user ids follow
// the usernames in sorted order, starting at 1.
func (s *Server) userID(name, pass string) (int64, bool) {
	want, ok := s.cfg.Users[name]
	if !ok || !equal(pass, want) {
		return 0, false
	}
	names := make([]string, 0, len(s.cfg.Users))
	for n := range s.cfg.Users {
		names = append(names, n)
	}
	slices.Sort(names)
	return int64(slices.Index(names, name) + 1), true
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
