// Package oro is an HTTP client for OroCRM's back-office JSON:API.
//
// It authenticates with the OAuth2 client-credentials grant, reuses the
// access token until shortly before it expires, and on a 401 from the API
// fetches a new token and retries the request once. Every API request draws
// from the connection's Budget (x/time/rate, shared by the poller and the
// reconciler, delta polls first); a 429/503 pauses the whole connection for
// its Retry-After, and 5xx answers, timeouts, broken connections and
// truncated or malformed bodies are retried with exponential backoff and
// jitter (Backoff), so a page is returned whole or not at all.
//
// Decoding keeps every resource's bytes exactly as Oro sent them
// (Resource.Raw) next to the decoded identity, attributes and
// relationships. ParseDocument is strict about structure, tolerant of
// unknown members and never panics.
package oro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/orosync/orosync/events/redact"
)

const (
	mediaType = "application/vnd.api+json"

	defaultUserAgent = "orosync-oro/1"
	// tokenEarlyExpiry is how long before its expiry a token is replaced.
	tokenEarlyExpiry = 60 * time.Second
	// tokenFetchTimeout bounds one token request.
	tokenFetchTimeout = 30 * time.Second
	// defaultHTTPTimeout applies when Config.HTTPClient is nil.
	defaultHTTPTimeout = 2 * time.Minute
	// maxBodyBytes bounds a success body (page[size]=-1 of ids can be large).
	maxBodyBytes = 256 << 20
	// maxErrorBodyBytes bounds an error body.
	maxErrorBodyBytes = 1 << 20

	redacted = "[REDACTED]"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API root, e.g. "https://crm.example.com/api" or, on
	// installs with OroCommerce, "https://crm.example.com/admin/api".
	BaseURL string
	// TokenURL overrides the OAuth2 token endpoint; it defaults to
	// "<scheme>://<host>/oauth2-token" of BaseURL.
	TokenURL     string
	ClientID     string
	ClientSecret string // never logged, never put into errors
	// HTTPClient is used for API and token requests; nil gives a client
	// with a 2 minute timeout. Its Transport is the place for rate limiting.
	HTTPClient *http.Client
	// UserAgent is sent on every request; empty gives "orosync-oro/1".
	UserAgent string
	// Budget is the connection's request budget, shared by every Client of the connection in the process (the
	// poller's and the reconciler's); nil gives the client an unlimited budget of its own.
	Budget *Budget
	// Priority of this client's requests in the Budget (the poller's delta polls by default).
	Priority Priority
	// Backoff is the retry policy for transient failures; the zero value gives the defaults.
	Backoff Backoff
}

// String renders the config with the client secret masked.
func (c Config) String() string {
	return fmt.Sprintf("oro.Config{BaseURL: %q, TokenURL: %q, ClientID: %q, ClientSecret: %s, UserAgent: %q}",
		redact.URL(c.BaseURL), redact.URL(c.TokenURL), c.ClientID, maskSecret(c.ClientSecret), c.UserAgent)
}

// GoString keeps %#v from printing the secret.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with the client secret masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", redact.URL(c.BaseURL)),
		slog.String("token_url", redact.URL(c.TokenURL)),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", maskSecret(c.ClientSecret)),
		slog.String("user_agent", c.UserAgent),
	)
}

func maskSecret(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}

// Client talks to one Oro installation. It is safe for concurrent use.
type Client struct {
	base      *url.URL // API root without trailing slash
	tokenURL  string
	clientID  string
	userAgent string
	hc        *http.Client
	tokens    *tokenCache
	secrets   *secrets
	budget    *Budget
	priority  Priority
	backoff   Backoff
}

