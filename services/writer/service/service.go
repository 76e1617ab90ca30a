// Package service wires the writer: MERCATO_CHANGES → Mercato PostgreSQL → outbox → MERCATO_EVENTS.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
	"github.com/orosync/orosync/services/writer/ports"
	"github.com/orosync/orosync/services/writer/relay"
)

// Config of the writer.
type Config struct {
	NatsURL     string
	NatsOptions []nats.Option
	DatabaseURL string
	// Tenants maps each orosync connection to its Mercato tenant and organization.
	Tenants   map[string]Scope
	Logger    *slog.Logger
	BatchSize int
	// Rules are the conflict policies per aggregate (default oro-wins).
	Rules domain.Rules
	// NoEmailMatch turns off the first-import email match (see adapters.Store.MatchEmails).
	NoEmailMatch bool
	// ReplicationRole applies as a replication session: no triggers, no foreign-key checks (adapters.NewPool).
	ReplicationRole bool
	// Committed, when set, is called after every committed batch (tests and progress reporting).
	Committed func(app.Result)
	// Metrics, when set, counts batches, records, relayed events and dead letters (NewMetrics).
	Metrics *Metrics
	// CustomFieldDefs are the mapping's custom field definitions (the transformer's Mapping.CustomFieldDefs),
	// created in every tenant's scope before the first batch.
	CustomFieldDefs []events.CustomFieldDef
	// Tracer, when set, continues each change's trace with a span and carries a batch's trace context with its
	// events to MERCATO_EVENTS (contracts/tracing); nil: no spans, no headers.
	Tracer trace.TracerProvider
}

// TracerName names the writer's spans' instrumentation scope; SpanApply its span of a change, SpanBatch of a batch.
const (
	TracerName = "orosync/writer"
	SpanApply  = ports.SpanApply
	SpanBatch  = ports.SpanBatch
)

// Run writes until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("service", "writer")
	pool, err := openPool(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	nc, err := natsconn.Connect(cfg.NatsURL, "orosync-writer", log, cfg.NatsOptions...)
	if err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	defer nc.Close()
	ctx, unguard := nc.Guard(ctx)
	defer unguard()
	js, err := jetstream.New(nc.Conn, jetstream.WithPublishAsyncTimeout(natsconn.PublishAckTimeout))
	if err != nil {
		return fmt.Errorf("writer: jetstream: %w", err)
	}
	var cons jetstream.Consumer
	err = natsconn.Retry(ctx, "consumer MERCATO_CHANGES/writer", log, func(ctx context.Context) (err error) {
		cons, err = js.Consumer(ctx, events.StreamMercatoChanges, "writer")
		return err
	})
	if err != nil {
		return fmt.Errorf("writer: consumer MERCATO_CHANGES/writer (created from contracts/ at start-up): %w", err)
	}
	store, err := adapters.NewStore(pool, cfg.Tenants, time.Now)
	if err != nil {
		return err
	}
	store.MatchEmails = !cfg.NoEmailMatch
	store.CustomFieldDefs = cfg.CustomFieldDefs
	store.Log = log
	fwd, err := newRelay(ctx, pool, nc.Conn, js, store, cfg, log)
	if err != nil {
		return err
	}
	consumer := &ports.Consumer{
		JS: js, Consumer: cons, Apply: app.ApplyChanges{Store: store, Rules: cfg.Rules}, Log: log, BatchSize: cfg.BatchSize,
		KnownTenant: func(t string) bool { _, ok := store.Scope(t); return ok }, DatabaseDown: store.DatabaseDown,
		DeadLettered: cfg.Metrics.deadLetter, Paused: cfg.Metrics.setPaused, Tracer: tracing.New(cfg.Tracer, TracerName),
		Committed: func(r app.Result) {
			if r.Created+r.Updated+r.Deleted+r.Conflicts > 0 {
				fwd.Wake()
			}
			cfg.Metrics.committed(r)
			if cfg.Committed != nil {
				cfg.Committed(r)
			}
		},
	}
	watch, err := natsconn.WatchMaxDeliveries(ctx, nc.Conn, js, events.StreamMercatoChanges, "writer", "writer", log)
	if err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return watch.Run(gctx) })
	g.Go(func() error { return consumer.Run(gctx) })
	g.Go(func() error { return fwd.Run(gctx) })
	err = g.Wait()
	if closed := natsconn.Cause(ctx); closed != nil {
		return fmt.Errorf("writer: %w", closed) // exit non-zero: a supervisor restarts the writer
	}
	return err
}

// openPool opens the writer's PostgreSQL pool; applying as a replication session is checked up front.
func openPool(ctx context.Context, cfg Config, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := adapters.NewPool(ctx, cfg.DatabaseURL, cfg.ReplicationRole)
	if err != nil {
		return nil, err
	}
	if cfg.ReplicationRole {
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("writer: applying as a replication session needs a role allowed to set session_replication_role "+
				"(a superuser, or on PostgreSQL 15+: GRANT SET ON PARAMETER session_replication_role TO <role>): %w", err)
		}
		log.Info("writer applies as a replication session: no triggers or foreign-key checks on its rows")
	}
	return pool, nil
}

// newRelay makes the outbox relay, sized to the streams' message limits. It publishes the batches this process
// just wrote from memory; a few cover a relay behind by a batch or two, older ones are read from the table.
func newRelay(ctx context.Context, pool *pgxpool.Pool, nc *nats.Conn, js jetstream.JetStream, store *adapters.Store, cfg Config,
	log *slog.Logger) (*relay.Forwarder, error) {
	fwd := relay.New(pool, js, log)
	store.Recent = relay.NewCache(4)
	fwd.Recent = store.Recent
	fwd.Relayed = cfg.Metrics.relay
	fwd.DeadLettered = cfg.Metrics.deadLetter
	var err error
	if fwd.Limit, err = natsconn.Limit(ctx, nc, js, events.StreamMercatoEvents); err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	if fwd.DeadLetterLimit, err = natsconn.Limit(ctx, nc, js, events.StreamDeadLetter); err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	return fwd, nil
}
