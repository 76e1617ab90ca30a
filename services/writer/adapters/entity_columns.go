package adapters

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

// Columns of customer_entities that follow a person's or company's last applied version (its snapshot), written
// after the entity paths so an older version in the batch never wins: owner_user_id, which Mercato's person and
// company commands set from ownerUserId (customers/commands/people.ts, companies.ts), and a person's
// lifecycle_stage (Oro leads are "lead"). One pass locks each entity once and writes both.

// profileColumnsSQL reads each key's record, with its profile and whether it has an oro_owner custom field, by
// LATERAL subqueries: one index probe per key whatever the tables' statistics (joined, the planner hashed whole
// tables when it had none); it locks the entities in id order.
const profileColumnsSQL = `
SELECT k.i, r.internal_entity_type, e.id, r.profile, e.lifecycle_stage, e.owner_user_id, r.snapshot,
       e.deleted_at IS NOT NULL OR r.deleted, r.source_updated_at, r.payload_hash, r.mapping_version, cf.found IS NOT NULL
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
CROSS JOIN LATERAL (
  SELECT r.internal_entity_type, r.internal_entity_id, r.snapshot, r.deleted_at IS NOT NULL AS deleted,
         r.source_updated_at, r.payload_hash, r.mapping_version, coalesce(p.id, c.id) AS profile,
         CASE WHEN p.id IS NOT NULL THEN 'customers:customer_person_profile'
              ELSE 'customers:customer_company_profile' END AS profile_entity
  FROM orosync_records r
  LEFT JOIN customer_people p ON p.entity_id = r.internal_entity_id
  LEFT JOIN customer_companies c ON c.entity_id = r.internal_entity_id
  WHERE r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
    AND r.internal_entity_type IN ('customers.person', 'customers.company') AND r.snapshot IS NOT NULL
  OFFSET 0) r
LEFT JOIN LATERAL (
  SELECT true AS found FROM custom_field_values v
  WHERE v.entity_id = r.profile_entity AND v.record_id = r.profile::text AND v.tenant_id = k.t
    AND v.field_key = 'oro_owner' AND v.deleted_at IS NULL
  LIMIT 1) cf ON true
JOIN customer_entities e ON e.id = r.internal_entity_id
ORDER BY e.id
FOR UPDATE OF e`

// setProfileColumnsSQL writes the columns of the entities that changed; an entity the batch announced keeps the
// updated_at of that write (one just created still reads as created).
const setProfileColumnsSQL = `
UPDATE customer_entities e SET owner_user_id = v.owner,
       lifecycle_stage = CASE WHEN v.set_stage THEN v.stage ELSE e.lifecycle_stage END,
       updated_at = CASE WHEN v.announced THEN e.updated_at ELSE $6 END
FROM unnest($1::uuid[], $2::uuid[], $3::boolean[], $4::text[], $5::boolean[]) AS v(id, owner, set_stage, stage, announced)
WHERE e.id = v.id`

// profileRecord is a person or company with the columns it has and the values its snapshot gives them.
type profileRecord struct {
	key        domain.Key
	aggregate  string
	id         ids
	curStage   *string
	curOwner   *uuid.UUID
	owner      *events.OroRef
	stage      *string
	staged     bool // its stage follows the snapshot (the batch brought a stage)
	deleted    bool
	announced  bool // its created or updated event was written by this batch
	hasOwnerCF bool
	version    events.SourceVersion
	mapping    string
}

