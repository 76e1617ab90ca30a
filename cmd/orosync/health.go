package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/oro"
	writer "github.com/orosync/orosync/services/writer/service"
)

// health answers /healthz (the process is alive: it answers) and /readyz (it can do its work now: every check
// passes, or 503 naming each one that does not).
type health struct {
	mu     sync.Mutex
	checks []healthCheck
}

type healthCheck struct {
	name string
	fn   func(context.Context) error
}

// add registers a readiness check.
func (h *health) add(name string, fn func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, healthCheck{name, fn})
}

func (h *health) healthz(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "alive") }

func (h *health) readyz(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	checks := slices.Clone(h.checks)
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var failed []string
	for _, c := range checks {
		if err := c.fn(ctx); err != nil {
			failed = append(failed, c.name+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		http.Error(w, "not ready: "+strings.Join(failed, "; "), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// writerCheck is not ready while the writer waits for PostgreSQL (down, or refusing writes).
func writerCheck(wm *writer.Metrics) func(context.Context) error {
	return func(context.Context) error {
		if ok, why := wm.Ready(); !ok {
			return errors.New("the writer waits for PostgreSQL: " + why)
		}
		return nil
	}
}

// oroCheck is not ready while the connection's requests are paused (Retry-After) or back off after failures
// (Oro unreachable, 5xx, timeouts) that no request has succeeded since.
func oroCheck(b *oro.Budget) func(context.Context) error {
	return func(context.Context) error {
		st := b.State()
		switch {
		case time.Now().Before(st.PausedUntil):
			return fmt.Errorf("requests paused until %s: %s", st.PausedUntil.UTC().Format(time.RFC3339), st.Reason)
		case st.Reason != "":
			return fmt.Errorf("no request succeeded since: %s", st.Reason)
		}
		return nil
	}
}

// watchDependencies adds the checks of what the process's services need: NATS always, PostgreSQL for the writer
// and the reconciler, each connection's Oro for the poller and the reconciler (not ready while its budget is
// paused by a Retry-After or backs off after failures). It returns the close of the connections it opened.
func (h *health) watchDependencies(ctx context.Context, natsURL, databaseURL string, svcs services, budgets map[string]*oro.Budget, log *slog.Logger) (func(), error) {
	nc, err := natsconn.Connect(natsURL, "orosync-health", log, nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, err
	}
	closers := []func(){nc.Close}
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	h.add("nats", func(context.Context) error {
		if st := nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("not connected to NATS (%s)", st)
		}
		return nil
	})
	if svcs.has(svcWriter) || svcs.has(svcReconciler) {
		cfg, err := pgxpool.ParseConfig(databaseURL)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("health: database URL: %w", err)
		}
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("health: %w", err)
		}
		closers = append(closers, pool.Close)
		h.add("postgresql", func(ctx context.Context) error { return pool.Ping(ctx) })
	}
	if svcs.needsOro() {
		for name, b := range budgets {
			h.add("oro "+name, oroCheck(b))
		}
	}
	return closeAll, nil
}
