package oro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func serveContact(w http.ResponseWriter, r *http.Request) {
	writeDoc(w, http.StatusOK, contactDocJSON)
}

func TestTokenIsReusedAcrossRequests(t *testing.T) {
	f := newFakeOro(t)
	f.api = serveContact
	c := f.client(t)
	ctx := context.Background()

	for i := 0; i < 5; i++ {
		if _, err := c.Get(ctx, "contacts", "1", Query{}); err != nil {
			t.Fatalf("Get %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(ctx, "contacts", "1", Query{}); err != nil {
				t.Errorf("concurrent Get: %v", err)
			}
		}()
	}
	wg.Wait()
	tokens, calls := f.counts()
	if tokens != 1 || calls != 13 {
		t.Fatalf("token requests = %d, API requests = %d; want 1 token for 13 requests", tokens, calls)
	}
	form := f.tokenForm
	if form["grant_type"][0] != "client_credentials" || form["client_id"][0] != testClientID {
		t.Errorf("token request form = %v; want client credentials in form params", form)
	}
	if got := f.last().Header.Get("Authorization"); got != "Bearer token-1" {
		t.Errorf("Authorization = %q; want Bearer token-1", got)
	}
}

func TestTokenIsRenewedBeforeItExpires(t *testing.T) {
	f := newFakeOro(t)
	f.api = serveContact
	f.expiresIn = 30 // inside the 60 s early-expiry window: never reused
	c := f.client(t)
	for i := 0; i < 3; i++ {
		if _, err := c.Get(context.Background(), "contacts", "1", Query{}); err != nil {
			t.Fatalf("Get %d: %v", i, err)
		}
	}
	if tokens, _ := f.counts(); tokens != 3 {
		t.Fatalf("token requests = %d; want a fresh token for each of 3 requests", tokens)
	}
}

func TestExpiredTokenIsRefreshedOnceOn401(t *testing.T) {
	f := newFakeOro(t)
	f.api = serveContact
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.Get(ctx, "contacts", "1", Query{}); err != nil {
		t.Fatal(err)
	}

	f.revokeAll() // the server forgets token-1 although it has not expired locally
	doc, err := c.Get(ctx, "contacts", "1", Query{})
	if err != nil {
		t.Fatalf("Get after revocation: %v", err)
	}
	if doc.Data[0].ID != "1" {
		t.Fatalf("got %+v", doc.Data)
	}
	tokens, calls := f.counts()
	if tokens != 2 || calls != 3 {
		t.Fatalf("token requests = %d, API requests = %d; want 2 and 3 (one 401, one retry)", tokens, calls)
	}
	if got := f.last().Header.Get("Authorization"); got != "Bearer token-2" {
		t.Errorf("retry used %q; want Bearer token-2", got)
	}

	// The new token is reused afterwards.
	if _, err := c.Get(ctx, "contacts", "1", Query{}); err != nil {
		t.Fatal(err)
	}
	if tokens, _ := f.counts(); tokens != 2 {
		t.Fatalf("token requests = %d after retry; want 2", tokens)
	}

	// A server that rejects every token gets exactly one retry.
	f.mu.Lock()
	f.api = nil
	f.mu.Unlock()
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2-token" {
			f.serveToken(w, r)
			return
		}
		f.mu.Lock()
		f.apiCalls++
		f.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	})
	tokens0, calls0 := f.counts()
	_, err = c.Get(ctx, "contacts", "1", Query{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v; want *APIError 401", err)
	}
	tokens1, calls1 := f.counts()
	if tokens1-tokens0 != 1 || calls1-calls0 != 2 {
		t.Fatalf("on persistent 401: %d token and %d API requests; want 1 and 2", tokens1-tokens0, calls1-calls0)
	}
}

func TestConcurrent401sFetchOneNewToken(t *testing.T) {
	f := newFakeOro(t)
	f.api = serveContact
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.Get(ctx, "contacts", "1", Query{}); err != nil {
		t.Fatal(err)
	}
	// n requests go out with token-1; all are held until every one is in
	// flight, then all are answered 401 together.
	const n = 4
	var holding atomic.Bool
	var inFlight atomic.Int32
	release := make(chan struct{})
	orig := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") && holding.Load() {
			if inFlight.Add(1) <= n {
				<-release
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		orig.ServeHTTP(w, r)
	})
	holding.Store(true)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(ctx, "contacts", "1", Query{}); err != nil {
				t.Errorf("Get: %v", err)
			}
		}()
	}
	for inFlight.Load() < n {
		time.Sleep(time.Millisecond)
	}
	holding.Store(false)
	close(release)
	wg.Wait()
	if tokens, _ := f.counts(); tokens != 2 {
		t.Fatalf("token requests = %d; want 2 (one new token for all concurrent 401s)", tokens)
	}
}

