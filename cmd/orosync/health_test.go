package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/oro"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestReadyzNamesEachDependencyAProcessWaitsFor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := jstest.Start(t)
	dbURL := dbtest.NewDatabase(t)
	budget := oro.NewBudget("acme", 0, 1, nil)
	var h health
	unwatch, err := h.watchDependencies(ctx, ns.URL, dbURL, nil, map[string]*oro.Budget{"acme": budget},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer unwatch()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", h.healthz)
	mux.HandleFunc("/readyz", h.readyz)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("/readyz with NATS, PostgreSQL and Oro there: %d %q", code, body)
	}
	t.Run("not ready while the connection's Oro requests are paused", func(t *testing.T) {
		budget.Pause(time.Hour, "429 Retry-After 3600s")
		code, body := get(t, srv.URL+"/readyz")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "oro acme: requests paused until") ||
			!strings.Contains(body, "429 Retry-After") {
			t.Errorf("/readyz while paused: %d %q", code, body)
		}
	})
	t.Run("not ready without NATS, alive all the same", func(t *testing.T) {
		ns.Stop()
		tick := time.NewTicker(20 * time.Millisecond) // the client notices the lost server on its own time
		defer tick.Stop()
		for {
			code, body := get(t, srv.URL+"/readyz")
			if code == http.StatusServiceUnavailable && strings.Contains(body, "nats: not connected to NATS") {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("/readyz after NATS stopped: %d %q", code, body)
			case <-tick.C:
			}
		}
		if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK || body != "alive\n" {
			t.Errorf("/healthz: %d %q", code, body)
		}
	})
}

func TestReadyzNamesAnUnreachablePostgreSQLAndOro(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := jstest.Start(t)
	closed := freeAddr(t) // nothing listens there
	budget := oro.NewBudget("acme", 0, 1, nil)
	var h health
	unwatch, err := h.watchDependencies(ctx, ns.URL, "postgres://postgres@"+closed+"/orosync?sslmode=disable&connect_timeout=1",
		nil, map[string]*oro.Budget{"acme": budget}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer unwatch()
	srv := httptest.NewServer(http.HandlerFunc(h.readyz))
	defer srv.Close()
	client, err := oro.New(ctx, oro.Config{BaseURL: "http://" + closed + "/api", ClientID: "orosync", ClientSecret: "s",
		Budget: budget, Backoff: oro.Backoff{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.List(ctx, "contacts", oro.Query{}); err == nil {
		t.Fatal("listing contacts of an Oro nobody serves succeeded")
	}

	code, body := get(t, srv.URL)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz: %d %q, want 503", code, body)
	}
	t.Run("names PostgreSQL", func(t *testing.T) {
		if !strings.Contains(body, "postgresql: ") {
			t.Errorf("/readyz: %q does not name PostgreSQL", body)
		}
	})
	t.Run("names the connection's Oro and why", func(t *testing.T) {
		if !strings.Contains(body, "oro acme: no request succeeded since: backing off") || !strings.Contains(body, "connection refused") {
			t.Errorf("/readyz: %q does not name Oro acme's failure", body)
		}
	})
}