// ApplyProfileColumns brings the owners of the given people and companies, and the lifecycle stages of those in
// staged, in line with their last applied versions. A record whose columns change gets its updated event unless
// announced says the batch wrote its created or updated event already.
func (s *Store) ApplyProfileColumns(ctx context.Context, keys []domain.Key, staged, announced map[domain.Key]bool) (app.Result, error) {
	if len(keys) == 0 {
		return app.Result{}, nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return app.Result{}, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The references lock: an owner parked here and its user written concurrently cannot miss each other.
	if err := lockRefs(ctx, tx, keys); err != nil {
		return app.Result{}, err
	}
	res, err := s.reconcileProfileColumns(ctx, tx, keys, staged, announced)
	if err != nil {
		return app.Result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return app.Result{}, fmt.Errorf("writer: commit: %w", err)
	}
	return res, nil
}

// reconcileProfileColumns writes the columns, the oro_owner custom field of unmatched owners, their parked
// references and the events.
func (s *Store) reconcileProfileColumns(ctx context.Context, tx pgx.Tx, keys []domain.Key, staged, announced map[domain.Key]bool) (app.Result, error) {
	recs, err := s.profileRecords(ctx, tx, keys, staged, announced)
	if err != nil || len(recs) == 0 {
		return app.Result{}, err
	}
	var refs []ownerKey
	for _, r := range recs {
		if r.owner != nil && !r.deleted {
			refs = append(refs, ownerKey{r.key.Tenant, *r.owner})
		}
	}
	matches, err := s.matchOwners(ctx, tx, refs)
	if err != nil {
		return app.Result{}, err
	}
	now := s.now().UTC()
	w := columnWrites{parked: map[int][]events.OroRef{}, cfs: map[string][]cfRecord{}, dict: dictionary{}}
	owners := make([]domain.Key, len(recs))
	for n, r := range recs {
		owners[n] = r.key
		if r.deleted {
			continue
		}
		var m ownerMatch
		if r.owner != nil {
			if m = matches[ownerKey{r.key.Tenant, *r.owner}]; m.user == nil {
				w.parked[n] = []events.OroRef{*r.owner}
			}
		}
		if err := s.planProfileColumns(&w, r, m); err != nil {
			return app.Result{}, err
		}
	}
	return s.writeProfileColumns(ctx, tx, &w, owners, now)
}

// columnWrites collects what one pass over profile columns writes.
type columnWrites struct {
	entities        []uuid.UUID
	userPtrs        []*uuid.UUID
	setStage, quiet []bool
	stages          []*string
	outbox          []model.OrosyncOutbox
	cfs             map[string][]cfRecord
	parked          map[int][]events.OroRef
	dict            dictionary
}

// planProfileColumns adds a record's column values (when they change), its event and its oro_owner custom field.
func (s *Store) planProfileColumns(w *columnWrites, r profileRecord, m ownerMatch) error {
	stageChanged := r.staged && !samePtr(r.curStage, r.stage)
	ownerChanged := !samePtr(r.curOwner, m.user)
	announced := r.announced
	if stageChanged || ownerChanged {
		w.entities, w.userPtrs, w.quiet = append(w.entities, r.id.entity), append(w.userPtrs, m.user), append(w.quiet, r.announced)
		w.setStage, w.stages = append(w.setStage, stageChanged), append(w.stages, r.stage)
		if stageChanged {
			w.dict.add(r.key.Tenant, "lifecycle_stage", r.stage)
		}
		if !r.announced {
			row, err := rowkit.CustomerEventRow(r.key.Tenant, r.aggregate+".updated", s.scopes[r.key.Tenant], r.id.entity, r.id.profile,
				r.version, r.mapping, columnsDigest(stageChanged, r.stage, ownerChanged, m.user))
			if err != nil {
				return err
			}
			w.outbox, announced = append(w.outbox, row), true
		}
	}
	if (r.owner != nil && m.user == nil) || r.hasOwnerCF {
		var label any
		if r.owner != nil && m.user == nil {
			label = m.label
		}
		w.cfs[r.aggregate] = append(w.cfs[r.aggregate], cfRecord{sc: s.scopes[r.key.Tenant], tenant: r.key.Tenant,
			label: r.aggregate + " " + r.key.SourceType + "/" + r.key.SourceID, record: r.id.profile, entity: r.id.entity,
			announced: announced, next: map[string]any{oroOwnerField: label}, version: r.version, mapping: r.mapping})
	}
	return nil
}

// columnsDigest tells the event of a column change apart from the record's other events.
func columnsDigest(stageChanged bool, stage *string, ownerChanged bool, user *uuid.UUID) string {
	var parts []string
	if stageChanged {
		parts = append(parts, "lifecycle/"+orEmptyString(stage))
	}
	if ownerChanged {
		parts = append(parts, "owner/"+userString(user))
	}
	return strings.Join(parts, ";")
}

// writeProfileColumns writes the planned columns, dictionary entries, custom fields, parked owners and events.
func (s *Store) writeProfileColumns(ctx context.Context, tx pgx.Tx, w *columnWrites, owners []domain.Key, now time.Time) (app.Result, error) {
	if len(w.entities) > 0 {
		if _, err := tx.Exec(ctx, setProfileColumnsSQL, rowkit.UUIDs(w.entities), rowkit.OptUUIDs(w.userPtrs), w.setStage,
			w.stages, w.quiet, now); err != nil {
			return app.Result{}, fmt.Errorf("writer: owners and lifecycle stages: %w", err)
		}
	}
	if err := w.dict.ensure(ctx, tx, s.scopes, now); err != nil {
		return app.Result{}, err
	}
	for _, aggregate := range []string{events.AggregatePerson, events.AggregateCompany} {
		target, _ := customFieldsOf(aggregate)
		rows, err := s.syncCustomFields(ctx, tx, target, w.cfs[aggregate], now)
		if err != nil {
			return app.Result{}, err
		}
		w.outbox = append(w.outbox, rows...)
	}
	if err := s.setWaiting(ctx, tx, owners, w.parked, now); err != nil {
		return app.Result{}, err
	}
	return countEvents(w.outbox), s.insertOutbox(ctx, tx, w.outbox)
}

// profileRecords locks the entities of the people and companies among keys and reads their columns and snapshots.
func (s *Store) profileRecords(ctx context.Context, tx pgx.Tx, keys []domain.Key, staged, announced map[domain.Key]bool) ([]profileRecord, error) {
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, profileColumnsSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, fmt.Errorf("writer: owners and lifecycle stages: %w", err)
	}
	defer rows.Close()
	var recs []profileRecord
	for rows.Next() {
		var (
			i        int64
			r        profileRecord
			snapshot []byte
			base     struct {
				Owner          *events.OroRef `json:"owner"`
				LifecycleStage *string        `json:"lifecycleStage"`
			}
		)
		if err := rows.Scan(&i, &r.aggregate, &r.id.entity, &r.id.profile, &r.curStage, &r.curOwner, &snapshot, &r.deleted,
			&r.version.UpdatedAt, &r.version.PayloadHash, &r.mapping, &r.hasOwnerCF); err != nil {
			return nil, fmt.Errorf("writer: owners and lifecycle stages: %w", err)
		}
		r.key = keys[i-1]
		r.version.UpdatedAt = r.version.UpdatedAt.UTC()
		if err := rowkit.OpenJSON(s.ciphers[r.key.Tenant], snapshot, &base); err != nil {
			return nil, fmt.Errorf("writer: snapshot of %s/%s: %w", r.key.SourceType, r.key.SourceID, err)
		}
		r.owner, r.stage = base.Owner, base.LifecycleStage
		r.staged = staged[r.key] && r.aggregate == events.AggregatePerson
		r.announced = announced[r.key]
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: owners and lifecycle stages: %w", err)
	}
	return recs, nil
}