func TestOroErrorDocumentBecomesTypedError(t *testing.T) {
	f := newFakeOro(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/contacts":
			writeDoc(w, http.StatusBadRequest, `{"errors":[{"status":"400","title":"filter constraint",
				"detail":"The filter is not supported.","source":{"parameter":"filter[wrongFieldName]"}},
				{"status":"400","title":"range constraint","detail":"This value should be between 0% and 100%.",
				"source":{"pointer":"/data/attributes/probability"},"meta":{"x":1}}]}`)
		case "/api/contacts/999":
			writeDoc(w, http.StatusNotFound, `{"errors":[{"status":"404","title":"not found http exception",
				"detail":"An entity with the requested identifier does not exist."}]}`)
		case "/api/accounts":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>\n<body>Bad gateway</body>\n</html>")
		default:
			writeDoc(w, http.StatusInternalServerError, `{"errors":[{"status":500,"code":"E1","title":"x"}]}`)
		}
	}
	c := f.client(t)
	ctx := context.Background()

	_, err := c.List(ctx, "contacts", Query{Filters: []Filter{{Field: "wrongFieldName", Value: "1"}}, PageNumber: 3})
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T); want *APIError", err, err)
	}
	if ae.Status != 400 || len(ae.Errors) != 2 {
		t.Fatalf("APIError = %+v", ae)
	}
	e0, e1 := ae.Errors[0], ae.Errors[1]
	if e0.Status != "400" || e0.Title != "filter constraint" || e0.Detail != "The filter is not supported." ||
		e0.Source.Parameter != "filter[wrongFieldName]" {
		t.Errorf("errors[0] = %+v", e0)
	}
	if e1.Source.Pointer != "/data/attributes/probability" {
		t.Errorf("errors[1] = %+v", e1)
	}
	for _, want := range []string{"400", "filter constraint", "The filter is not supported.", "filter[wrongFieldName]",
		"/data/attributes/probability", "list contacts page 3", "/api/contacts?"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if IsNotFound(err) {
		t.Error("IsNotFound(400) = true")
	}

	_, err = c.Get(ctx, "contacts", "999", Query{})
	if !IsNotFound(err) {
		t.Fatalf("IsNotFound(%v) = false", err)
	}
	if !strings.Contains(err.Error(), "get contacts 999") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("404 error = %q", err)
	}

	_, err = c.List(ctx, "accounts", Query{})
	if !errors.As(err, &ae) || ae.Status != 502 || len(ae.Errors) != 0 || !strings.Contains(err.Error(), "Bad gateway") {
		t.Fatalf("non-JSON error = %v", err)
	}

	_, err = c.List(ctx, "leads", Query{})
	if !errors.As(err, &ae) || ae.Status != 500 || ae.Errors[0].Status != "500" || ae.Errors[0].Code != "E1" {
		t.Fatalf("numeric status error = %v", err)
	}
}