// New checks cfg and builds a Client. No request is made: the first API
// call fetches the token. ctx supplies values for token requests (its
// cancellation is not inherited; each token request has its own timeout
// and is abandoned when the API call's context ends).
func New(ctx context.Context, cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("oro: base URL: %w", err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("oro: base URL %q: must be an absolute http(s) URL", redact.URL(base.String()))
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("oro: base URL %q: must not have a query or fragment", redact.URL(base.String()))
	}
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = ""
	if cfg.ClientID == "" {
		return nil, errors.New("oro: client ID is required")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("oro: client secret is required")
	}
	tokenURL := cfg.TokenURL
	if tokenURL == "" {
		tokenURL = (&url.URL{Scheme: base.Scheme, Host: base.Host, Path: "/oauth2-token"}).String()
	} else if tu, err := url.Parse(tokenURL); err != nil || (tu.Scheme != "http" && tu.Scheme != "https") || tu.Host == "" {
		return nil, fmt.Errorf("oro: token URL %q: must be an absolute http(s) URL", redact.URL(tokenURL))
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = defaultUserAgent
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	// Token requests use the same transport, with the User-Agent set.
	tokenHC := *hc
	tokenHC.Transport = userAgentTransport{base: hc.Transport, ua: ua}

	budget := cfg.Budget
	if budget == nil {
		budget = NewBudget("", 0, 1, nil)
	}
	sec := &secrets{}
	sec.setSecret(cfg.ClientSecret)
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     tokenURL,
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	tokenCtx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &tokenHC)
	fetch := tokenSourceFunc(func() (*oauth2.Token, error) {
		fctx, cancel := context.WithTimeout(tokenCtx, tokenFetchTimeout)
		defer cancel()
		tok, err := cc.Token(fctx)
		if err != nil {
			return nil, err
		}
		sec.addToken(tok.AccessToken)
		return tok, nil
	})
	return &Client{
		base:      base,
		tokenURL:  redact.URL(tokenURL),
		clientID:  cfg.ClientID,
		userAgent: ua,
		hc:        hc,
		tokens:    newTokenCache(fetch),
		secrets:   sec,
		budget:    budget,
		priority:  cfg.Priority,
		backoff:   cfg.Backoff.withDefaults(),
	}, nil
}

// WithPriority returns a client sharing c's token, budget and settings whose requests have priority p.
func (c *Client) WithPriority(p Priority) *Client {
	c2 := *c
	c2.priority = p
	return &c2
}

// Budget is the request budget the client draws from.
func (c *Client) Budget() *Budget { return c.budget }

// String describes the client without credentials.
func (c *Client) String() string {
	return fmt.Sprintf("oro.Client{BaseURL: %q, TokenURL: %q, ClientID: %q}", redact.URL(c.base.String()), c.tokenURL, c.clientID)
}

// GoString keeps %#v from printing internals.
func (c *Client) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without credentials.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", redact.URL(c.base.String())),
		slog.String("token_url", c.tokenURL),
		slog.String("client_id", c.clientID),
	)
}

// Page is one page of a list answer.
type Page struct {
	Data     []Resource
	Included []Resource
	// Next is links.next, "" on the last page (or when Oro was asked for
	// no HATEOAS links).
	Next string
	// Total is X-Include-Total-Count, -1 when not requested or absent.
	Total int
	// ServerTime is the response's HTTP Date header (zero if absent).
	ServerTime time.Time
}

// List fetches one page of resources of type typ.
func (c *Client) List(ctx context.Context, typ string, q Query) (*Page, error) {
	page := q.PageNumber
	if page == 0 {
		page = 1
	}
	what := fmt.Sprintf("oro: list %s page %d", typ, page)
	if err := checkSegment("type", typ); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	v, err := q.Values()
	if err != nil {
		return nil, fmt.Errorf("%s: query: %w", what, err)
	}
	u := c.endpoint(typ)
	u.RawQuery = v.Encode()
	return c.listURL(ctx, what, u, q.includes())
}

// FollowNext fetches the page a Page.Next link points to. The link must
// lie under the client's base URL (the access token goes nowhere else).
// totalCount asks for X-Include-Total-Count again.
func (c *Client) FollowNext(ctx context.Context, next string, totalCount bool) (*Page, error) {
	what := "oro: follow next link"
	if next == "" {
		return nil, fmt.Errorf("%s: empty link", what)
	}
	u, err := c.base.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host || u.User != nil ||
		!strings.HasPrefix(u.EscapedPath(), c.base.EscapedPath()+"/") {
		return nil, fmt.Errorf("%s: %q does not lie under the base URL %q", what, redact.URL(u.String()), redact.URL(c.base.String()))
	}
	u.Fragment = ""
	return c.listURL(ctx, what, u, Query{TotalCount: totalCount}.includes())
}

