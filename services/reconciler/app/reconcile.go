// Package app holds the reconciler's use case: one reconcile pass for one tenant and one Oro type.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/reconciler/domain"
)

// Lister lists every live id of an Oro type of a tenant. It returns an error unless every page succeeded.
type Lister interface {
	ListIDs(ctx context.Context, tenant, typ string) (*domain.Listing, error)
}

// Records reads what orosync holds as live for a tenant scope and Oro type.
type Records interface {
	Live(ctx context.Context, scope domain.Scope, typ string) ([]domain.Held, error)
}

// Publisher publishes tombstones and waits until JetStream acknowledged every one. It returns how many were
// acknowledged, and how many of those JetStream had already stored.
type Publisher interface {
	PublishTombstones(ctx context.Context, tombs []events.Tombstone) (published, duplicates int, err error)
}

// Reconcile asks for one pass: find the records of Type that tenant's Oro deleted and publish their tombstones.
type Reconcile struct {
	Tenant string
	Scope  domain.Scope
	Type   string
}

// Report is the outcome of one pass.
type Report struct {
	Tenant, Type string
	StartedAt    time.Time
	Duration     time.Duration
	domain.Counts
	// UnparsableIDs are the held ids that are not Oro ids (see domain.Diff), never tombstoned.
	UnparsableIDs []string
}

// ReconcileHandler runs passes.
type ReconcileHandler struct {
	lister    Lister
	records   Records
	publisher Publisher
	policy    domain.Policy
	now       func() time.Time
}

// NewReconcileHandler refuses missing dependencies and an invalid policy; now may be nil (time.Now).
func NewReconcileHandler(l Lister, r Records, p Publisher, policy domain.Policy, now func() time.Time) (*ReconcileHandler, error) {
	if l == nil || r == nil || p == nil {
		return nil, errors.New("reconciler: a lister, a record store and a publisher are required")
	}
	if err := policy.Validate(); err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &ReconcileHandler{lister: l, records: r, publisher: p, policy: policy, now: now}, nil
}

// Handle runs one pass. Held records are read before Oro is listed: a record held then and still in Oro is
// certainly listed (keyset paging skips no row that exists throughout), so only records Oro deleted can be missing.
// Listing first would tombstone records created in Oro and written by the writer while the listing ran.
// Nothing is published unless the listing completed and the share rule allows it.
func (h *ReconcileHandler) Handle(ctx context.Context, cmd Reconcile) (Report, error) {
	start := h.now()
	rep := Report{Tenant: cmd.Tenant, Type: cmd.Type, StartedAt: start}
	fail := func(err error) (Report, error) {
		rep.Duration = h.now().Sub(start)
		return rep, fmt.Errorf("reconcile %s/%s: %w", cmd.Tenant, cmd.Type, err)
	}
	if !events.ValidToken(cmd.Tenant) || !events.ValidToken(cmd.Type) {
		return fail(fmt.Errorf("tenant %q and type %q must be valid subject tokens", cmd.Tenant, cmd.Type))
	}

	held, err := h.records.Live(ctx, cmd.Scope, cmd.Type)
	if err != nil {
		return fail(fmt.Errorf("reading held records: %w", err))
	}
	rep.Held = len(held)

	listed, err := h.lister.ListIDs(ctx, cmd.Tenant, cmd.Type)
	if err != nil {
		return fail(fmt.Errorf("listing incomplete, nothing published: %w", err))
	}
	rep.Listed = listed.Len()

	diff := domain.Compare(listed, held)
	rep.Missing, rep.Unparsable = len(diff.Missing), len(diff.Unparsable)
	for _, u := range diff.Unparsable {
		rep.UnparsableIDs = append(rep.UnparsableIDs, u.ID)
	}
	if err := h.policy.Check(rep.Missing, rep.Held); err != nil {
		return fail(err)
	}
	if rep.Missing == 0 {
		rep.Duration = h.now().Sub(start)
		return rep, nil
	}
	tombs := domain.Tombstones(cmd.Tenant, cmd.Type, diff.Missing, start)
	rep.Published, rep.Duplicates, err = h.publisher.PublishTombstones(ctx, tombs)
	if err != nil {
		return fail(fmt.Errorf("publishing tombstones (%d of %d acknowledged): %w", rep.Published, len(tombs), err))
	}
	rep.Duration = h.now().Sub(start)
	return rep, nil
}
