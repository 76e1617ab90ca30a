package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// Conflict events, shared with Mercato's subscribers through the events package.
const (
	EventConflictOpened   = events.EventConflictOpened
	EventConflictResolved = events.EventConflictResolved
)

// ConflictEvent is the payload of the conflict events.
type ConflictEvent = events.ConflictEvent

const queueConflictSQL = `
INSERT INTO orosync_conflicts (tenant_id, organization_id, connection, source_type, source_id, internal_entity_type,
       internal_entity_id, kind, fields, change, local, base, candidates, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
ON CONFLICT (tenant_id, organization_id, source_type, source_id, kind) WHERE status = 'open'
DO UPDATE SET internal_entity_id = EXCLUDED.internal_entity_id, fields = EXCLUDED.fields, change = EXCLUDED.change,
       local = EXCLUDED.local, base = EXCLUDED.base, candidates = EXCLUDED.candidates, updated_at = EXCLUDED.updated_at
RETURNING id, xmax = 0`

// queueConflict opens (or refreshes) the review-queue entry of a record; a newly opened one yields an event.
func (s *Store) queueConflict(ctx context.Context, tx pgx.Tx, k domain.Key, sc Scope, c *rowkit.Cipher, entity *uuid.UUID,
	cf domain.Conflict, now time.Time) (*model.OrosyncOutbox, error) {
	fields, _ := json.Marshal(orEmpty(cf.Fields))
	change, err := rowkit.SealJSON(c, cf.Change)
	if err != nil {
		return nil, err
	}
	var local, base *string
	var localV, baseV any
	switch {
	case cf.LocalCompany != nil:
		localV, baseV = cf.LocalCompany, cf.BaseCompany
	case cf.Local != nil:
		localV, baseV = cf.Local, cf.Base
	}
	if localV != nil {
		l, err := rowkit.SealJSON(c, localV)
		if err != nil {
			return nil, err
		}
		local = &l
	}
	if baseV != nil && !isNilCompany(baseV) {
		b, err := rowkit.SealJSON(c, baseV)
		if err != nil {
			return nil, err
		}
		base = &b
	}
	cands, err := rowkit.SealJSON(c, orEmpty(cf.Candidates))
	if err != nil {
		return nil, err
	}
	var (
		id     int64
		opened bool
	)
	if err := tx.QueryRow(ctx, queueConflictSQL, sc.TenantID, sc.OrganizationID, k.Tenant, k.SourceType, k.SourceID,
		cf.Change.Aggregate, entity, cf.Kind, string(fields), change, local, base, cands, now).Scan(&id, &opened); err != nil {
		return nil, fmt.Errorf("writer: queueing %s conflict of %s/%s: %w", cf.Kind, k.SourceType, k.SourceID, err)
	}
	if !opened {
		return nil, nil
	}
	ev := ConflictEvent{ID: id, Kind: cf.Kind, SourceType: k.SourceType, SourceID: k.SourceID,
		OrganizationID: sc.OrganizationID.String(), TenantID: sc.TenantID.String(), SyncOrigin: events.SyncOrigin}
	if entity != nil {
		ev.EntityID = entity.String()
	}
	row, err := conflictOutboxRow(k.Tenant, EventConflictOpened, ev)
	return &row, err
}