func TestRetryAfterIsParsed(t *testing.T) {
	serverNow := time.Date(2030, 5, 1, 10, 0, 0, 0, time.UTC)
	f := newFakeOro(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/seconds":
			w.Header().Set("Retry-After", "7")
			writeDoc(w, http.StatusTooManyRequests, "")
		case "/api/date":
			// Far in the future by the local clock: only the Date header
			// gives the right answer.
			w.Header().Set("Date", serverNow.Format(http.TimeFormat))
			w.Header().Set("Retry-After", serverNow.Add(90*time.Second).Format(http.TimeFormat))
			writeDoc(w, http.StatusServiceUnavailable, "")
		case "/api/garbage":
			w.Header().Set("Retry-After", "soon")
			writeDoc(w, http.StatusTooManyRequests, "")
		case "/api/notthrottled":
			w.Header().Set("Retry-After", "7")
			writeDoc(w, http.StatusInternalServerError, "")
		}
	}
	c := f.client(t)
	for path, want := range map[string]time.Duration{
		"seconds": 7 * time.Second, "date": 90 * time.Second, "garbage": 0, "notthrottled": 0,
	} {
		_, err := c.List(context.Background(), path, Query{})
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%s: err = %v", path, err)
		}
		if ae.RetryAfter != want {
			t.Errorf("%s: RetryAfter = %v; want %v", path, ae.RetryAfter, want)
		}
	}

	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v, date string
		want    time.Duration
	}{
		{"120", "", 2 * time.Minute},
		{" 0 ", "", 0},
		{"-5", "", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), "", 30 * time.Second},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), "", 0},
		{"99999999999999999999", "", 0},
		{"9999999999999", "", time.Duration(1<<63 - 1).Truncate(time.Second)},
	} {
		if got := parseRetryAfter(tc.v, tc.date, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v; want %v", tc.v, got, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	f := newFakeOro(t)
	var base string
	f.api = func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Include") == "totalCount" {
			w.Header().Set("X-Include-Total-Count", "42")
		}
		page := r.URL.Query().Get("page[number]")
		links := `{"self":"` + base + `/contacts","next":"` + base + `/contacts?page%5Bnumber%5D=2&page%5Bsize%5D=1"}`
		if page == "2" {
			links = `{"self":"` + base + `/contacts","first":"` + base + `/contacts","prev":{"href":"` + base + `/contacts"},"next":null}`
		}
		writeDoc(w, http.StatusOK, `{"meta":{"x":1},"links":`+links+`,"data":[`+contactJSON+`],
			"included":[{"type":"accounts","id":"1","attributes":{"name":"Account 1"}}]}`)
	}
	base = f.srv.URL + "/api"
	c := f.client(t)
	ctx := context.Background()

	q := Query{
		Filters:    []Filter{{Field: "updatedAt", Op: "gte", Value: "2024-05-01T10:00:00Z"}, {Field: "id", Op: "eq", Value: "5,7"}},
		Sort:       []string{"updatedAt", "id"},
		PageSize:   1,
		Fields:     map[string][]string{"contacts": {"firstName", "accounts"}, "accounts": {"name"}},
		Include:    []string{"accounts"},
		TotalCount: true,
	}
	p, err := c.List(ctx, "contacts", q)
	if err != nil {
		t.Fatal(err)
	}
	req := f.last()
	wantQuery := url.Values{
		"filter[updatedAt][gte]": {"2024-05-01T10:00:00Z"},
		"filter[id]":             {"5,7"},
		"sort":                   {"updatedAt,id"},
		"page[size]":             {"1"},
		"fields[contacts]":       {"firstName,accounts"},
		"fields[accounts]":       {"name"},
		"include":                {"accounts"},
	}
	t.Run("sends the query", func(t *testing.T) {
		if got := req.URL.Query(); got.Encode() != wantQuery.Encode() {
			t.Errorf("query = %s\nwant    %s", got.Encode(), wantQuery.Encode())
		}
	})
	t.Run("sends the headers of a JSON:API GET", func(t *testing.T) {
		if req.Header.Get("Accept") != mediaType || req.Header.Get("User-Agent") != "orosync-test" {
			t.Errorf("headers = %v", req.Header)
		}
	})
	t.Run("sends no content type", func(t *testing.T) {
		if req.Header.Get("Content-Type") != "" {
			t.Errorf("GET sent Content-Type %q", req.Header.Get("Content-Type"))
		}
	})
	t.Run("exposes the total count", func(t *testing.T) {
		if p.Total != 42 {
			t.Errorf("Total = %d; want 42", p.Total)
		}
	})
	t.Run("exposes the next link", func(t *testing.T) {
		if want := base + "/contacts?page%5Bnumber%5D=2&page%5Bsize%5D=1"; p.Next != want {
			t.Errorf("Next = %q; want %q", p.Next, want)
		}
	})
	t.Run("exposes the server time", func(t *testing.T) {
		if p.ServerTime.IsZero() || time.Since(p.ServerTime) > time.Minute {
			t.Errorf("ServerTime = %v; want the Date header", p.ServerTime)
		}
	})
	t.Run("holds the data, the included resources", func(t *testing.T) {
		if len(p.Data) != 1 || p.Data[0].Type != "contacts" || len(p.Included) != 1 || p.Included[0].Type != "accounts" {
			t.Errorf("page = %+v", p)
		}
	})

	t.Run("follows the next link to the last page", func(t *testing.T) {
		p2, err := c.FollowNext(ctx, p.Next, false)
		if err != nil {
			t.Fatal(err)
		}
		if p2.Next != "" || p2.Total != -1 {
			t.Errorf("last page: Next = %q, Total = %d; want \"\" and -1", p2.Next, p2.Total)
		}
		if f.last().Header.Get("X-Include") != "" {
			t.Errorf("X-Include sent without TotalCount")
		}
	})

	t.Run("refuses a next link off its base URL", func(t *testing.T) {
		for _, bad := range []string{"http://elsewhere.example/api/contacts", f.srv.URL + "/oauth2-token", "", "::"} {
			if _, err := c.FollowNext(ctx, bad, false); err == nil {
				t.Errorf("FollowNext(%q) succeeded; want refusal", bad)
			}
		}
	})

	t.Run("of a last page has no next link", func(t *testing.T) {
		p3, err := c.List(ctx, "contacts", Query{PageNumber: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p3.Next != "" || p3.Total != -1 {
			t.Errorf("page 2: Next = %q, Total = %d", p3.Next, p3.Total)
		}
	})
}

func TestMalformedTotalCountIsAnError(t *testing.T) {
	f := newFakeOro(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Include-Total-Count", "many")
		writeDoc(w, http.StatusOK, `{"data":[]}`)
	}
	_, err := f.client(t).List(context.Background(), "contacts", Query{TotalCount: true})
	if err == nil || !strings.Contains(err.Error(), "X-Include-Total-Count") {
		t.Fatalf("err = %v", err)
	}
}

func TestMalformedPageNamesTheBrokenField(t *testing.T) {
	f := newFakeOro(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/contacts/1":
			writeDoc(w, http.StatusOK, `{"data":[]}`)
			return
		case "/api/contacts/2":
			writeDoc(w, http.StatusOK, `{"data":null}`)
			return
		}
		writeDoc(w, http.StatusOK, `{"data":[{"type":"contacts","id":"1"},{"type":"contacts"}]}`)
	}
	c := f.client(t)
	_, err := c.List(context.Background(), "contacts", Query{PageNumber: 4})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Path != "data[1].id" || !strings.Contains(err.Error(), "list contacts page 4") {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Get(context.Background(), "contacts", "1", Query{}); err == nil {
		t.Fatal("Get accepted a list document")
	}
	if _, err := c.Get(context.Background(), "contacts", "2", Query{}); err == nil {
		t.Fatal("Get accepted null data")
	}
}

func TestSecretNeverAppearsInErrorsOrLogValue(t *testing.T) {
	f := newFakeOro(t)
	escapedSecret := url.QueryEscape(testClientSecret)
	secretForms := []string{testClientSecret, escapedSecret}

	checkClean := func(what, s string, extra ...string) {
		t.Helper()
		for _, secret := range append(secretForms, extra...) {
			if strings.Contains(s, secret) {
				t.Errorf("%s leaks %q: %s", what, secret, s)
			}
		}
	}

	cfg := Config{
		BaseURL:      "http://user:pw-in-url@" + strings.TrimPrefix(f.srv.URL, "http://") + "/api",
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		HTTPClient:   f.srv.Client(),
	}
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("config", "cfg", cfg)
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("client", "client", c)
	logger.Info("client", slog.Any("config", cfg))
	checkClean("slog", buf.String(), "pw-in-url")
	if !strings.Contains(buf.String(), testClientID) || !strings.Contains(buf.String(), redacted) {
		t.Errorf("log lacks client id or redaction marker: %s", buf.String())
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		checkClean("Config "+verb, fmt.Sprintf(verb, cfg), "pw-in-url")
		checkClean("*Client "+verb, fmt.Sprintf(verb, c), "pw-in-url")
		checkClean("[]Config "+verb, fmt.Sprintf(verb, []Config{cfg}), "pw-in-url")
	}

	// The token endpoint echoes the request (secret included) in its error.
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_request","error_description":"bad request: %s","hint":"%s"}`,
			r.PostForm.Encode(), r.PostForm.Get("client_secret"))
	}
	_, err = c.List(context.Background(), "contacts", Query{})
	if err == nil {
		t.Fatal("List succeeded without a token")
	}
	checkClean("token error", err.Error(), "pw-in-url")
	checkClean("token error %+v", fmt.Sprintf("%+v", err), "pw-in-url")
	if !strings.Contains(err.Error(), "OAuth2 token") {
		t.Errorf("token error does not say what failed: %v", err)
	}

	// The token endpoint answers with plain text echoing the secret.
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "denied for %s", r.PostForm.Get("client_secret"))
	}
	_, err = c.List(context.Background(), "contacts", Query{})
	if err == nil {
		t.Fatal("List succeeded without a token")
	}
	checkClean("plain token error", err.Error())

	// The API echoes the Authorization header in an error document.
	f.tokenHandler = nil
	f.api = func(w http.ResponseWriter, r *http.Request) {
		writeDoc(w, http.StatusForbidden, `{"errors":[{"status":"403","title":"access denied","detail":"`+
			r.Header.Get("Authorization")+`"}]}`)
	}
	_, err = c.List(context.Background(), "contacts", Query{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("err = %v", err)
	}
	tokens, _ := f.counts()
	issued := fmt.Sprintf("token-%d", tokens)
	checkClean("API error", err.Error(), issued)
	checkClean("API error body", string(ae.Body), issued)
}

