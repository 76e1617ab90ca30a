// Package app holds the reconciler's use cases for one tenant and one Oro type: the audit fast path (removes
// Oro's data audit logged → tombstones, no listing) and the full-id diff (a streaming merge of Oro's ids with
// Mercato's → tombstones after a grace, and records Mercato lacks fetched and published).
package app

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/services/reconciler/domain"
)

// Oro is what the reconciler reads from Oro.
type Oro interface {
	// ListIDs hands every id of typ (with its updatedAt where Oro has one) to page, ascending, and returns nil only
	// for a complete listing.
	ListIDs(ctx context.Context, tenant, typ string, last func() (uint64, bool), page func([]domain.Listed) error) (pages int, err error)
	// Fetch reads records by id as raw records (dead letters for those that cannot be).
	Fetch(ctx context.Context, tenant, typ string, ids []uint64, now time.Time) ([]events.RawRecord, []events.DeadLetter, error)
	// Removed yields the audit log's remove entries of typ since a time.
	Removed(ctx context.Context, tenant, typ string, since time.Time) iter.Seq2[oro.AuditEntry, error]
}

// HeldStream yields held ids in Oro's numeric order, with the updatedAt of the version applied.
type HeldStream interface {
	Next() (id string, updatedAt time.Time, ok bool, err error)
	Close()
}

// Records reads what orosync holds as live for a tenant scope and Oro type.
type Records interface {
	StreamHeld(ctx context.Context, scope domain.Scope, typ string) (HeldStream, error)
	Live(ctx context.Context, scope domain.Scope, typ string, ids []string) ([]domain.Held, error)
	LiveCount(ctx context.Context, scope domain.Scope, typ string) (int, error)
}

// Publisher publishes to ORO_RAW and waits until JetStream acknowledged every message. PublishRaw with a repair
// (the pass) publishes versions again that were lost on the way (events.HeaderRepair).
type Publisher interface {
	PublishTombstones(ctx context.Context, tombs []events.Tombstone) (published, duplicates int, err error)
	PublishRaw(ctx context.Context, recs []events.RawRecord, dead []events.DeadLetter, repair string) (int, error)
}

// State keeps grace, breaker and audit cursor per tenant and type.
type State interface {
	Grace(ctx context.Context, tenant, typ string) (domain.Grace, error)
	SaveGrace(ctx context.Context, tenant, typ string, g domain.Grace) error
	Breaker(ctx context.Context, tenant, typ string) (domain.Breaker, error)
	SaveBreaker(ctx context.Context, tenant, typ string, b domain.Breaker) error
	AuditCursor(ctx context.Context, tenant, typ string) (domain.AuditCursor, error)
	SaveAuditCursor(ctx context.Context, tenant, typ string, c domain.AuditCursor) error
	Repairs(ctx context.Context, tenant, typ string) (domain.Repairs, error)
	SaveRepairs(ctx context.Context, tenant, typ string, r domain.Repairs) error
}

// Reconcile asks for one round of a type: the audit fast path, and the full diff when Diff is set.
type Reconcile struct {
	Tenant string
	Scope  domain.Scope
	Type   string
	Diff   bool
}

// Report is the outcome of one round of a type.
type Report struct {
	Tenant, Type string
	// Pass is the diff pass's id (empty when the round ran the audit path only).
	Pass      string
	StartedAt time.Time
	Duration  time.Duration
	domain.Counts
	// Pages are the list requests of the diff.
	Pages int
	// UnparsableIDs are held ids that are not Oro ids (never tombstoned), at most domain.MaxReportedUnparsable.
	UnparsableIDs []string
	// Breaker is the type's breaker after the round (Tripped: an alert).
	Breaker domain.Breaker
	// AuditUnavailable says why the audit path could not run ("" when it ran or the type is not audited).
	AuditUnavailable string
}

// Options tune the handler; zero values take the defaults.
type Options struct {
	Policy      domain.Policy
	GracePasses int           // default domain.DefaultGracePasses
	AuditLag    time.Duration // re-read this much audit log before the cursor; default 5 min
	// AuditLookback is how far back the first audit read goes; default 1 h (older deletions are the diff's).
	AuditLookback time.Duration
	// MaxFetch bounds the records Oro lists but Mercato lacks, and those it lists newer than Mercato holds, that one
	// pass fetches; default 1000 each.
	MaxFetch int
	// RepairAfter is how old a version Oro lists newer than the one applied must be for the pass to publish it
	// again (a younger one may still be on its way through the pipeline); default 10 minutes.
	RepairAfter time.Duration
	Now         func() time.Time
}

// Handler runs rounds.
type Handler struct {
	oro       Oro
	records   Records
	publisher Publisher
	state     State
	opt       Options
}