func isNilCompany(v any) bool {
	c, ok := v.(*events.Company)
	return ok && c == nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func conflictOutboxRow(tenant, name string, ev ConflictEvent) (model.OrosyncOutbox, error) {
	id := strconv.FormatInt(ev.ID, 10)
	subject, err := events.EventSubject(tenant, name, id)
	if err != nil {
		return model.OrosyncOutbox{}, err
	}
	env := events.Envelope{ID: events.ID("evt", name, ev.TenantID, ev.OrganizationID, id), Source: events.Source(tenant, "writer"),
		Type: name, Subject: id, Time: time.Now().UTC()}
	body, _ := json.Marshal(ev)
	headers := rowkit.OutboxHeaders(env)
	return model.OrosyncOutbox{Subject: subject, MsgID: env.ID, EventType: name, Headers: string(headers), Payload: string(body)}, nil
}

// ConflictRow is one review-queue entry, decrypted.
type ConflictRow struct {
	ID                   int64
	Connection           string
	SourceType, SourceID string
	EntityID             *uuid.UUID
	Kind                 string
	Fields               []string
	Change               events.Change
	Local, Base          *events.Person
	// LocalCompany and BaseCompany are set instead for a company's conflict (Change.Aggregate customers.company).
	LocalCompany, BaseCompany *events.Company
	Candidates                []domain.Candidate
	Status                    string
	Resolution                *string
	CreatedAt, UpdatedAt      time.Time
	ResolvedAt                *time.Time
}

// ErrNoConflict is returned for an unknown conflict id (or one of another tenant).
var ErrNoConflict = errors.New("no such conflict")

const conflictColumns = `id, connection, source_type, source_id, internal_entity_id, kind, fields, change, local, base, candidates,
       status, resolution, created_at, updated_at, resolved_at`

// Conflicts lists the review queue of the store's tenants; status "" means every status.
func (s *Store) Conflicts(ctx context.Context, status string, limit int) ([]ConflictRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+conflictColumns+` FROM orosync_conflicts
WHERE ($1 = '' OR status = $1) ORDER BY id LIMIT $2`, status, limit)
	if err != nil {
		return nil, fmt.Errorf("listing conflicts: %w", err)
	}
	defer rows.Close()
	var out []ConflictRow
	for rows.Next() {
		r, err := s.scanConflict(rows)
		if err != nil {
			return nil, err
		}
		if _, ok := s.scopes[r.Connection]; ok {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// Conflict returns one review-queue entry.
func (s *Store) Conflict(ctx context.Context, id int64) (ConflictRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+conflictColumns+` FROM orosync_conflicts WHERE id = $1`, id)
	if err != nil {
		return ConflictRow{}, fmt.Errorf("conflict %d: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return ConflictRow{}, fmt.Errorf("conflict %d: %w", id, ErrNoConflict)
	}
	r, err := s.scanConflict(rows)
	if err != nil {
		return ConflictRow{}, err
	}
	if _, ok := s.scopes[r.Connection]; !ok {
		return ConflictRow{}, fmt.Errorf("conflict %d: %w", id, ErrNoConflict)
	}
	return r, nil
}

func (s *Store) scanConflict(rows pgx.Rows) (ConflictRow, error) {
	var (
		r                                  ConflictRow
		fields, change, local, base, cands []byte
	)
	if err := rows.Scan(&r.ID, &r.Connection, &r.SourceType, &r.SourceID, &r.EntityID, &r.Kind, &fields, &change, &local, &base,
		&cands, &r.Status, &r.Resolution, &r.CreatedAt, &r.UpdatedAt, &r.ResolvedAt); err != nil {
		return r, fmt.Errorf("reading conflict: %w", err)
	}
	c := s.ciphers[r.Connection]
	if err := json.Unmarshal(fields, &r.Fields); err != nil {
		return r, fmt.Errorf("conflict %d fields: %w", r.ID, err)
	}
	if err := rowkit.OpenJSON(c, change, &r.Change); err != nil {
		return r, fmt.Errorf("conflict %d change: %w", r.ID, err)
	}
	var localV, baseV any
	if r.Change.Aggregate == events.AggregateCompany {
		if local != nil {
			r.LocalCompany = &events.Company{}
			localV = r.LocalCompany
		}
		if base != nil {
			r.BaseCompany = &events.Company{}
			baseV = r.BaseCompany
		}
	} else {
		if local != nil {
			r.Local = &events.Person{}
			localV = r.Local
		}
		if base != nil {
			r.Base = &events.Person{}
			baseV = r.Base
		}
	}
	if localV != nil {
		if err := rowkit.OpenJSON(c, local, localV); err != nil {
			return r, fmt.Errorf("conflict %d local: %w", r.ID, err)
		}
	}
	if baseV != nil {
		if err := rowkit.OpenJSON(c, base, baseV); err != nil {
			return r, fmt.Errorf("conflict %d base: %w", r.ID, err)
		}
	}
	if err := rowkit.OpenJSON(c, cands, &r.Candidates); err != nil {
		return r, fmt.Errorf("conflict %d candidates: %w", r.ID, err)
	}
	return r, nil
}

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
