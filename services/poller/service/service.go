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
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/orosync/orosync/contracts/coord"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/poller/adapters"
	"github.com/orosync/orosync/services/poller/app"
	"github.com/orosync/orosync/services/poller/domain"
)

// Tenant is one Oro connection.
type Tenant struct {
	Oro   oro.Config
	Types []string
	// WebhookURL is the address Oro's webhooks deliver to for this tenant (this poller's receiver); empty: the
	// tenant does not use webhooks.
	WebhookURL string
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
	// SafetyNetInterval is the interval between rounds of a type whose changes Oro pushes by webhook; default
	// 10 × Interval.
	SafetyNetInterval time.Duration
	// CapabilityMaxAge is how long a cached capability probe is trusted at start-up; default 1h. A poll that
	// gets a 400 (or a 403 from the audit log) probes again in any case.
	CapabilityMaxAge time.Duration
	// AuditOverlap is how far before its cursor each audit-log read starts again; default 1 minute.
	AuditOverlap time.Duration
	// PartsScanInterval is how often a type with parts (contacts', leads' addresses) whose strategy is not the
	// hash scan is read again whole to find addresses written without their owner; default 1h, negative: never.
	PartsScanInterval time.Duration
	// Metrics receives run progress, ETA and published counts (nil: none).
	Metrics *Metrics
	// OnStrategy is told the strategy chosen for every type (after every probe).
	OnStrategy func(tenant string, p adapters.Probed)
	// LeasePeriod is how long a connection's lease lasts without renewal (coord.Lease): of several pollers of one
	// connection, one polls and the others take over within about that when it stops. 0: coord.DefaultLeasePeriod.
	LeasePeriod time.Duration
	// Holder names this instance in the leases (default coord.NewHolderID()).
	Holder string
	// Tracer, when set, starts a trace per record published (contracts/tracing); nil: no spans, no headers.
	Tracer trace.TracerProvider
}