// NewHandler refuses missing dependencies and invalid options.
func NewHandler(o Oro, r Records, p Publisher, s State, opt Options) (*Handler, error) {
	if o == nil || r == nil || p == nil || s == nil {
		return nil, errors.New("reconciler: Oro, a record store, a publisher and a state store are required")
	}
	if err := opt.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("reconciler: %w", err)
	}
	if opt.GracePasses == 0 {
		opt.GracePasses = domain.DefaultGracePasses
	}
	if opt.GracePasses < 1 {
		return nil, fmt.Errorf("reconciler: grace passes %d: must be at least 1", opt.GracePasses)
	}
	if opt.AuditLag == 0 {
		opt.AuditLag = 5 * time.Minute
	}
	if opt.AuditLookback == 0 {
		opt.AuditLookback = time.Hour
	}
	if opt.MaxFetch == 0 {
		opt.MaxFetch = 1000
	}
	if opt.RepairAfter == 0 {
		opt.RepairAfter = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Handler{oro: o, records: r, publisher: p, state: s, opt: opt}, nil
}

// Handle runs one round of a type. Nothing is published unless the audit log or a complete listing backs it and
// the breaker allows it; a tripped breaker is kept (with the pass's numbers) until a round within the limits or an
// operator's confirmation.
func (h *Handler) Handle(ctx context.Context, cmd Reconcile) (Report, error) {
	start := h.opt.Now()
	rep := Report{Tenant: cmd.Tenant, Type: cmd.Type, StartedAt: start}
	done := func(err error) (Report, error) {
		rep.Duration = h.opt.Now().Sub(start)
		if err != nil {
			return rep, fmt.Errorf("reconcile %s/%s: %w", cmd.Tenant, cmd.Type, err)
		}
		return rep, nil
	}
	if !events.ValidToken(cmd.Tenant) || !events.ValidToken(cmd.Type) {
		return done(fmt.Errorf("tenant %q and type %q must be valid subject tokens", cmd.Tenant, cmd.Type))
	}
	breaker, err := h.state.Breaker(ctx, cmd.Tenant, cmd.Type)
	if err != nil {
		return done(err)
	}
	r := round{h: h, cmd: cmd, rep: &rep, breaker: breaker, start: start}
	audit, aerr := r.audit(ctx)
	var derr error
	if cmd.Diff && !errors.Is(aerr, domain.ErrTooManyDeletes) {
		derr = r.diff(ctx, audit)
	}
	if serr := r.saveBreaker(ctx); serr != nil {
		return done(errors.Join(aerr, derr, serr))
	}
	rep.Breaker = r.breaker
	return done(errors.Join(aerr, derr))
}

// round is one round's working state.
type round struct {
	h       *Handler
	cmd     Reconcile
	rep     *Report
	start   time.Time
	breaker domain.Breaker
	tripped *domain.TooManyDeletesError
	tripAt  string // path
	allowed bool   // a confirmation was used
}

// check applies the breaker to deleting n of held records on a path.
func (r *round) check(path string, n, held int) error {
	if n == 0 {
		return nil
	}
	if r.breaker.Allows(n) {
		r.allowed = true
		return nil
	}
	err := r.h.opt.Policy.Check(n, held)
	var tm *domain.TooManyDeletesError
	if errors.As(err, &tm) {
		r.tripped, r.tripAt = tm, path
	}
	return err
}

func (r *round) saveBreaker(ctx context.Context) error {
	prev := r.breaker
	switch {
	case r.tripped != nil:
		r.breaker = domain.Breaker{Tripped: true, Path: r.tripAt, Pass: r.rep.Pass, TrippedAt: r.start.UTC(),
			Missing: r.tripped.Missing, Held: r.tripped.Held, Reason: r.tripped.Error()}
	case prev.Tripped && (r.allowed || r.cmd.Diff):
		// Released by a confirmation, or a full round within the limits: the alert ends.
		r.breaker = domain.Breaker{}
	default:
		return nil
	}
	if prev == r.breaker {
		return nil
	}
	return r.h.state.SaveBreaker(ctx, r.cmd.Tenant, r.cmd.Type, r.breaker)
}

// fetch reads ids from Oro and publishes them (repair: as repairs of the pass); it returns how many it published.
func (r *round) fetch(ctx context.Context, ids []uint64, repair string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	recs, dead, err := r.h.oro.Fetch(ctx, r.cmd.Tenant, r.cmd.Type, ids, r.h.opt.Now())
	if err != nil {
		return 0, err
	}
	return r.h.publisher.PublishRaw(ctx, recs, dead, repair)
}