func (c *Client) listURL(ctx context.Context, what string, u *url.URL, include string) (*Page, error) {
	hdr := http.Header{}
	if include != "" {
		hdr.Set("X-Include", include)
	}
	res, doc, err := c.fetchDoc(ctx, u, hdr)
	if err != nil {
		return nil, fmt.Errorf("%s: GET %s: %w", what, redact.URL(u.String()), err)
	}
	if doc.Single {
		return nil, fmt.Errorf("%s: GET %s: decode response: %w", what, redact.URL(u.String()),
			parseErrf("data", "must be an array for a list"))
	}
	p := &Page{Data: doc.Data, Included: doc.Included, Next: doc.Links["next"], Total: -1, ServerTime: res.date}
	if tc := res.header.Get("X-Include-Total-Count"); tc != "" {
		n, err := strconv.Atoi(strings.TrimSpace(tc))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: GET %s: X-Include-Total-Count %q: not a count", what, redact.URL(u.String()), snippet([]byte(tc), 40))
		}
		p.Total = n
	}
	return p, nil
}

// Get fetches one resource; the returned document has exactly one element
// in Data. Filters and paging in q are sent as given; Fields and Include
// are the useful parts. A missing resource gives an error for which
// IsNotFound is true.
func (c *Client) Get(ctx context.Context, typ, id string, q Query) (*Document, error) {
	what := fmt.Sprintf("oro: get %s %s", typ, id)
	if err := checkSegment("type", typ); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkSegment("id", id); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	v, err := q.Values()
	if err != nil {
		return nil, fmt.Errorf("%s: query: %w", what, err)
	}
	u := c.endpoint(typ, id)
	u.RawQuery = v.Encode()
	hdr := http.Header{}
	if q.TotalCount {
		hdr.Set("X-Include", "totalCount")
	}
	_, doc, err := c.fetchDoc(ctx, u, hdr)
	if err != nil {
		return nil, fmt.Errorf("%s: GET %s: %w", what, redact.URL(u.String()), err)
	}
	if !doc.Single || len(doc.Data) != 1 {
		return nil, fmt.Errorf("%s: GET %s: decode response: %w", what, redact.URL(u.String()),
			parseErrf("data", "must be a resource object for a single resource"))
	}
	return doc, nil
}

func checkSegment(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	if s == "." || s == ".." || strings.ContainsAny(s, "/?#") {
		return fmt.Errorf("%s %q: not a path segment", what, s)
	}
	return nil
}

// endpoint returns base/seg1/seg2..., each segment escaped.
func (c *Client) endpoint(segs ...string) *url.URL {
	u := *c.base
	for _, s := range segs {
		u.Path += "/" + s
	}
	u.RawPath = ""
	return &u
}

type response struct {
	header http.Header
	body   []byte
	date   time.Time
}

// send performs one API request with a bearer token. A 401 invalidates the
// token and the request is sent once more with a fresh one. Non-2xx
// answers become *APIError. body may be nil; it is resent on the retry.
func (c *Client) send(ctx context.Context, method string, u *url.URL, body []byte, hdr http.Header) (*response, error) {
	for attempt := 0; ; attempt++ {
		tok, gen, err := c.tokens.get(ctx)
		if err != nil {
			return nil, c.tokenError(err)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
		if err != nil {
			return nil, err
		}
		for k, vs := range hdr {
			req.Header[k] = append([]string(nil), vs...)
		}
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", mediaType)
		}
		if body != nil {
			req.Header.Set("Content-Type", mediaType)
		}
		req.Header.Set("User-Agent", c.userAgent)
		tok.SetAuthHeader(req)

		release, err := c.budget.Wait(ctx, c.priority)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		release()
		if err != nil {
			return nil, &transportError{c.secrets.scrubErr(err)}
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBodyBytes))
			resp.Body.Close()
			c.tokens.invalidate(gen)
			continue
		}
		ok := resp.StatusCode >= 200 && resp.StatusCode < 300
		limit := int64(maxBodyBytes)
		if !ok {
			limit = maxErrorBodyBytes
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		resp.Body.Close()
		if err != nil {
			return nil, &transportError{fmt.Errorf("read response (status %d): %w", resp.StatusCode, c.secrets.scrubErr(err))}
		}
		if int64(len(b)) > limit {
			if ok {
				return nil, fmt.Errorf("response body exceeds %d bytes", limit)
			}
			b = b[:limit]
		}
		if !ok {
			return nil, newAPIError(resp.StatusCode, resp.Header, c.secrets.scrub(b), time.Now())
		}
		res := &response{header: resp.Header, body: b}
		if d := resp.Header.Get("Date"); d != "" {
			if t, err := http.ParseTime(d); err == nil {
				res.date = t
			}
		}
		return res, nil
	}
}

