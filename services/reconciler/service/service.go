// Package service wires the reconciler: Oro id listings and orosync_records → tombstones on ORO_RAW.
package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
	DefaultPageSize       = adapters.DefaultPageSize
	DefaultMaxDeleteShare = 0.5
	DefaultDeleteFloor    = 10
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
	// PageSize is page[size] of the id listings: 0 means 1000, -1 everything at once (Oro may cap it).
	PageSize int
	// MaxDeleteShare: a pass that would tombstone more than this share of a type's held records (and more than
	// DeleteFloor of them) is refused. 0 means 0.5.
	MaxDeleteShare float64
	// DeleteFloor is the number of tombstones a pass may always publish, whatever the share. 0 means 10; a
	// negative value means no floor.
	DeleteFloor int
	// Force overrides the share rule (an operator's decision after checking a refused pass).
	Force bool
	// Interval between the end of one round of passes and the start of the next (Run only). 0 means 15 minutes.
	Interval time.Duration
	Logger   *slog.Logger
	// Passed, when set, is called after every round Run completes (tests and progress reporting).
	Passed func(Report, error)
}

// Report sums the passes of one round; Passes has one entry per tenant and type, in tenant then type order.
type Report struct {
	domain.Counts
	Passes []app.Report
}

// RunOnce runs one pass for every configured tenant and type. A failed pass does not stop the others; the error
// joins every failure (errors.Is(err, domain.ErrTooManyDeletes) tells a refused pass).
func RunOnce(ctx context.Context, cfg Config) (Report, error) {
	r, err := open(ctx, cfg)
	if err != nil {
		return Report{}, err
	}
	defer r.close()
	return r.round(ctx)
}

// Run runs a round of passes at once and then every Interval until ctx is done. It returns an error only when it
// cannot start; failed passes are logged and retried next round.
func Run(ctx context.Context, cfg Config) error {
	r, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.close()
	interval := cfg.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	if interval < 0 {
		return fmt.Errorf("reconciler: interval %v: must be positive", interval)
	}
	r.log.Info("reconciler running", "interval", interval.String())
	return ports.Schedule{Interval: interval, Pass: func(ctx context.Context) {
		rep, err := r.round(ctx)
		if ctx.Err() != nil {
			return // a round cut short by shutdown is not reported
		}
		if cfg.Passed != nil {
			cfg.Passed(rep, err)
		}
	}}.Run(ctx)
}

type reconciler struct {
	handler *app.ReconcileHandler
	passes  []app.Reconcile
	log     *slog.Logger
	closers []func()
}

func (r *reconciler) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
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
	passes, err := passesOf(cfg.Tenants)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	r := &reconciler{passes: passes, log: log}
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
	lister, err := adapters.NewOroLister(clients, cfg.PageSize, log)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}

	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("reconciler: database: %w", err)
	}
	r.closers = append(r.closers, pool.Close)
	records, err := adapters.NewRecords(pool)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}

	nc, err := nats.Connect(cfg.NatsURL, append(slices.Clone(cfg.NatsOptions), nats.Name("orosync-reconciler"))...)
	if err != nil {
		return nil, fmt.Errorf("reconciler: connecting to %s: %w", redactURL(cfg.NatsURL), err)
	}
	r.closers = append(r.closers, nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("reconciler: jetstream: %w", err)
	}
	pub, err := adapters.NewTombstones(js, 0)
	if err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}

	r.handler, err = app.NewReconcileHandler(lister, records, pub, policy, time.Now)
	if err != nil {
		return nil, err
	}
	if policy.Force {
		log.Warn("reconciler forced: the delete share rule is off", "max_delete_share", policy.MaxShare, "delete_floor", policy.Floor)
	}
	return r, nil
}

func policyOf(cfg Config) (domain.Policy, error) {
	p := domain.Policy{MaxShare: cfg.MaxDeleteShare, Floor: cfg.DeleteFloor, Force: cfg.Force}
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

// round runs every pass once, logging each.
func (r *reconciler) round(ctx context.Context) (Report, error) {
	var (
		total Report
		errs  []error
	)
	for _, cmd := range r.passes {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		rep, err := r.handler.Handle(ctx, cmd)
		total.Passes = append(total.Passes, rep)
		total.Counts = total.Counts.Add(rep.Counts)
		attrs := []any{"tenant", cmd.Tenant, "type", cmd.Type, "listed", rep.Listed, "held", rep.Held,
			"missing", rep.Missing, "published", rep.Published, "duplicates", rep.Duplicates,
			"duration_ms", rep.Duration.Milliseconds()}
		if rep.Unparsable > 0 {
			r.log.Warn("held records with ids that are not Oro ids were left alone", "tenant", cmd.Tenant, "type", cmd.Type,
				"count", rep.Unparsable, "ids", rep.UnparsableIDs[:min(len(rep.UnparsableIDs), 20)])
		}
		switch {
		case errors.Is(err, domain.ErrTooManyDeletes):
			r.log.Error("reconcile pass refused", append(attrs, "err", err)...)
		case err != nil:
			r.log.Error("reconcile pass failed", append(attrs, "err", err)...)
		default:
			r.log.Info("reconcile pass", attrs...)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// redactURL hides a password in a URL list such as nats://user:pass@host:4222,nats://host2:4222.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "[unparsable URL]"
	}
	return u.Redacted()
}