// repair publishes again the stale versions not repaired before (domain.Repairs), as repairs of the pass.
func (r *round) repair(ctx context.Context, stale []domain.HeldID) error {
	repairs, err := r.h.state.Repairs(ctx, r.cmd.Tenant, r.cmd.Type)
	if err != nil {
		return err
	}
	due, next := repairs.Due(stale)
	if r.rep.Repaired, err = r.fetch(ctx, due, r.rep.Pass); err != nil {
		return err
	}
	if len(next) == 0 && len(repairs) == 0 {
		return nil
	}
	return r.h.state.SaveRepairs(ctx, r.cmd.Tenant, r.cmd.Type, next)
}

// audited is what the audit path found in a round.
type audited struct {
	// tombstoned are the ids it tombstoned: the diff treats them as no longer held.
	tombstoned map[uint64]bool
	// removed are the remove entries it read, by id: a record the diff misses and the log says was removed needs
	// no grace.
	removed map[uint64]oro.AuditEntry
}

// audit runs the fast path: the removes Oro's audit logged since the cursor become tombstones of the records
// still held, with the audit row as evidence.
func (r *round) audit(ctx context.Context) (audited, error) {
	var out audited
	cmd, h := r.cmd, r.h
	if _, audited := oro.AuditClass(cmd.Type); !audited {
		return out, nil // calls and notes: Oro does not audit them; the diff path alone finds their deletes
	}
	cur, err := h.state.AuditCursor(ctx, cmd.Tenant, cmd.Type)
	if err != nil {
		return out, err
	}
	removed := map[string]oro.AuditEntry{}
	next := cur
	for e, err := range h.oro.Removed(ctx, cmd.Tenant, cmd.Type, cur.Since(r.start, h.opt.AuditLag, h.opt.AuditLookback)) {
		if oro.IsForbidden(err) {
			r.rep.AuditUnavailable = "Oro answered 403 on the audit log (the API user lacks oro_dataaudit_view): deletes are found by the diff only"
			if cur.Unavailable == "" {
				cur.Unavailable = r.rep.AuditUnavailable
				return out, h.state.SaveAuditCursor(ctx, cmd.Tenant, cmd.Type, cur)
			}
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("reading the audit log: %w", err)
		}
		if e.ID <= cur.LastID || e.Action != oro.AuditRemove {
			continue // read before: the lag window re-reads rows for ones Oro's queue wrote late
		}
		removed[e.ObjectID] = e
		next = next.Advance(e.ID, e.LoggedAt)
	}
	if len(removed) == 0 {
		if next != cur {
			return out, h.state.SaveAuditCursor(ctx, cmd.Tenant, cmd.Type, next)
		}
		return out, nil
	}
	ids := make([]string, 0, len(removed))
	out.removed = make(map[uint64]oro.AuditEntry, len(removed))
	out.tombstoned = map[uint64]bool{}
	for id, e := range removed {
		ids = append(ids, id)
		if n, err := domain.ParseID(id); err == nil {
			out.removed[n] = e
		}
	}
	slices.Sort(ids)
	held, err := h.records.Live(ctx, cmd.Scope, cmd.Type, ids)
	if err != nil {
		return out, err
	}
	var tombs []events.Tombstone
	for _, hd := range held {
		e := removed[hd.ID]
		if !hd.Version.UpdatedAt.Before(e.LoggedAt) {
			// A version as new as the remove: the record may have come back (recreated with the same id) in the
			// same second. Oro keeps seconds, so only the diff can tell; it decides.
			continue
		}
		if n, err := domain.ParseID(hd.ID); err == nil {
			out.tombstoned[n] = true
		}
		at := e.LoggedAt.UTC()
		tombs = append(tombs, domain.Tombstones(cmd.Tenant, cmd.Type, []domain.Held{hd}, at, domain.ReasonAudit,
			&events.TombstoneEvidence{AuditID: e.ID, LoggedAt: &at})...)
	}
	if len(tombs) > 0 {
		live, err := h.records.LiveCount(ctx, cmd.Scope, cmd.Type)
		if err != nil {
			return audited{}, err
		}
		if err := r.check("audit", len(tombs), live); err != nil {
			return audited{}, err // the cursor stays: the same removes are read again once confirmed
		}
		pub, dup, err := h.publisher.PublishTombstones(ctx, tombs)
		r.rep.Published += pub
		r.rep.Duplicates += dup
		r.rep.Audited += pub
		if err != nil {
			return audited{}, fmt.Errorf("publishing audit tombstones (%d of %d acknowledged): %w", pub, len(tombs), err)
		}
	}
	if err := h.state.SaveAuditCursor(ctx, cmd.Tenant, cmd.Type, next); err != nil {
		return audited{}, err
	}
	return out, nil
}

