package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/oro"
	reconciler "github.com/orosync/orosync/services/reconciler/service"
)

// reconcileTuning is the reconciler's schedule and safety settings, from OROSYNC_RECONCILE_* variables (and the
// flags of `orosync reconcile`).
type reconcileTuning struct {
	cron          string
	auditInterval time.Duration
	grace         int
	maxShare      float64
	maxCount      int
	pageSize      int
}

func envReconcileTuning() (reconcileTuning, error) {
	t := reconcileTuning{cron: env("OROSYNC_RECONCILE_CRON", ""), auditInterval: envDuration("OROSYNC_RECONCILE_AUDIT_INTERVAL", 0)}
	var errs []error
	for _, v := range []struct {
		name string
		dst  *int
	}{{"OROSYNC_RECONCILE_GRACE_PASSES", &t.grace}, {"OROSYNC_RECONCILE_MAX_DELETE_COUNT", &t.maxCount}, {"OROSYNC_RECONCILE_PAGE_SIZE", &t.pageSize}} {
		if s := env(v.name, ""); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %q: not a number", v.name, s))
			}
			*v.dst = n
		}
	}
	if s := env("OROSYNC_RECONCILE_MAX_DELETE_SHARE", ""); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("OROSYNC_RECONCILE_MAX_DELETE_SHARE %q: not a number", s))
		}
		t.maxShare = f
	}
	return t, errors.Join(errs...)
}

func (t reconcileTuning) apply(c *reconciler.Config) {
	c.Cron, c.AuditInterval, c.GracePasses = t.cron, t.auditInterval, t.grace
	c.MaxDeleteShare, c.MaxDeleteCount, c.PageSize = t.maxShare, t.maxCount, t.pageSize
}

const reconcileUsage = `orosync reconcile [flags] | orosync reconcile --confirm [flags]

Without --confirm: one reconcile round now (Oro's audit log, then a full id diff per type), its passes printed.
With --confirm: releases the tripped mass-delete breaker of --tenant (every type, or --type); the next round may
delete as many records as the tripped one found.`

func cmdReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newCommand("reconcile", reconcileUsage, stdout, stderr)
	c.register(fs)
	confirm := fs.Bool("confirm", false, "release the tripped breaker instead of running a round")
	typ := fs.String("type", "", "with --confirm: only this Oro type (default: every tripped type of --tenant)")
	by := fs.String("by", env("USER", "operator"), "with --confirm: who confirmed, kept with the breaker state")
	tune, tuneErr := envReconcileTuning() // reported after the flags: -h works whatever the environment holds
	fs.IntVar(&tune.grace, "grace-passes", tune.grace, "complete passes that must miss a record before its diff tombstone (0: 2; OROSYNC_RECONCILE_GRACE_PASSES)")
	fs.Float64Var(&tune.maxShare, "max-delete-share", tune.maxShare, "breaker: share of a type one pass may delete (0: 0.05; OROSYNC_RECONCILE_MAX_DELETE_SHARE)")
	fs.IntVar(&tune.maxCount, "max-delete-count", tune.maxCount, "breaker: records of a type one pass may delete (0: no count limit; OROSYNC_RECONCILE_MAX_DELETE_COUNT)")
	fs.IntVar(&tune.pageSize, "page-size", tune.pageSize, "id listing page size tried first (0: 10000, lowered to Oro's max_entities; OROSYNC_RECONCILE_PAGE_SIZE)")
	if err := errors.Join(fs.parse(args), tuneErr); err != nil {
		return err
	}
	natsURL := c.natsURL
	if natsURL == "" {
		srv, url, err := embeddedNATS(c.dataDir, -1)
		if err != nil {
			return err
		}
		defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
		natsURL = url
	}
	if *confirm {
		return confirmBreakers(ctx, stdout, natsURL, c.tenant, *typ, *by)
	}
	if c.oroURL == "" {
		return errors.New("reconcile: --oro-url (OROSYNC_ORO_URL) is required to run a round")
	}
	tid, oid, err := c.scope()
	if err != nil {
		return err
	}
	cfg := reconciler.Config{NatsURL: natsURL, DatabaseURL: c.databaseURL, Logger: c.logger(stderr),
		Tenants: map[string]reconciler.Tenant{c.tenant: {
			Oro:   oro.Config{BaseURL: c.oroURL, ClientID: c.oroClientID, ClientSecret: c.oroSecret, UserAgent: "orosync"},
			Scope: reconciler.Scope{TenantID: tid, OrganizationID: oid}, Types: c.typeList()}}}
	tune.apply(&cfg)
	rep, err := reconciler.RunOnce(ctx, cfg)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tTYPE\tLISTED\tPAGES\tHELD\tMISSING\tWAITING\tTOMBSTONES\tAUDIT\tFETCHED\tREPAIRED\tBREAKER")
	for _, p := range rep.Passes {
		b := "ok"
		if p.Breaker.Tripped {
			b = "TRIPPED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", p.Tenant, p.Type, p.Listed, p.Pages, p.Held, p.Missing,
			p.Waiting, p.Published, p.Audited, p.Fetched, p.Repaired, b)
	}
	if ferr := tw.Flush(); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

