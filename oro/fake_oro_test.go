package oro

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const (
	testClientID     = "orosync-client"
	testClientSecret = "s3cr3t-Value+with/odd=chars"
)

// fakeOro is a small in-test stand-in for Oro: an OAuth2 client-credentials
// token endpoint at /oauth2-token and a JSON:API under /api whose answers
// each test supplies.
type fakeOro struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	tokenCalls  int
	apiCalls    int
	expiresIn   int             // expires_in of issued tokens
	valid       map[string]bool // access tokens the API accepts
	lastRequest *http.Request
	tokenForm   map[string][]string
	// tokenHandler, if set, answers token requests instead of the default.
	tokenHandler http.HandlerFunc
	// api answers authenticated API requests.
	api http.HandlerFunc
}

func newFakeOro(t *testing.T) *fakeOro {
	t.Helper()
	f := &fakeOro{t: t, expiresIn: 3600, valid: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth2-token", f.serveToken)
	mux.HandleFunc("/api/", f.serveAPI)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOro) serveToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.tokenCalls++
	n := f.tokenCalls
	h := f.tokenHandler
	f.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.tokenForm = r.PostForm
	f.mu.Unlock()
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if r.PostForm.Get("grant_type") != "client_credentials" || id != testClientID || secret != testClientSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}`)
		return
	}
	tok := fmt.Sprintf("token-%d", n)
	f.mu.Lock()
	f.valid[tok] = true
	exp := f.expiresIn
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": exp, "access_token": tok})
}

func (f *fakeOro) serveAPI(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.apiCalls++
	f.lastRequest = r.Clone(context.Background())
	auth := r.Header.Get("Authorization")
	ok := strings.HasPrefix(auth, "Bearer ") && f.valid[strings.TrimPrefix(auth, "Bearer ")]
	api := f.api
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized) // Oro: 401 with an empty body
		return
	}
	if api == nil {
		http.NotFound(w, r)
		return
	}
	api(w, r)
}

// revokeAll makes the API reject every token issued so far, as when a
// token expired on the server before the client expected it to.
func (f *fakeOro) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func (f *fakeOro) counts() (token, api int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls, f.apiCalls
}

func (f *fakeOro) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastRequest
}

func (f *fakeOro) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(context.Background(), Config{
		BaseURL:      f.srv.URL + "/api",
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		HTTPClient:   f.srv.Client(),
		UserAgent:    "orosync-test",
		// One attempt: these tests look at how one answer is decoded; retrying has its own tests.
		Backoff: Backoff{Attempts: 1},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// writeDoc writes a JSON:API body with the given status.
func writeDoc(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

const contactJSON = `{"type":"contacts","id":"1",
 "attributes":{"lastContactedDate":null,"lastContactedDateIn":null,"lastContactedDateOut":null,
  "timesContacted":null,"timesContactedIn":null,"timesContactedOut":null,"namePrefix":null,
  "firstName":"Contact 1","middleName":null,"lastName":null,"nameSuffix":null,"gender":null,
  "birthday":"1973-03-07","description":null,"jobTitle":null,"fax":null,"skype":null,"twitter":null,
  "facebook":null,"googlePlus":null,"linkedIn":null,"createdAt":"2024-01-01T10:00:00Z",
  "updatedAt":"2024-01-01T10:00:00Z","primaryEmail":"contact1_2@example.com","primaryPhone":"5556661112",
  "emails":[{"email":"contact1_1@example.com"},{"email":"contact1_2@example.com"}],
  "phones":[{"phone":"5556661111"},{"phone":"5556661112"}]},
 "relationships":{"source":{"data":null},"method":{"data":null},
  "owner":{"data":{"type":"users","id":"1"}},"assignedTo":{"data":null},"reportsTo":{"data":null},
  "addresses":{"data":[]},"groups":{"data":[]},"accounts":{"data":[{"type":"accounts","id":"1"}]},
  "createdBy":{"data":{"type":"users","id":"1"}},"updatedBy":{"data":null},
  "organization":{"data":{"type":"organizations","id":"1"}},
  "defaultInAccounts":{"data":[{"type":"accounts","id":"1"}]},"picture":{"data":null}}}`

const contactDocJSON = `{"data":` + contactJSON + `}`
