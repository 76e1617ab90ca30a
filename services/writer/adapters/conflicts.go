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