// TracerName names the poller's spans' instrumentation scope; SpanPublish its span of a record it publishes.
const (
	TracerName  = "orosync/poller"
	SpanPublish = adapters.SpanPublish
)

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
	if cfg.SafetyNetInterval == 0 {
		cfg.SafetyNetInterval = 10 * cfg.Interval
	}
	if cfg.CapabilityMaxAge == 0 {
		cfg.CapabilityMaxAge = time.Hour
	}
	if cfg.PartsScanInterval == 0 {
		cfg.PartsScanInterval = time.Hour
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("service", "poller")
	nc, err := natsconn.Connect(cfg.NatsURL, "orosync-poller", log, cfg.NatsOptions...)
	if err != nil {
		return fmt.Errorf("poller: %w", err)
	}
	defer nc.Close()
	ctx, unguard := nc.Guard(ctx)
	defer unguard()
	js, err := jetstream.New(nc.Conn, jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(natsconn.PublishAckTimeout))
	if err != nil {
		return fmt.Errorf("poller: jetstream: %w", err)
	}
	pub, err := adapters.NewRawPublisher(ctx, nc.Conn, js)
	if err != nil {
		return fmt.Errorf("poller: %w", err)
	}
	pub.Tracer = tracing.New(cfg.Tracer, TracerName)
	var kv jetstream.KeyValue
	err = natsconn.Retry(ctx, "bucket OROSYNC_CURSORS", log, func(ctx context.Context) (err error) {
		kv, err = js.KeyValue(ctx, "OROSYNC_CURSORS")
		return err
	})
	if err != nil {
		return fmt.Errorf("poller: cursor bucket OROSYNC_CURSORS (created from contracts/ at start-up): %w", err)
	}
	parent := ctx
	g, ctx := errgroup.WithContext(ctx)
	budgets := map[string]*oro.Budget{}
	cursors := adapters.Cursors{KV: kv, Revisions: coord.NewRevisions()}
	holder := cfg.Holder
	if holder == "" {
		holder = coord.NewHolderID()
	}
	for name, t := range cfg.Tenants {
		client, err := oro.New(ctx, t.Oro)
		if err != nil {
			return fmt.Errorf("poller: tenant %s: %w", name, err)
		}
		budgets[name] = client.Budget()
		tlog := log.With("tenant", name)
		// One instance of the connection's pollers polls; the others stand by (README, "Several instances").
		lease := &coord.Lease{KV: kv, Key: coord.PollerLeaseKey(name), Holder: holder, Period: cfg.LeasePeriod, Log: tlog}
		g.Go(func() error {
			return lease.Run(ctx, func(ctx context.Context) error {
				return runTenant(ctx, cfg, name, t, client, pub, js, cursors, tlog)
			})
		})
	}
	err = g.Wait()
	if closed := natsconn.Cause(parent); closed != nil {
		return fmt.Errorf("poller: %w", closed) // exit non-zero: a supervisor restarts the poller
	}
	// The last state (what a finished run did) stays readable by `orosync status` after the poller stops.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 5*time.Second)
	defer cancel()
	for name, b := range budgets {
		if b.State().Requests == 0 {
			continue // a standby's: the active instance's state stays
		}
		if serr := cursors.SaveBudgetState(sctx, name, b.State()); serr != nil {
			log.Warn("saving final budget state", "tenant", name, "err", serr)
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// runTenant polls every type of one connection until ctx is done (or, with Once, every type caught up once).
func runTenant(ctx context.Context, cfg Config, name string, t Tenant, client *oro.Client, pub adapters.RawPublisher,
	js jetstream.JetStream, cursors adapters.Cursors, log *slog.Logger) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return reportBudget(ctx, cursors, name, client.Budget(), cfg.Once, log) })
	prober := app.Prober{Oro: client, PageSize: cfg.PageSize, WebhookURL: t.WebhookURL, Now: cfg.Now}
	for _, typ := range t.Types {
		poll := app.PollType{Oro: client, Audits: client, Publisher: pub, Cursors: cursors,
			Published: adapters.PublishedHashes{JS: js}, AuditOverlap: cfg.AuditOverlap,
			Tenant: name, Type: typ, PageSize: cfg.PageSize, SafetyLag: cfg.SafetyLag, OnProgress: cfg.OnProgress, Now: cfg.Now,
			Log: log, Include: oro.Parts(typ)}
		r := &typeRunner{poll: poll, prober: prober, caps: cursors, parts: adapters.PartsCursors(cursors), cfg: cfg,
			log:   log.With("type", typ),
			track: &tracker{tenant: name, typ: typ, kv: cursors, metrics: cfg.Metrics}}
		onProgress := cfg.OnProgress
		r.poll.OnProgress = func(p app.Progress) {
			r.track.step(ctx, p)
			if onProgress != nil {
				onProgress(p)
			}
		}
		g.Go(func() error { return r.loop(ctx) })
	}
	return g.Wait()
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

// typeRunner polls one type of one tenant with the strategy its capabilities allow.
type typeRunner struct {
	poll   app.PollType
	prober app.Prober
	caps   adapters.Cursors
	parts  adapters.PartsCursors
	cfg    Config
	log    *slog.Logger
	probed *adapters.Probed // nil: look at the cache or probe before the next round
	track  *tracker
}

// strategy returns the type's capabilities and strategy: cached when recent enough (or probed by this process
// already), probed otherwise.
func (r *typeRunner) strategy(ctx context.Context) (adapters.Probed, error) {
	if r.probed != nil {
		return *r.probed, nil
	}
	p, ok, err := r.caps.LoadCapabilities(ctx, r.poll.Tenant, r.poll.Type)
	if err != nil {
		return p, err
	}
	if !ok || r.now().Sub(p.Capabilities.ProbedAt) >= r.cfg.CapabilityMaxAge || p.Capabilities.PageSizeAsked != r.cfg.PageSize {
		topics, note, err := r.prober.WebhookTopics(ctx)
		if err != nil {
			return p, err
		}
		c, err := r.prober.Probe(ctx, r.poll.Type, topics, note)
		if err != nil {
			return p, err
		}
		p = adapters.Probed{Capabilities: c, Choice: domain.Choose(c)}
		if err := r.caps.SaveCapabilities(ctx, r.poll.Tenant, p); err != nil {
			return p, err
		}
		r.log.Info("capabilities probed", "strategy", p.Choice.Strategy, "reason", p.Choice.Reason, "max_page_size", c.MaxPageSize)
	}
	if r.cfg.OnStrategy != nil {
		r.cfg.OnStrategy(r.poll.Tenant, p)
	}
	r.probed = &p
	return p, nil
}

func (r *typeRunner) now() time.Time {
	if r.cfg.Now != nil {
		return r.cfg.Now()
	}
	return time.Now()
}

// round runs the chosen strategy once; a 400 (Oro no longer takes what the probe found) or a 403 from the audit
// log drops the cached probe so the next round probes and chooses again.
func (r *typeRunner) round(ctx context.Context) (interval time.Duration, err error) {
	interval = r.cfg.Interval
	p, err := r.strategy(ctx)
	if err != nil {
		return interval, err
	}
	if p.Choice.Webhooks {
		interval = r.cfg.SafetyNetInterval
	}
	poll := r.poll
	if n := p.Capabilities.MaxPageSize; n > 0 && n < poll.PageSize {
		poll.PageSize = n
	}
	r.track.start(p.Choice.Strategy)
	err = poll.RunStrategy(ctx, p.Choice.Strategy)
	if err == nil && p.Choice.Strategy != domain.HashScan {
		err = r.partsScan(ctx, poll)
	}
	if err != nil && (app.IsBadRequest(err) || oro.IsForbidden(err)) {
		r.log.Warn("Oro refused a request the probe allowed; probing again", "strategy", p.Choice.Strategy, "err", err)
		r.probed = nil
		if ferr := r.caps.ForgetCapabilities(ctx, r.poll.Tenant, r.poll.Type); ferr != nil {
			r.log.Warn("forgetting capabilities", "err", ferr)
		}
	}
	return interval, err
}

// partsScan runs the type's parts scan when it is due (app.PartsScanDue): a hash scan on a cursor of its own,
// without progress reports (the type's run is the delta strategy's).
func (r *typeRunner) partsScan(ctx context.Context, poll app.PollType) error {
	if len(oro.Parts(poll.Type)) == 0 || r.cfg.PartsScanInterval < 0 {
		return nil
	}
	c, err := r.parts.Load(ctx, poll.Tenant, poll.Type)
	if err != nil {
		return err
	}
	due, note := app.PartsScanDue(c, r.now(), r.cfg.PartsScanInterval)
	if note {
		return r.parts.Save(ctx, poll.Tenant, poll.Type, domain.Cursor{Strategy: domain.HashScan, PassedAt: r.now().UTC()})
	}
	if !due {
		return nil
	}
	poll.Cursors, poll.OnProgress = r.parts, nil
	r.log.Debug("parts scan: reading the type again for addresses written without their owner")
	return poll.RunHashScan(ctx)
}

func (r *typeRunner) loop(ctx context.Context) error {
	for {
		interval, err := r.round(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && r.cfg.Once:
			return err
		case err != nil:
			r.log.Warn("poll round failed; retrying after the interval", "err", err)
		case r.cfg.Once:
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}
