package adapters

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

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

// Resolutions of a review-queue entry (domain.TakeOro, ...).
const (
	TakeOro     = domain.TakeOro
	KeepMercato = domain.KeepMercato
	CreateNew   = domain.CreateNew
	LinkPrefix  = domain.LinkPrefix
)

// ErrBadResolution is returned for a resolution that does not fit the conflict's kind.
var ErrBadResolution = domain.ErrBadResolution

// review is what a resolution reads of the entry.
func (r ConflictRow) review() domain.Review {
	return domain.Review{ID: r.ID, Kind: r.Kind, Fields: r.Fields, Change: r.Change, Candidates: r.Candidates}
}

// Resolve settles an open conflict and writes what the resolution implies (domain.ResolvePerson,
// domain.ResolveCompany) into Mercato, with its events, in one transaction.
func (s *Store) Resolve(ctx context.Context, id int64, resolution string) error {
	r, err := s.Conflict(ctx, id)
	if err != nil {
		return err
	}
	tx, err := s.begin(ctx)
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
		err = s.resolveCompany(ctx, tx, r, k, resolution)
	} else {
		err = s.resolvePerson(ctx, tx, r, k, resolution)
	}
	if err != nil {
		return err
	}
	return s.closeConflict(ctx, tx, r, resolution)
}

func (s *Store) resolvePerson(ctx context.Context, tx pgx.Tx, r ConflictRow, k domain.Key, resolution string) error {
	stored, known, err := s.load(ctx, tx, []domain.Key{k})
	if err != nil {
		return err
	}
	outcomes, err := domain.ResolvePerson(r.review(), k, stored[k], resolution)
	if err != nil {
		return err
	}
	return s.persist(ctx, tx, outcomes, known, r.review().Salt())
}

func (s *Store) resolveCompany(ctx context.Context, tx pgx.Tx, r ConflictRow, k domain.Key, resolution string) error {
	stored, known, err := s.loadCompanies(ctx, tx, []domain.Key{k})
	if err != nil {
		return err
	}
	o, err := domain.ResolveCompany(r.review(), k, stored[k], resolution)
	if err != nil || o == nil {
		return err
	}
	return s.persistCompanies(ctx, tx, []domain.CompanyOutcome{*o}, known)
}
