package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb"
	"github.com/orosync/orosync/oro"
	poller "github.com/orosync/orosync/services/poller/service"
	reconciler "github.com/orosync/orosync/services/reconciler/service"
	transformer "github.com/orosync/orosync/services/transformer/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// pipeline is one Oro connection wired through every service.
type pipeline struct {
	NatsURL string
	// NatsOptions go to every service's connections after orosync's own (natsconn.Options).
	NatsOptions []nats.Option
	DatabaseURL string
	Tenant      string
	Oro         oro.Config
	Scope       writer.Scope
	Types       []string
	PageSize    int
	Replicas    int
	Log         *slog.Logger
	// Intervals of the long-running mode.
	PollInterval      time.Duration
	ReconcileInterval time.Duration
	// LeasePeriod is the pollers' and reconcilers' lease period (0: coord.DefaultLeasePeriod).
	LeasePeriod time.Duration
	// PartsScanInterval is the poller's parts scan interval (addresses written without their owner); 0: its default.
	PartsScanInterval time.Duration
	// OnPollProgress and OnWrite report progress (demo).
	OnPollProgress func(pollerProgress)
	OnWrite        func(writer.Result)
	// Now is the poller's clock before Oro's Date header is known (tests share it with the simulator).
	Now func() time.Time
	// Rules are the writer's conflict policies; NoEmailMatch turns off the first-import email match.
	Rules        writer.Rules
	NoEmailMatch bool
	// WriterReplicationRole: the writer applies as a replication session (--writer-replication-role).
	WriterReplicationRole bool
	// Tenants, when set (orosync run --config), replace Tenant, Oro, Types and Scope: several connections.
	Tenants       []connection
	PollerMetrics *poller.Metrics
	WriterMetrics *writer.Metrics
	// TransformerMetrics counts the transformer's changes and dead letters.
	TransformerMetrics *transformer.Metrics
	// ReconcilerRegisterer receives the reconciler's metrics (the breaker, rounds, tombstones) when it starts,
	// once per process: a second reconciler on the same registry fails to register.
	ReconcilerRegisterer prometheus.Registerer
	// Services, when set (orosync run --services), are the only services this process runs; nil runs them all.
	Services services
	// HTTPTimeouts bound the webhook receiver's clients; zero: httpTimeouts' defaults.
	HTTPTimeouts httpTimeouts
	// Tracer, when set, traces each record from the poller to MERCATO_EVENTS (README, "Tracing"); nil: no spans.
	Tracer trace.TracerProvider
}

// Service names for orosync run --services. The webhook receiver belongs to the poller: both publish to ORO_RAW.
const (
	svcPoller      = "poller"
	svcTransformer = "transformer"
	svcWriter      = "writer"
	svcReconciler  = "reconciler"
)

var allServices = []string{svcPoller, svcTransformer, svcWriter, svcReconciler}

// services is a set of service names; the nil set holds every service.
type services map[string]bool

// parseServices reads a comma-separated list of services ("all" or empty: every one).
func parseServices(list string) (services, error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return nil, nil
	}
	out := services{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(allServices, name) {
			return nil, fmt.Errorf("--services: unknown service %q (known: %s)", name, strings.Join(allServices, ", "))
		}
		out[name] = true
	}
	return out, nil
}

func (s services) has(name string) bool { return s == nil || s[name] }