func reconcilerKV(ctx context.Context, natsURL string) (jetstream.KeyValue, func(), error) {
	return cursorsKV(ctx, natsURL, "orosync-reconcile")
}

// releaseBreakers releases the tripped breakers of tenant (every type, or typ) as by: the breakers released.
func releaseBreakers(ctx context.Context, natsURL, tenant, typ, by string) ([]reconciler.TypeState, error) {
	kv, closeFn, err := reconcilerKV(ctx, natsURL)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	return reconciler.Confirm(ctx, kv, tenant, typ, by, time.Now())
}

// releasedText says what releasing s allows.
func releasedText(s reconciler.TypeState) string {
	return fmt.Sprintf("released %s/%s: the next round may delete up to %d of %d records (tripped %s on the %s path)",
		s.Tenant, s.Type, s.Breaker.Missing, s.Breaker.Held, s.Breaker.TrippedAt.Format(time.RFC3339), s.Breaker.Path)
}

// breakerText is a breaker's state: ok, tripped (and what would be deleted), or confirmed.
func breakerText(s reconciler.TypeState) string {
	switch {
	case !s.Breaker.Tripped:
		return "ok"
	case s.Breaker.Confirmed:
		return fmt.Sprintf("confirmed by %s, applies next round (%d deletes)", s.Breaker.ConfirmedBy, s.Breaker.Missing)
	}
	return fmt.Sprintf("TRIPPED: %d of %d would be deleted (%s path)", s.Breaker.Missing, s.Breaker.Held, s.Breaker.Path)
}

// auditCursorText is where the reconciler's audit-log reading stands.
func auditCursorText(s reconciler.TypeState) string {
	switch {
	case s.Audit.Unavailable != "":
		return "unavailable: " + s.Audit.Unavailable
	case !s.Audit.LoggedAt.IsZero():
		return fmt.Sprintf("%s #%d", s.Audit.LoggedAt.Format(time.RFC3339), s.Audit.LastID)
	}
	return "-"
}

func confirmBreakers(ctx context.Context, w io.Writer, natsURL, tenant, typ, by string) error {
	released, err := releaseBreakers(ctx, natsURL, tenant, typ, by)
	for _, s := range released {
		fmt.Fprintln(w, releasedText(s))
	}
	if err != nil {
		return err
	}
	if len(released) == 0 {
		fmt.Fprintf(w, "no tripped breaker for tenant %s%s\n", tenant, map[bool]string{true: " type " + typ}[typ != ""])
	}
	return nil
}

// printReconcilerState adds the reconciler's state to `orosync status`: tripped breakers (an alert), records
// waiting for their grace passes, the audit cursors.
func printReconcilerState(ctx context.Context, w io.Writer, natsURL, tenant string) error {
	kv, closeFn, err := reconcilerKV(ctx, natsURL)
	if err != nil {
		return err
	}
	defer closeFn()
	states, err := reconciler.States(ctx, kv, tenant, "")
	if err != nil || len(states) == 0 {
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECONCILER\tTYPE\tBREAKER\tWAITING\tAUDIT CURSOR")
	for _, s := range states {
		b := breakerText(s)
		if s.Breaker.Tripped && !s.Breaker.Confirmed {
			b += fmt.Sprintf("; release: orosync reconcile --confirm --tenant %s --type %s", s.Tenant, s.Type)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Tenant, s.Type, b, s.Waiting, auditCursorText(s))
	}
	return tw.Flush()
}
