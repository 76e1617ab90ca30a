// Package service wires the reconciler: Oro id listings and orosync_records → tombstones on ORO_RAW.
package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/orosync/orosync/contracts/coord"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/reconciler/adapters"
	"github.com/orosync/orosync/services/reconciler/app"
	"github.com/orosync/orosync/services/reconciler/domain"
	"github.com/orosync/orosync/services/reconciler/ports"
)

// Defaults of Config's zero values.
const (
	DefaultInterval       = 15 * time.Minute
	DefaultAuditInterval  = time.Minute
	DefaultPageSize       = adapters.DefaultPageSize
	DefaultMaxDeleteShare = 0.05
	DefaultDeleteFloor    = 10
	DefaultGracePasses    = domain.DefaultGracePasses
)

// Scope is the Mercato tenant and organization an orosync connection writes into.
type Scope = domain.Scope

// Tenant is one orosync connection: its Oro, its Mercato scope and the Oro types to reconcile ("contacts", ...).
type Tenant struct {
	Oro   oro.Config
	Scope Scope
	Types []string
}

// Config of the reconciler.
type Config struct {
	NatsURL     string
	NatsOptions []nats.Option
	DatabaseURL string
	// Tenants maps each orosync connection name (a subject token) to its Oro and scope.
	Tenants map[string]Tenant
	// PageSize is the page[size] id listings try first: 0 means 10,000 (an instance with a lower max_entities
	// answers with its limit, which is used from then on), -1 everything at once.
	PageSize int
	// MaxDeleteShare: the breaker trips on a pass that would tombstone more than this share of a type's held
	// records (and more than DeleteFloor of them). 0 means 0.05.
	MaxDeleteShare float64
	// MaxDeleteCount: the breaker also trips above this many tombstones of a type in one pass (0: no count limit).
	MaxDeleteCount int
	// DeleteFloor is the number of tombstones a pass may always publish, whatever the share. 0 means 10; a
	// negative value means no floor.
	DeleteFloor int
	// Force turns the breaker off (an operator's decision; prefer `orosync reconcile --confirm`).
	Force bool
	// GracePasses is how many consecutive complete passes must miss a record before its diff tombstone (the audit
	// log confirming the remove skips it). 0 means 2.
	GracePasses int
	// Interval between the end of one full diff and the start of the next (Run only). 0 means 15 minutes.
	Interval time.Duration
	// Cron, when set, schedules full diffs in cron-style windows instead ("0 2-5 * * *": hourly from 2 to 5 am;
	// CRON_TZ=Europe/Warsaw prefix for a zone). Run only.
	Cron string
	// AuditInterval is the period of the audit fast path (Run only). 0 means 1 minute.
	AuditInterval time.Duration
	// AuditLag re-reads this much of the audit log before the cursor (Oro writes audit rows through its message
	// queue, late). 0 means 5 minutes.
	AuditLag time.Duration
	// MaxFetch bounds how many records Oro lists but Mercato lacks one pass fetches and publishes, and how many
	// whose version Oro lists newer than the one applied it repairs. 0 means 1000.
	MaxFetch int
	// RepairAfter is how old such a newer version must be before a pass repairs it (younger ones may be on their
	// way through the pipeline). 0 means 10 minutes.
	RepairAfter time.Duration
	// Registerer receives the reconciler's Prometheus metrics (nil: not exported).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Passed, when set, is called after every round Run completes (tests and progress reporting).
	Passed func(Report, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// LeasePeriod is how long a connection's lease lasts without renewal (Run only, coord.Lease): of several
	// reconcilers of one connection, one reconciles it and another takes over within about that when it stops.
	// 0: coord.DefaultLeasePeriod.
	LeasePeriod time.Duration
	// Holder names this instance in the leases (default coord.NewHolderID()).
	Holder string
	// Tracer, when set, starts a trace per tombstone and record published (contracts/tracing); nil: none.
	Tracer trace.TracerProvider
}

// TracerName names the reconciler's spans' instrumentation scope; SpanPublish its span of a version it publishes.
const (
	TracerName  = "orosync/reconciler"
	SpanPublish = adapters.SpanPublish
)

// Report sums the rounds of every type; Passes has one entry per tenant and type, in tenant then type order.
type Report struct {
	domain.Counts
	Passes []app.Report
	// Diff says the round ran full diffs (otherwise the audit path only).
	Diff bool
}

// RunOnce runs one round with a full diff for every configured tenant and type. A failed round of one type does
// not stop the others; the error joins every failure (errors.Is(err, domain.ErrTooManyDeletes) tells a tripped
// breaker, errors.Is(err, domain.ErrIncomplete) an incomplete listing).
func RunOnce(ctx context.Context, cfg Config) (Report, error) {
	r, err := open(ctx, cfg)
	if err != nil {
		return Report{}, err
	}
	defer r.close()
	return r.round(ctx, true)
}

// Run runs the audit fast path every AuditInterval and a full diff at once and then every Interval (or in the Cron
// windows) until ctx is done. It returns an error only when it cannot start; failed rounds are logged and retried.
func Run(ctx context.Context, cfg Config) error {
	r, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.close()
	sched := ports.Schedule{Audit: cfg.AuditInterval, FirstDiffNow: cfg.Cron == "", Now: cfg.Now}
	if sched.Audit == 0 {
		sched.Audit = DefaultAuditInterval
	}
	interval := cfg.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	if interval < 0 || sched.Audit < 0 {
		return fmt.Errorf("reconciler: intervals %v and %v: must be positive", interval, sched.Audit)
	}
	sched.Diff = ports.Every(interval)
	if cfg.Cron != "" {
		if sched.Diff, err = ports.Cron(cfg.Cron); err != nil {
			return fmt.Errorf("reconciler: %w", err)
		}
	}
	r.log.Info("reconciler running", "diff_interval", interval.String(), "diff_cron", cfg.Cron, "audit_interval", sched.Audit.String())
	sched.Round = func(ctx context.Context, diff bool) {
		rep, err := r.round(ctx, diff)
		if ctx.Err() != nil {
			return // a round cut short by shutdown is not reported
		}
		if cfg.Passed != nil {
			cfg.Passed(rep, err)
		}
	}
	ctx, unguard := r.nc.Guard(ctx)
	defer unguard()
	r.elect(ctx, cfg)
	err = sched.Run(ctx)
	if closed := natsconn.Cause(ctx); closed != nil {
		return fmt.Errorf("reconciler: %w", closed) // exit non-zero: a supervisor restarts the reconciler
	}
	return err
}

type reconciler struct {
	nc *natsconn.Conn
	kv jetstream.KeyValue
	// terms, when set (Run), holds the context of each connection's lease while this instance holds it: only
	// those connections are reconciled here.
	termsMu sync.Mutex
	terms   map[string]context.Context
	handler *app.Handler
	passes  []app.Reconcile
	metrics *adapters.Metrics
	log     *slog.Logger
	closers []func()
}

func (r *reconciler) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// records adapts adapters.Records to app.Records.
type records struct{ *adapters.Records }

func (r records) StreamHeld(ctx context.Context, scope domain.Scope, typ string) (app.HeldStream, error) {
	return r.Records.StreamHeld(ctx, scope, typ)
}

func open(ctx context.Context, cfg Config) (_ *reconciler, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("service", adapters.Stage)
	policy, err := policyOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	if cfg.GracePasses < 0 || cfg.MaxFetch < 0 || cfg.AuditLag < 0 || cfg.RepairAfter < 0 {
		return nil, fmt.Errorf("reconciler: grace passes %d, max fetch %d, audit lag %v and repair delay %v must not be negative",
			cfg.GracePasses, cfg.MaxFetch, cfg.AuditLag, cfg.RepairAfter)
	}
	passes, err := passesOf(cfg.Tenants)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	metrics, err := adapters.NewMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	r := &reconciler{passes: passes, log: log, metrics: metrics}
	defer func() {
		if err != nil {
			r.close()
		}
	}()

	clients := make(map[string]*oro.Client, len(cfg.Tenants))
	for name, t := range cfg.Tenants {
		t.Oro.Priority = oro.PriorityScan // the connection's budget serves delta polls first
		c, err := oro.New(ctx, t.Oro)
		if err != nil {
			return nil, fmt.Errorf("reconciler: tenant %q: %w", name, err)
		}
		clients[name] = c
		log.Info("reconciler tenant", "tenant", name, "oro", c, "types", t.Types,
			"tenant_id", t.Scope.TenantID, "organization_id", t.Scope.OrganizationID)
	}
	oroAdapter, err := adapters.NewOro(clients, cfg.PageSize, log)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}

	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("reconciler: database: %w", err)
	}
	r.closers = append(r.closers, pool.Close)
	recs, err := adapters.NewRecords(pool)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}

	nc, err := natsconn.Connect(cfg.NatsURL, "orosync-reconciler", log, cfg.NatsOptions...)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	r.closers = append(r.closers, nc.Close)
	r.nc = nc
	js, err := jetstream.New(nc.Conn, jetstream.WithPublishAsyncTimeout(natsconn.PublishAckTimeout))
	if err != nil {
		return nil, fmt.Errorf("reconciler: jetstream: %w", err)
	}
	pub, err := adapters.NewTombstones(js, 0)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	pub.Tracer = tracing.New(cfg.Tracer, TracerName)
	if pub.Limit, err = natsconn.Limit(ctx, nc.Conn, js, events.StreamOroRaw); err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	if pub.DeadLetterLimit, err = natsconn.Limit(ctx, nc.Conn, js, events.StreamDeadLetter); err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	var kv jetstream.KeyValue
	err = natsconn.Retry(ctx, "bucket "+adapters.CursorBucket, log, func(ctx context.Context) (err error) {
		kv, err = js.KeyValue(ctx, adapters.CursorBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reconciler: state bucket %s (created from contracts/ at start-up): %w", adapters.CursorBucket, err)
	}

	r.kv = kv
	r.handler, err = app.NewHandler(oroAdapter, records{recs}, pub, adapters.State{KV: kv, Revisions: coord.NewRevisions()}, app.Options{
		Policy: policy, GracePasses: cfg.GracePasses, AuditLag: cfg.AuditLag, MaxFetch: cfg.MaxFetch, RepairAfter: cfg.RepairAfter,
		Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	if policy.Force {
		log.Warn("reconciler forced: the mass-delete breaker is off", "max_delete_share", policy.MaxShare, "delete_floor", policy.Floor)
	}
	return r, nil
}

func policyOf(cfg Config) (domain.Policy, error) {
	p := domain.Policy{MaxShare: cfg.MaxDeleteShare, MaxCount: cfg.MaxDeleteCount, Floor: cfg.DeleteFloor, Force: cfg.Force}
	if p.MaxShare == 0 {
		p.MaxShare = DefaultMaxDeleteShare
	}
	switch {
	case p.Floor == 0:
		p.Floor = DefaultDeleteFloor
	case p.Floor < 0:
		p.Floor = 0
	}
	return p, p.Validate()
}

// passesOf lists one pass per tenant and type, sorted, after checking names and scopes.
func passesOf(tenants map[string]Tenant) ([]app.Reconcile, error) {
	if len(tenants) == 0 {
		return nil, errors.New("no tenants configured")
	}
	var passes []app.Reconcile
	for name, t := range tenants {
		if !events.ValidToken(name) {
			return nil, fmt.Errorf("tenant name %q: must be a subject token (letters, digits, _ and -)", name)
		}
		if t.Scope.TenantID == uuid.Nil || t.Scope.OrganizationID == uuid.Nil {
			return nil, fmt.Errorf("tenant %q: scope needs a tenant id and an organization id", name)
		}
		if len(t.Types) == 0 {
			return nil, fmt.Errorf("tenant %q: no Oro types to reconcile", name)
		}
		seen := map[string]bool{}
		for _, typ := range t.Types {
			if !events.ValidToken(typ) {
				return nil, fmt.Errorf("tenant %q: Oro type %q: must be a subject token", name, typ)
			}
			if !seen[typ] {
				seen[typ] = true
				passes = append(passes, app.Reconcile{Tenant: name, Scope: t.Scope, Type: typ})
			}
		}
	}
	slices.SortFunc(passes, func(a, b app.Reconcile) int {
		return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.Type, b.Type))
	})
	return passes, nil
}

// elect runs, until ctx is done, one lease per connection (coord.Lease): of several reconcilers of a connection,
// the one holding it reconciles the connection, the others stand by. It returns after the first attempt at every
// lease, so the first round already knows which connections are this instance's.
func (r *reconciler) elect(ctx context.Context, cfg Config) {
	r.terms = map[string]context.Context{}
	holder := cfg.Holder
	if holder == "" {
		holder = coord.NewHolderID()
	}
	var tried []chan struct{}
	for name := range cfg.Tenants {
		lease := &coord.Lease{KV: r.kv, Key: coord.ReconcilerLeaseKey(name), Holder: holder, Period: cfg.LeasePeriod,
			Log: r.log.With("tenant", name), Tried: make(chan struct{}),
			Taken: func(term context.Context) {
				r.termsMu.Lock()
				r.terms[name] = term
				r.termsMu.Unlock()
			}}
		tried = append(tried, lease.Tried)
		go func() {
			_ = lease.Run(ctx, func(term context.Context) error {
				<-term.Done()
				r.termsMu.Lock()
				delete(r.terms, name)
				r.termsMu.Unlock()
				return nil
			})
		}()
	}
	for _, t := range tried {
		select {
		case <-t:
		case <-ctx.Done():
			return
		}
	}
}

// term is the context of tenant's lease, or nil when this instance does not hold it; without elections (RunOnce)
// every tenant is this instance's, for ctx.
func (r *reconciler) term(ctx context.Context, tenant string) context.Context {
	r.termsMu.Lock()
	defer r.termsMu.Unlock()
	if r.terms == nil {
		return ctx
	}
	return r.terms[tenant]
}

// round runs every type once, logging each.
func (r *reconciler) round(ctx context.Context, diff bool) (Report, error) {
	total := Report{Diff: diff}
	var errs []error
	for _, cmd := range r.passes {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		term := r.term(ctx, cmd.Tenant)
		if term == nil {
			continue // another instance reconciles this connection
		}
		cmd.Diff = diff
		pctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(term, cancel) // the lease lost mid-pass ends the pass
		rep, err := r.handler.Handle(pctx, cmd)
		stop()
		cancel()
		total.Passes = append(total.Passes, rep)
		total.Counts = total.Counts.Add(rep.Counts)
		r.observe(cmd, rep, err)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

func (r *reconciler) observe(cmd app.Reconcile, rep app.Report, err error) {
	kind := "audit"
	if cmd.Diff {
		kind = "diff"
	}
	result := "ok"
	switch {
	case errors.Is(err, domain.ErrTooManyDeletes):
		result = "tripped"
	case errors.Is(err, domain.ErrIncomplete):
		result = "incomplete"
	case err != nil:
		result = "failed"
	}
	r.metrics.Observe(adapters.Round{Tenant: cmd.Tenant, Type: cmd.Type, Kind: kind, Result: result, Tripped: rep.Breaker.Tripped,
		Waiting: rep.Waiting, Audited: rep.Audited, Diffed: rep.Published - rep.Audited, Fetched: rep.Fetched, Repaired: rep.Repaired,
		Pages: rep.Pages, Unparsable: rep.Unparsable})
	attrs := []any{"tenant", cmd.Tenant, "type", cmd.Type, "kind", kind, "pass", rep.Pass, "listed", rep.Listed, "pages", rep.Pages,
		"held", rep.Held, "missing", rep.Missing, "waiting", rep.Waiting, "absent", rep.Absent, "fetched", rep.Fetched,
		"stale", rep.Stale, "repaired", rep.Repaired,
		"published", rep.Published, "audited", rep.Audited, "duplicates", rep.Duplicates, "duration_ms", rep.Duration.Milliseconds()}
	if rep.Unparsable > 0 {
		r.log.Warn("held records with ids that are not Oro ids were left alone", "tenant", cmd.Tenant, "type", cmd.Type,
			"count", rep.Unparsable, "ids", rep.UnparsableIDs)
	}
	if rep.AuditUnavailable != "" {
		r.log.Warn("audit log unavailable", "tenant", cmd.Tenant, "type", cmd.Type, "why", rep.AuditUnavailable)
	}
	switch {
	case errors.Is(err, domain.ErrTooManyDeletes):
		r.log.Error("reconcile breaker tripped: nothing published; release with `orosync reconcile --confirm`",
			append(attrs, "err", err)...)
	case err != nil:
		r.log.Error("reconcile round failed", append(attrs, "err", err)...)
	case cmd.Diff || rep.Published > 0:
		r.log.Info("reconcile round", attrs...)
	default:
		r.log.Debug("reconcile round", attrs...)
	}
}