// String lists the set for logs.
func (s services) String() string {
	var names []string
	for _, n := range allServices {
		if s.has(n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// needsOro says whether any service of the set talks to Oro.
func (s services) needsOro() bool { return s.has(svcPoller) || s.has(svcReconciler) }

type pollerProgress struct {
	Type      string
	Done      int64
	Total     int64
	CaughtUp  bool
	Published int
}

// prepare applies the contracts (streams, consumers, buckets) unless told not to (the services' own NATS users may
// not: an admin applies them with orosync migrate --nats-url) and migrates orosync's tables.
func prepare(ctx context.Context, natsURL, databaseURL string, replicas int, applyContracts, withMercato bool, log *slog.Logger) error {
	if !applyContracts {
		return migrate(ctx, databaseURL, withMercato, log)
	}
	js, closeNC, err := connectJS(natsURL, "orosync-setup")
	if err != nil {
		return err
	}
	defer closeNC()
	if err := contracts.Ensure(ctx, js, contracts.Options{Replicas: replicas}); err != nil {
		return err
	}
	return migrate(ctx, databaseURL, withMercato, log)
}

// migrate applies the migrations, logging each one to log.
func migrate(ctx context.Context, databaseURL string, withMercato bool, log *slog.Logger) error {
	if withMercato {
		if err := mercatodb.EnsureDatabase(ctx, databaseURL); err != nil {
			return err
		}
	}
	db, err := mercatodb.OpenDB(databaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if withMercato {
		if err := mercatodb.MigrateMercato(ctx, db, mercatodb.WithLogger(log)); err != nil {
			return err
		}
	}
	return mercatodb.MigrateOrosync(ctx, db, mercatodb.WithLogger(log))
}

func (p pipeline) pollerConfig(once bool) poller.Config {
	return poller.Config{NatsURL: p.NatsURL, NatsOptions: p.NatsOptions, PageSize: p.PageSize, Interval: p.PollInterval, Logger: p.Log, Once: once, Now: p.Now,
		Tenants: p.pollerTenants(), Metrics: p.PollerMetrics, PartsScanInterval: p.PartsScanInterval, LeasePeriod: p.LeasePeriod,
		Tracer: p.Tracer,
		OnProgress: func(pr poller.Progress) {
			if p.OnPollProgress != nil {
				p.OnPollProgress(pollerProgress{Type: pr.Type, Done: pr.Cursor.Done, Total: pr.Total, CaughtUp: pr.CaughtUp, Published: pr.Published})
			}
		}}
}

func (p pipeline) reconcilerConfig() reconciler.Config {
	c := reconciler.Config{NatsURL: p.NatsURL, NatsOptions: p.NatsOptions, DatabaseURL: p.DatabaseURL, Logger: p.Log, Interval: p.ReconcileInterval, Now: p.Now,
		Tenants: p.reconcilerTenants(), Registerer: p.ReconcilerRegisterer, LeasePeriod: p.LeasePeriod,
		Tracer: p.Tracer}
	tune, err := envReconcileTuning()
	if err != nil {
		p.Log.Error("reconciler settings: the invalid ones keep their defaults", "err", err)
	}
	tune.apply(&c)
	return c
}

// writerGCPercent: the writer allocates per batch (decoded changes, encoded parameters, outbox JSON) and keeps
// little live, so a lazier collector saves CPU for some memory; 400 saved no more than 200 (README, "Measured
// capacity").
const writerGCPercent = 200

// tuneGC sets the collector's target for the services this process runs, the highest any of them asks for (the
// transformer's DefaultGCPercent, the writer's writerGCPercent), unless the operator set GOGC. It returns the
// restore.
func (p pipeline) tuneGC() (restore func()) {
	target := 0
	if p.Services.has(svcWriter) {
		target = writerGCPercent
	}
	if p.Services.has(svcTransformer) {
		target = max(target, transformer.DefaultGCPercent)
	}
	if target == 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(target)
	return func() { debug.SetGCPercent(old) }
}

func (p pipeline) startConsumers(ctx context.Context, g *errgroup.Group) {
	if p.Services.has(svcTransformer) {
		g.Go(func() error {
			// GCPercent -1: the process's target is set once for all its services (tuneGC).
			return transformer.Run(ctx, transformer.Config{NatsURL: p.NatsURL, NatsOptions: p.NatsOptions, Logger: p.Log, GCPercent: -1,
				Metrics: p.TransformerMetrics, Tracer: p.Tracer})
		})
	}
	if p.Services.has(svcWriter) {
		g.Go(func() error {
			// The custom field definitions are the mapping's the transformer runs (OROSYNC_MAPPING or the default).
			m, err := transformer.LoadMapping(os.Getenv("OROSYNC_MAPPING"))
			if err != nil {
				return err
			}
			return writer.Run(ctx, writer.Config{NatsURL: p.NatsURL, NatsOptions: p.NatsOptions, DatabaseURL: p.DatabaseURL, Logger: p.Log,
				Tenants: p.writerScopes(), Committed: p.OnWrite, Rules: p.Rules, NoEmailMatch: p.NoEmailMatch,
				ReplicationRole: p.WriterReplicationRole, Metrics: p.WriterMetrics, CustomFieldDefs: m.CustomFieldDefs(),
				Tracer: p.Tracer})
		})
	}
}

// Run runs the services of p.Services (every one when nil) until ctx is done.
func (p pipeline) Run(ctx context.Context) error {
	// The writer writes into the scopes; a process without it (and its NATS user) leaves the claim to the writer's.
	if p.Services.has(svcWriter) {
		if err := p.claimScopes(ctx); err != nil {
			return err
		}
	}
	defer p.tuneGC()()
	g, ctx := errgroup.WithContext(ctx)
	p.startConsumers(ctx, g)
	if p.Services.has(svcPoller) {
		g.Go(func() error { return poller.Run(ctx, p.pollerConfig(false)) })
		g.Go(func() error { return p.serveWebhooks(ctx) })
	}
	if p.Services.has(svcReconciler) {
		g.Go(func() error { return reconciler.Run(ctx, p.reconcilerConfig()) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// SyncReport is what one catch-up did.
type SyncReport struct {
	Reconcile reconciler.Report
}

// SyncOnce polls every type until caught up, lets the transformer and writer drain, runs one reconcile pass and
// drains again; then it stops the services.
func (p pipeline) SyncOnce(ctx context.Context) (SyncReport, error) {
	var rep SyncReport
	if err := p.claimScopes(ctx); err != nil {
		return rep, err
	}
	defer p.tuneGC()()
	svcCtx, stop := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(svcCtx)
	p.startConsumers(gctx, g)
	err := func() error {
		if err := poller.Run(gctx, p.pollerConfig(true)); err != nil {
			return err
		}
		if err := p.drain(gctx); err != nil {
			return err
		}
		r, err := reconciler.RunOnce(gctx, p.reconcilerConfig())
		if err != nil {
			return err
		}
		rep.Reconcile = r
		return p.drain(gctx)
	}()
	stop()
	if werr := g.Wait(); werr != nil && !errors.Is(werr, context.Canceled) && err == nil {
		err = werr
	}
	return rep, err
}

// drain waits until the transformer and writer have nothing pending and the outbox is relayed. The state lives
// on the NATS server and in PostgreSQL, so it is polled.
func (p pipeline) drain(ctx context.Context) error {
	js, closeNC, err := connectJS(p.NatsURL, "orosync-drain")
	if err != nil {
		return err
	}
	defer closeNC()
	db, err := mercatodb.OpenDB(p.DatabaseURL)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		idle, err := idle(ctx, js, db)
		if err != nil {
			return err
		}
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func idle(ctx context.Context, js jetstream.JetStream, db *sql.DB) (bool, error) {
	// In pipeline order: once the transformer has acknowledged everything up to ORO_RAW's last message, every
	// change it produced is already stored in MERCATO_CHANGES (it publishes before it acknowledges).
	for _, c := range [][2]string{{events.StreamOroRaw, "transformer"}, {events.StreamMercatoChanges, "writer"}} {
		done, err := consumedAll(ctx, js, c[0], c[1])
		if err != nil || !done {
			return false, err
		}
	}
	return outboxEmpty(ctx, db)
}

// outboxEmpty says whether the writer has relayed every event it committed.
func outboxEmpty(ctx context.Context, db *sql.DB) (bool, error) {
	var outbox int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM orosync_outbox) + (SELECT count(*) FROM orosync_outbox_batches)`).Scan(&outbox); err != nil {
		return false, fmt.Errorf("counting outbox: %w", err)
	}
	return outbox == 0, nil
}

// consumedAll says whether a consumer has acknowledged every message its stream held when asked. The stream's
// last sequence is read first and compared with the consumer's ack floor: the consumer's own pending count can
// lag a message that was just stored. A stream whose last messages were deleted ends at the last one it holds.
func consumedAll(ctx context.Context, js jetstream.JetStream, stream, consumer string) (bool, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return false, fmt.Errorf("stream %s: %w", stream, err)
	}
	si, err := st.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("stream %s: %w", stream, err)
	}
	cons, err := js.Consumer(ctx, stream, consumer)
	if err != nil {
		return false, fmt.Errorf("consumer %s/%s: %w", stream, consumer, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("consumer %s/%s: %w", stream, consumer, err)
	}
	last := si.State.LastSeq
	if si.State.NumDeleted > 0 {
		switch m, err := st.GetLastMsgForSubject(ctx, ">"); {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			last = 0
		case err != nil:
			return false, fmt.Errorf("stream %s: %w", stream, err)
		default:
			last = m.Sequence
		}
	}
	return info.AckFloor.Stream >= last && info.NumAckPending == 0 && info.NumPending == 0, nil
}
