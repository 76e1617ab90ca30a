package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/orosim"
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

func TestOperatorPageRefusesAnActionPostedFromAnotherSite(t *testing.T) {
	const secret = "0123456789abcdef-ops"
	// No queue, no NATS: a refused request reaches no handler.
	srv := httptest.NewServer(requireSecret(secret, (&opsPage{}).routes()))
	defer srv.Close()
	for _, path := range []string{"/conflicts/1/resolve", "/breakers/confirm", "/check"} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("resolution=oro&tenant=acme&type=contacts"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+secret) // a browser sends basic auth to any site's form
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			req.Header.Set("Origin", "https://evil.example")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s from another site: %d, want 403", path, res.StatusCode)
			}
		})
	}
	t.Run("the page takes no GET action", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/conflicts/1/resolve?resolution=oro", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET of an action: %d, want 405", res.StatusCode)
		}
	})
}

func TestOperatorPageShowsEveryConnectionOfATenantsFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	simA := orosim.New(orosim.Config{ClientID: "sync-a", ClientSecret: "secret-of-a", Contacts: 60, Seed: 1})
	simB := orosim.New(orosim.Config{ClientID: "sync-b", ClientSecret: "secret-of-b", Contacts: 40, Seed: 2})
	srvA, srvB := httptest.NewServer(simA), httptest.NewServer(simB)
	defer srvA.Close()
	defer srvB.Close()
	cfg := writeFile(t, "tenants.yaml", `tenants:
  - name: alpha
    oro: {baseUrl: "`+srvA.URL+`/api", clientId: sync-a, clientSecretEnv: ALPHA_SECRET}
    types: [contacts]
    mercato: {tenantId: 8f14e45f-ceea-467a-9a36-dedd4bea2543, organizationId: c9f0f895-fb98-4b91-99f2-3d7b5c2e3f10}
  - name: beta
    oro: {baseUrl: "`+srvB.URL+`/api", clientId: sync-b, clientSecretEnv: BETA_SECRET}
    types: [contacts]
    mercato: {tenantId: 1679091c-5a88-4faf-afb5-e6087eb1b2dc, organizationId: 45c48cce-2e2d-4fbd-b0d6-6d6c7c2c5a1e}
`)
	t.Setenv("ALPHA_SECRET", "secret-of-a")
	t.Setenv("BETA_SECRET", "secret-of-b")
	const token = "a-token-of-the-page-41d7"
	t.Setenv("OROSYNC_OPS_TOKEN", token)
	ns := jstest.Start(t)
	addr := freeAddr(t)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	logs := &syncedBuffer{}
	go func() {
		done <- run(runCtx, []string{"run", "--config", cfg, "--nats-url", ns.URL, "--database-url", dbtest.NewDatabase(t),
			"--with-mercato-schema", "--poll-interval", "200ms", "--ops-addr", addr}, logs, logs)
	}()
	defer func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("orosync run --config: %v\n%s", err, logs.String())
		}
	}()
	want := []string{`id="applied-alpha-contacts">60<`, `id="applied-beta-contacts">40<`}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		page := getPage(t, "http://"+addr+"/", token)
		missing := 0
		for _, w := range want {
			if !strings.Contains(page, w) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the page never showed %v:\n%s\nlogs:\n%s", want, page, logs.String())
		case <-tick.C:
		}
	}
}

// getPage is the page at url, asked for with the bearer token; "" while it does not answer 200.
func getPage(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return ""
	}
	return string(body)
}
