package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestOperatorPageLetsInOnlyRequestsWithItsSecret(t *testing.T) {
	const secret = "0123456789abcdef-ops"
	srv := httptest.NewServer(requireSecret(secret, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "the page")
	})))
	defer srv.Close()
	cases := []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"no credentials", func(*http.Request) {}, http.StatusUnauthorized},
		{"a wrong bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret+"x") }, http.StatusUnauthorized},
		{"basic auth with a wrong password", func(r *http.Request) { r.SetBasicAuth("ops", "not-it") }, http.StatusUnauthorized},
		{"the secret as a bare header", func(r *http.Request) { r.Header.Set("Authorization", secret) }, http.StatusUnauthorized},
		{"the bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }, http.StatusOK},
		{"basic auth with the secret as password", func(r *http.Request) { r.SetBasicAuth("ann", secret) }, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.set(req)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.want, body)
			}
			if c.want == http.StatusUnauthorized {
				if strings.Contains(string(body), "the page") || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("a refused request got %q, WWW-Authenticate %q", body, res.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func TestRunRefusesAnOperatorPageWithoutASecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, token := range map[string]string{"no secret": "", "a short secret": "short"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("OROSYNC_OPS_TOKEN", token)
			addr := freeAddr(t)
			// An unreachable NATS: the command must refuse before connecting to anything.
			err := run(ctx, []string{"run", "--ops-addr", addr, "--nats-url", "nats://127.0.0.1:1", "--data-dir", t.TempDir()}, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "OROSYNC_OPS_TOKEN") {
				t.Fatalf("orosync run --ops-addr without a secret: %v", err)
			}
		})
	}
}