// CheckToken fetches an OAuth2 token (or finds the current one valid): nil when the connection's credentials work.
func (c *Client) CheckToken(ctx context.Context) error {
	if _, _, err := c.tokens.get(ctx); err != nil {
		return c.tokenError(err)
	}
	return nil
}

// tokenError describes a failed token request without credentials.
func (c *Client) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		clean := *re
		clean.Body = c.secrets.scrub(re.Body)
		clean.ErrorDescription = string(c.secrets.scrub([]byte(re.ErrorDescription)))
		clean.ErrorURI = string(c.secrets.scrub([]byte(re.ErrorURI)))
		clean.ErrorCode = string(c.secrets.scrub([]byte(re.ErrorCode)))
		err = &clean
	}
	return fmt.Errorf("OAuth2 token from %s: %w", c.tokenURL, c.secrets.scrubErr(err))
}

// tokenCache hands out the current token and replaces its source when the
// API rejects the token. Each source is an oauth2.ReuseTokenSourceWithExpiry
// so a token is reused until tokenEarlyExpiry before it expires.
type tokenCache struct {
	fetch oauth2.TokenSource

	mu  sync.Mutex
	src oauth2.TokenSource
	gen uint64
}

func newTokenCache(fetch oauth2.TokenSource) *tokenCache {
	return &tokenCache{fetch: fetch, src: oauth2.ReuseTokenSourceWithExpiry(nil, fetch, tokenEarlyExpiry)}
}

// get returns a valid token and the generation of the source it came from.
// It gives up when ctx ends (a fetch under way finishes in the background
// and its token is kept).
func (t *tokenCache) get(ctx context.Context) (*oauth2.Token, uint64, error) {
	t.mu.Lock()
	src, gen := t.src, t.gen
	t.mu.Unlock()
	type result struct {
		tok *oauth2.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		tok, err := src.Token()
		ch <- result{tok, err}
	}()
	select {
	case r := <-ch:
		return r.tok, gen, r.err
	case <-ctx.Done():
		return nil, gen, ctx.Err()
	}
}

// invalidate drops the cached token if it still comes from generation gen,
// so concurrent 401s with the same token cause one new token request.
func (t *tokenCache) invalidate(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen == gen {
		t.gen++
		t.src = oauth2.ReuseTokenSourceWithExpiry(nil, t.fetch, tokenEarlyExpiry)
	}
}

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

// userAgentTransport sets the User-Agent on token requests.
type userAgentTransport struct {
	base http.RoundTripper
	ua   string
}

func (t userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("User-Agent", t.ua)
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r2)
}

// secrets remembers the strings that must never appear in errors: the
// client secret and the latest access tokens handed out, each also in its
// URL-escaped forms.
type secrets struct {
	mu     sync.Mutex
	secret []string
	tokens []string
}

// maxRememberedTokens bounds the token list; older tokens are long expired.
const maxRememberedTokens = 8

func (s *secrets) setSecret(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = forms(v)
}

func (s *secrets) addToken(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, forms(v)...)
	if n := len(s.tokens) - 3*maxRememberedTokens; n > 0 {
		s.tokens = append([]string(nil), s.tokens[n:]...)
	}
}

// forms returns v and its escaped forms, nothing for strings too short to
// mask without mangling ordinary text.
func forms(v string) []string {
	if len(v) < 4 {
		return nil
	}
	out := []string{v}
	for _, f := range []string{url.QueryEscape(v), url.PathEscape(v)} {
		if f != out[len(out)-1] && f != v {
			out = append(out, f)
		}
	}
	return out
}

func (s *secrets) scrub(b []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, list := range [][]string{s.secret, s.tokens} {
		for _, v := range list {
			if bytes.Contains(b, []byte(v)) {
				b = bytes.ReplaceAll(b, []byte(v), []byte(redacted))
			}
		}
	}
	return b
}

// scrubErr returns err, or when its message carries a secret, an error
// with the masked message (the original is not kept).
func (s *secrets) scrubErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := string(s.scrub([]byte(msg)))
	if clean == msg {
		return err
	}
	return errors.New(clean)
}