// diff runs the full-id diff. Held ids are streamed before Oro is listed: a record held then and still in Oro is
// certainly listed (keyset paging skips no row that exists throughout), so only records Oro deleted can be
// missing. Listing first would tombstone records created in Oro and written by the writer while the listing ran.
// The ids the audit path tombstoned this round count as not held (a listed one was recreated, and is fetched
// again); missing ids the audit log says were removed need no grace.
func (r *round) diff(ctx context.Context, audit audited) error {
	cmd, h, rep := r.cmd, r.h, r.rep
	pass, err := uuid.NewV7()
	if err != nil {
		return err
	}
	rep.Pass = pass.String()
	stream, err := h.records.StreamHeld(ctx, cmd.Scope, cmd.Type)
	if err != nil {
		return fmt.Errorf("reading held records: %w", err)
	}
	defer stream.Close()
	m := domain.NewVersionedMerge(stream.Next, func(n uint64) bool { return audit.tombstoned[n] })
	m.AbsentCap, m.StaleBefore = h.opt.MaxFetch, r.start.Add(-h.opt.RepairAfter)
	rep.Pages, err = h.oro.ListIDs(ctx, cmd.Tenant, cmd.Type, m.Last, m.PageListed)
	if err == nil {
		err = m.Finish()
	}
	stream.Close()
	rep.Listed, rep.Held, rep.Unparsable, rep.UnparsableIDs = m.Listed, m.Held, m.Unparsable, m.UnparsableIDs
	if err != nil {
		return fmt.Errorf("listing incomplete, nothing published: %w", err)
	}
	rep.Missing, rep.Absent, rep.Stale = len(m.Missing), m.AbsentCount, m.StaleCount

	// Records Oro has and Mercato lacks (never landed, or deleted and recreated with the same id) land again, and
	// so do versions newer than the ones applied (a change lost on the way), as repairs.
	if rep.Fetched, err = r.fetch(ctx, m.Absent, ""); err != nil {
		return fmt.Errorf("fetching records Mercato lacks: %w", err)
	}
	if err := r.repair(ctx, m.Stale); err != nil {
		return fmt.Errorf("fetching records newer than Mercato holds: %w", err)
	}

	grace, err := h.state.Grace(ctx, cmd.Tenant, cmd.Type)
	if err != nil {
		return err
	}
	missing := make([]uint64, len(m.Missing))
	for i, x := range m.Missing {
		missing[i] = x.N
	}
	next, due, waiting := grace.Advance(rep.Pass, missing, h.opt.GracePasses)
	// A complete pass counts whatever follows: a tripped breaker waits for a confirmation, not for more passes.
	if err := h.state.SaveGrace(ctx, cmd.Tenant, cmd.Type, next); err != nil {
		return err
	}
	rep.Waiting = waiting
	if err := r.check("diff", len(m.Missing), m.Held); err != nil {
		return err
	}
	var ids []string
	for _, x := range m.Missing {
		_, isDue := due[x.N]
		_, removed := audit.removed[x.N]
		if isDue || removed {
			ids = append(ids, x.ID)
		}
		if removed && !isDue {
			rep.Waiting--
		}
	}
	if len(ids) == 0 {
		return nil
	}
	held, err := h.records.Live(ctx, cmd.Scope, cmd.Type, ids)
	if err != nil {
		return err
	}
	slices.SortFunc(held, func(a, b domain.Held) int {
		an, _ := domain.ParseID(a.ID)
		bn, _ := domain.ParseID(b.ID)
		if an != bn {
			if an < bn {
				return -1
			}
			return 1
		}
		return 0
	})
	tombs := make([]events.Tombstone, 0, len(held))
	audits := 0
	for _, hd := range held {
		n, _ := domain.ParseID(hd.ID)
		if e, ok := audit.removed[n]; ok { // missing from a complete listing, and the log says removed
			at := e.LoggedAt.UTC()
			tombs = append(tombs, domain.Tombstones(cmd.Tenant, cmd.Type, []domain.Held{hd}, at, domain.ReasonAudit,
				&events.TombstoneEvidence{AuditID: e.ID, LoggedAt: &at})...)
			audits++
			continue
		}
		tombs = append(tombs, domain.Tombstones(cmd.Tenant, cmd.Type, []domain.Held{hd}, r.start, domain.ReasonDiff,
			&events.TombstoneEvidence{Passes: due[n]})...)
	}
	pub, dup, err := h.publisher.PublishTombstones(ctx, tombs)
	rep.Published += pub
	rep.Duplicates += dup
	rep.Audited += min(audits, pub)
	if err != nil {
		return fmt.Errorf("publishing tombstones (%d of %d acknowledged): %w", pub, len(tombs), err)
	}
	return nil
}
