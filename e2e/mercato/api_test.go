//go:build mercatoe2e

package mercato

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// mercato is an admin's session on Mercato's HTTP API.
type mercato struct {
	base  string
	token string
	http  *http.Client
	// tenantID and orgID are the admin's scope, read from the login token's claims.
	tenantID, orgID string
}

// login signs in as Mercato's login form does (multipart email and password) and keeps the bearer token.
func login(ctx context.Context, base, email, password string) (*mercato, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("email", email)
	_ = w.WriteField("password", password)
	_ = w.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/auth/login", &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	m := &mercato{base: base, http: &http.Client{Timeout: 60 * time.Second}}
	var out struct {
		Token string `json:"token"`
	}
	if err := m.do(req, &out); err != nil {
		return nil, fmt.Errorf("login as %s: %w", email, err)
	}
	m.token = out.Token
	claims, err := jwtClaims(out.Token)
	if err != nil {
		return nil, err
	}
	m.tenantID, _ = claims["tenantId"].(string)
	m.orgID, _ = claims["orgId"].(string)
	if m.tenantID == "" || m.orgID == "" {
		return nil, fmt.Errorf("login token has no tenantId/orgId claims: %v", claims)
	}
	return m, nil
}

func jwtClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("login token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("login token claims: %w", err)
	}
	var claims map[string]any
	return claims, json.Unmarshal(raw, &claims)
}

// statusError is a response other than 2xx, with its body.
type statusError struct {
	Method, URL string
	Status      int
	Body        string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, e.Body)
}

func (m *mercato) do(req *http.Request, out any) error {
	if m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
	}
	res, err := m.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return &statusError{Method: req.Method, URL: req.URL.String(), Status: res.StatusCode, Body: truncate(string(b), 500)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding %s: %w", req.Method, req.URL, truncate(string(b), 200), err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// call sends method path (path may carry a query) with body as JSON (nil for none) and decodes into out.
func (m *mercato) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return m.do(req, out)
}

func (m *mercato) get(ctx context.Context, path string, out any) error {
	return m.call(ctx, http.MethodGet, path, nil, out)
}

// list is a page of a Mercato CRUD list: items and the total the query matches.
type list struct {
	Items []map[string]any `json:"items"`
	Total int              `json:"total"`
}

// listOf reads one page of a list API (e.g. /api/customers/people) with the given query parameters.
func (m *mercato) listOf(ctx context.Context, path string, q url.Values) (list, error) {
	if q == nil {
		q = url.Values{}
	}
	if q.Get("pageSize") == "" {
		q.Set("pageSize", "100")
	}
	var l list
	err := m.get(ctx, path+"?"+q.Encode(), &l)
	return l, err
}

// all reads every page of a list API.
func (m *mercato) all(ctx context.Context, path string, q url.Values) ([]map[string]any, error) {
	if q == nil {
		q = url.Values{}
	}
	var out []map[string]any
	for page := 1; ; page++ {
		q.Set("page", fmt.Sprint(page))
		l, err := m.listOf(ctx, path, q)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if len(l.Items) == 0 || len(out) >= l.Total {
			return out, nil
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