func TestNewClient(t *testing.T) {
	f := newFakeOro(t)
	f.api = serveContact
	var tokenPath atomic.Value
	orig := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path, ok := strings.CutPrefix(r.URL.Path, "/admin"); ok {
			r.URL.Path = path // the back office behind OroCommerce's prefix
		} else {
			tokenPath.Store(r.URL.Path)
			if ua := r.Header.Get("User-Agent"); ua != defaultUserAgent {
				t.Errorf("token request User-Agent = %q", ua)
			}
		}
		orig.ServeHTTP(w, r)
	})

	c, err := New(context.Background(), Config{
		BaseURL: f.srv.URL + "/admin/api/", ClientID: testClientID, ClientSecret: testClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), "contacts", "1", Query{}); err != nil {
		t.Fatal(err)
	}
	t.Run("asks for tokens at the host root", func(t *testing.T) {
		if got := tokenPath.Load(); got != "/oauth2-token" {
			t.Errorf("token requested at %v; want /oauth2-token at the host root", got)
		}
	})

	t.Run("refuses a bad config", func(t *testing.T) {
		for _, cfg := range []Config{
			{BaseURL: "", ClientID: "a", ClientSecret: "b"},
			{BaseURL: "ftp://x/api", ClientID: "a", ClientSecret: "b"},
			{BaseURL: "/api", ClientID: "a", ClientSecret: "b"},
			{BaseURL: "http://x/api?x=1", ClientID: "a", ClientSecret: "b"},
			{BaseURL: "http://x/api", ClientSecret: "b"},
			{BaseURL: "http://x/api", ClientID: "a"},
			{BaseURL: "http://x/api", ClientID: "a", ClientSecret: "b", TokenURL: "oauth2-token"},
		} {
			if _, err := New(context.Background(), cfg); err == nil {
				t.Errorf("New(%v) succeeded", cfg)
			}
		}
	})

	t.Run("refuses a bad path segment", func(t *testing.T) {
		for _, seg := range [][2]string{{"", "1"}, {"contacts", ""}, {"con/tacts", "1"}, {"contacts", "../1"}, {"contacts", "1?x"}} {
			if _, err := c.Get(context.Background(), seg[0], seg[1], Query{}); err == nil {
				t.Errorf("Get(%q, %q) succeeded", seg[0], seg[1])
			}
		}
	})
}

// countingTransport stands for the rate-limit budget a later issue puts in
// front of the client.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int32
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.base.RoundTrip(r)
}

func TestInjectedTransportSeesEveryRequest(t *testing.T) {
	f := newFakeOro(t)
	f.api = serveContact
	rt := &countingTransport{base: f.srv.Client().Transport}
	c, err := New(context.Background(), Config{
		BaseURL: f.srv.URL + "/api", ClientID: testClientID, ClientSecret: testClientSecret,
		HTTPClient: &http.Client{Transport: rt},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Get(context.Background(), "contacts", "1", Query{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := rt.n.Load(); got != 4 {
		t.Fatalf("transport saw %d requests; want 4 (1 token + 3 API)", got)
	}
}

func TestCanceledContextStopsTheRequest(t *testing.T) {
	f := newFakeOro(t)
	f.api = func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}
	c := f.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.List(ctx, "contacts", Query{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want context.DeadlineExceeded", err)
	}
}
