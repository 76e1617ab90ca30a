package adapters

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

// Resolutions of a review-queue entry.
const (
	// TakeOro applies Oro's side: its values for the conflicting fields, or the deletion.
	TakeOro = "oro"
	// KeepMercato keeps Mercato's values (or the locally edited record, detached from the deleted Oro record).
	KeepMercato = "mercato"
	// CreateNew creates a new Mercato person for an email-match conflict.
	CreateNew = "new"
	// LinkPrefix + entity id links an email-match conflict to that candidate ("link:<uuid>").
	LinkPrefix = "link:"
)

// ErrBadResolution is returned for a resolution that does not fit the conflict's kind.
var ErrBadResolution = errors.New("resolution does not apply to this conflict")

// Resolve settles an open conflict and writes what the resolution implies into Mercato, with its events, in one
// transaction.
func (s *Store) Resolve(ctx context.Context, id int64, resolution string) error {
	r, err := s.Conflict(ctx, id)
	if err != nil {
		return err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("resolving conflict %d: %w", id, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM orosync_conflicts WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
		return fmt.Errorf("resolving conflict %d: %w", id, err)
	}
	if status != "open" {
		return fmt.Errorf("conflict %d is %s: %w", id, status, ErrBadResolution)
	}
	k := domain.Key{Tenant: r.Connection, SourceType: r.SourceType, SourceID: r.SourceID}
	if r.Change.Aggregate == events.AggregateCompany {
		if err := s.resolveCompany(ctx, tx, r, k, resolution); err != nil {
			return err
		}
		return s.closeConflict(ctx, tx, r, resolution)
	}
	stored, known, err := s.load(ctx, tx, []domain.Key{k})
	if err != nil {
		return err
	}
	st := stored[k]
	var outcomes []domain.Outcome
	switch {
	case r.Kind == domain.ConflictFieldMerge && resolution == TakeOro && st != nil && r.Change.Person != nil:
		after := *st
		after.Person = domain.TakeFields(st.Person, *r.Change.Person, r.Fields)
		outcomes = append(outcomes, domain.Outcome{Key: k, Before: st, Applied: true, After: after,
			Changed: !domain.SamePerson(after.Person, st.Person), Events: []string{"updated"}})
	case r.Kind == domain.ConflictDeleteLocalEdit && st != nil && !st.Deleted && (resolution == TakeOro || resolution == KeepMercato):
		after := *st
		after.Deleted = true
		o := domain.Outcome{Key: k, Before: st, Applied: true, After: after}
		if resolution == TakeOro {
			o.Changed, o.Events = true, []string{"deleted"}
		}
		// KeepMercato: only orosync's record is closed; the Mercato person stays, edited, and the next Oro
		// tombstone of it is a no-op.
		outcomes = append(outcomes, o)
	case r.Kind == domain.ConflictEmailMatch && st == nil && (resolution == CreateNew || len(resolution) > len(LinkPrefix) && resolution[:len(LinkPrefix)] == LinkPrefix):
		state := domain.State{}
		if resolution != CreateNew {
			want := resolution[len(LinkPrefix):]
			for _, c := range r.Candidates {
				if c.EntityID == want {
					state.Candidates = map[domain.Key][]domain.Candidate{k: {c}}
				}
			}
			if state.Candidates == nil {
				return fmt.Errorf("conflict %d: %s is not a candidate: %w", id, want, ErrBadResolution)
			}
		}
		outcomes = domain.Plan(state, nil, []events.Change{r.Change})
	case resolution == KeepMercato && r.Kind != domain.ConflictEmailMatch:
		// Nothing to write: Mercato's values stay; a later Oro change is merged against the same snapshot.
	default:
		return fmt.Errorf("conflict %d (%s): resolution %q: %w", id, r.Kind, resolution, ErrBadResolution)
	}
	if err := s.persist(ctx, tx, outcomes, known, "conflict-"+strconv.FormatInt(id, 10)); err != nil {
		return err
	}
	return s.closeConflict(ctx, tx, r, resolution)
}

// closeConflict marks a conflict resolved, announces it and commits.
func (s *Store) closeConflict(ctx context.Context, tx pgx.Tx, r ConflictRow, resolution string) error {
	id, now := r.ID, s.now().UTC()
	if _, err := tx.Exec(ctx, `UPDATE orosync_conflicts SET status = 'resolved', resolution = $2, resolved_at = $3, updated_at = $3
WHERE id = $1`, id, resolution, now); err != nil {
		return fmt.Errorf("resolving conflict %d: %w", id, err)
	}
	sc := s.scopes[r.Connection]
	ev := ConflictEvent{ID: id, Kind: r.Kind, SourceType: r.SourceType, SourceID: r.SourceID, Resolution: resolution,
		OrganizationID: sc.OrganizationID.String(), TenantID: sc.TenantID.String(), SyncOrigin: events.SyncOrigin}
	if r.EntityID != nil {
		ev.EntityID = r.EntityID.String()
	}
	row, err := conflictOutboxRow(r.Connection, EventConflictResolved, ev)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO orosync_outbox (subject, msg_id, event_type, headers, payload) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (msg_id) DO NOTHING`, row.Subject, row.MsgID, row.EventType, row.Headers, row.Payload); err != nil {
		return fmt.Errorf("resolving conflict %d: outbox: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("resolving conflict %d: commit: %w", id, err)
	}
	return nil
}

// resolveCompany writes what resolving a company's conflict implies (the caller closes the conflict).
func (s *Store) resolveCompany(ctx context.Context, tx pgx.Tx, r ConflictRow, k domain.Key, resolution string) error {
	stored, known, err := s.loadCompanies(ctx, tx, []domain.Key{k})
	if err != nil {
		return err
	}
	st := stored[k]
	var o *domain.CompanyOutcome
	switch {
	case st == nil || st.Missing:
		if resolution != KeepMercato {
			return fmt.Errorf("conflict %d: company %s/%s is gone: %w", r.ID, k.SourceType, k.SourceID, ErrBadResolution)
		}
	case r.Kind == domain.ConflictFieldMerge && resolution == TakeOro && r.Change.Company != nil:
		after := *st
		after.Company = domain.TakeCompanyFields(st.Company, *r.Change.Company, r.Fields)
		o = &domain.CompanyOutcome{Key: k, Before: st, Applied: true, After: after, Changed: !domain.SameCompany(after.Company, st.Company)}
		if o.Changed {
			o.Events = []string{"updated"}
		}
	case r.Kind == domain.ConflictDeleteLocalEdit && !st.Deleted && (resolution == TakeOro || resolution == KeepMercato):
		after := *st
		upTo := r.Change.SourceVersion
		if upTo.Compare(st.Version) < 0 {
			upTo = st.Version
		}
		after.Deleted, after.DeletedUpTo = true, &upTo
		o = &domain.CompanyOutcome{Key: k, Before: st, Applied: true, After: after}
		if resolution == TakeOro {
			o.Changed, o.Events = true, []string{"deleted"}
		}
		// KeepMercato: only orosync's record is closed; the company stays in Mercato, edited, with its addresses.
	case resolution == KeepMercato:
		// Mercato's values stay; a later Oro change is merged against the same snapshot.
	default:
		return fmt.Errorf("conflict %d (%s): resolution %q: %w", r.ID, r.Kind, resolution, ErrBadResolution)
	}
	if o == nil {
		return nil
	}
	if st.Base != nil && (!o.After.Deleted || !o.Changed) {
		o.Addresses = st.Base.Addresses // the addresses stay as the last version left them
	}
	o.Salt = "conflict-" + strconv.FormatInt(r.ID, 10)
	return s.persistCompanies(ctx, tx, []domain.CompanyOutcome{*o}, known)
}
