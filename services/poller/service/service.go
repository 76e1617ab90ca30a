// Package service wires the poller: for every tenant and type, poll Oro and publish to ORO_RAW.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/adapters"
	"github.com/orosync/orosync/services/poller/app"
)

// Tenant is one Oro connection.
type Tenant struct {
	Oro   oro.Config
	Types []string
}

// Config of the poller.
type Config struct {
	NatsURL     string
	NatsOptions []nats.Option
	Tenants     map[string]Tenant
	PageSize    int           // default 1000
	Interval    time.Duration // between rounds once caught up; default 10s
	SafetyLag   time.Duration // default 2s
	Logger      *slog.Logger
	OnProgress  func(app.Progress)
	// Once stops after every type caught up once (used by `orosync run --once` and tests); a failed round (after
	// the client's retries) ends the run with its error.
	Once bool
	// Now is the clock used before Oro's Date header is known (default time.Now).
	Now func() time.Time
}

// Run polls until ctx is done (or, with Once, until every type caught up).
func Run(ctx context.Context, cfg Config) error {
	if cfg.PageSize == 0 {
		cfg.PageSize = 1000
	}
	if cfg.Interval == 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.SafetyLag == 0 {
		cfg.SafetyLag = 2 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("service", "poller")
	nc, err := nats.Connect(cfg.NatsURL, append(cfg.NatsOptions, nats.Name("orosync-poller"))...)
	if err != nil {
		return fmt.Errorf("poller: connecting to %s: %w", cfg.NatsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return fmt.Errorf("poller: jetstream: %w", err)
	}
	kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		return fmt.Errorf("poller: cursor bucket OROSYNC_CURSORS (created from contracts/ at start-up): %w", err)
	}
	parent := ctx
	g, ctx := errgroup.WithContext(ctx)
	budgets := map[string]*oro.Budget{}
	for name, t := range cfg.Tenants {
		client, err := oro.New(ctx, t.Oro)
		if err != nil {
			return fmt.Errorf("poller: tenant %s: %w", name, err)
		}
		budgets[name] = client.Budget()
		g.Go(func() error { return reportBudget(ctx, adapters.Cursors{KV: kv}, name, client.Budget(), cfg.Once, log) })
		for _, typ := range t.Types {
			poll := app.PollType{Oro: client, Publisher: adapters.RawPublisher{JS: js}, Cursors: adapters.Cursors{KV: kv},
				Tenant: name, Type: typ, PageSize: cfg.PageSize, SafetyLag: cfg.SafetyLag, OnProgress: cfg.OnProgress, Now: cfg.Now,
				Log: log}
			g.Go(func() error { return loop(ctx, poll, cfg, log.With("tenant", name, "type", typ)) })
		}
	}
	err = g.Wait()
	// The last state (what a finished run did) stays readable by `orosync status` after the poller stops.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 5*time.Second)
	defer cancel()
	for name, b := range budgets {
		if serr := (adapters.Cursors{KV: kv}).SaveBudgetState(sctx, name, b.State()); serr != nil {
			log.Warn("saving final budget state", "tenant", name, "err", serr)
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// reportBudget keeps the connection's budget state (waiting, backing off, why) in the cursor bucket every
// second, for `orosync status`; with once it writes it once, at the start.
func reportBudget(ctx context.Context, kv adapters.Cursors, tenant string, b *oro.Budget, once bool, log *slog.Logger) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if err := kv.SaveBudgetState(ctx, tenant, b.State()); err != nil && ctx.Err() == nil {
			log.Warn("saving budget state", "tenant", tenant, "err", err)
		}
		if once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func loop(ctx context.Context, poll app.PollType, cfg Config, log *slog.Logger) error {
	for {
		err := poll.Run(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && cfg.Once:
			return err
		case err != nil:
			log.Warn("poll round failed; retrying after the interval", "err", err)
		case cfg.Once:
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Interval):
		}
	}
}
