package adapters

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

// Lifecycle stages: the person path writes the values it compares for conflicts; lifecycle_stage (Oro leads are
// "lead") is written after it, from the person's last applied version (its snapshot), so an older version in the
// batch never wins.

const stagesSQL = `
SELECT k.i, e.id, e.lifecycle_stage, r.snapshot, r.source_updated_at, r.payload_hash, r.mapping_version,
       p.id
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS k(t, o, st, si, i)
JOIN orosync_records r ON r.tenant_id = k.t AND r.organization_id = k.o AND r.source_type = k.st AND r.source_id = k.si
     AND r.internal_entity_type = 'customers.person' AND r.snapshot IS NOT NULL
JOIN customer_entities e ON e.id = r.internal_entity_id
JOIN customer_people p ON p.entity_id = e.id
ORDER BY e.id
FOR UPDATE OF e`

// setStagesSQL: a person the batch announced keeps the updated_at of that write (one just created still reads as
// created).
const setStagesSQL = `
UPDATE customer_entities e SET lifecycle_stage = v.stage, updated_at = CASE WHEN v.announced THEN e.updated_at ELSE $3 END
FROM unnest($1::uuid[], $2::text[], $4::boolean[]) AS v(id, stage, announced)
WHERE e.id = v.id AND e.lifecycle_stage IS DISTINCT FROM v.stage`

// stageChange is a person whose lifecycle stage differs from its last applied version's.
type stageChange struct {
	key     domain.Key
	id      ids
	stage   *string
	notify  bool // the batch wrote no created or updated event of the person: announced as updated
	version events.SourceVersion
	mapping string
}

// ApplyLifecycleStages brings customer_entities.lifecycle_stage of the given people in line with their last
// applied versions; a person updated so gets a customers.person.updated event unless announced says the batch
// wrote its created or updated event already (those it announces are added to announced).
func (s *Store) ApplyLifecycleStages(ctx context.Context, keys []domain.Key, announced map[domain.Key]bool) (app.Result, error) {
	if len(keys) == 0 {
		return app.Result{}, nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return app.Result{}, fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	changes, err := s.stageChanges(ctx, tx, keys, announced)
	if err != nil {
		return app.Result{}, err
	}
	if len(changes) == 0 {
		return app.Result{}, tx.Commit(ctx)
	}
	n, err := s.writeStages(ctx, tx, changes)
	if err != nil {
		return app.Result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return app.Result{}, fmt.Errorf("writer: commit: %w", err)
	}
	for _, c := range changes {
		announced[c.key] = true
	}
	return app.Result{Updated: n}, nil
}

// stageChanges locks the people's entities and lists those whose stage differs from their snapshot's.
func (s *Store) stageChanges(ctx context.Context, tx pgx.Tx, keys []domain.Key, announced map[domain.Key]bool) ([]stageChange, error) {
	ts, os, sts, sis := s.keyColumns(keys)
	rows, err := tx.Query(ctx, stagesSQL, rowkit.UUIDs(ts), rowkit.UUIDs(os), sts, sis)
	if err != nil {
		return nil, fmt.Errorf("writer: lifecycle stages: %w", err)
	}
	defer rows.Close()
	var changes []stageChange
	for rows.Next() {
		var (
			i        int64
			c        stageChange
			cur      *string
			snapshot []byte
		)
		if err := rows.Scan(&i, &c.id.entity, &cur, &snapshot, &c.version.UpdatedAt, &c.version.PayloadHash, &c.mapping,
			&c.id.profile); err != nil {
			return nil, fmt.Errorf("writer: lifecycle stages: %w", err)
		}
		c.key = keys[i-1]
		var p events.Person
		if err := rowkit.OpenJSON(s.ciphers[c.key.Tenant], snapshot, &p); err != nil {
			return nil, fmt.Errorf("writer: snapshot of %s/%s: %w", c.key.SourceType, c.key.SourceID, err)
		}
		if p.LifecycleStage == nil && cur == nil || p.LifecycleStage != nil && cur != nil && *p.LifecycleStage == *cur {
			continue
		}
		c.stage, c.notify = p.LifecycleStage, !announced[c.key]
		c.version.UpdatedAt = c.version.UpdatedAt.UTC()
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: lifecycle stages: %w", err)
	}
	return changes, nil
}

// writeStages writes the stages, their dictionary entries and events; it returns how many people were announced.
func (s *Store) writeStages(ctx context.Context, tx pgx.Tx, changes []stageChange) (int, error) {
	now := s.now().UTC()
	entities, stages, quiet := make([]uuid.UUID, len(changes)), make([]*string, len(changes)), make([]bool, len(changes))
	d := dictionary{}
	var outbox []model.OrosyncOutbox
	for i, c := range changes {
		entities[i], stages[i], quiet[i] = c.id.entity, c.stage, !c.notify
		d.add(c.key.Tenant, "lifecycle_stage", c.stage)
		if !c.notify {
			continue
		}
		stage := ""
		if c.stage != nil {
			stage = *c.stage
		}
		row, err := rowkit.CustomerEventRow(c.key.Tenant, events.AggregatePerson+".updated", s.scopes[c.key.Tenant], c.id.entity, c.id.profile,
			c.version, c.mapping, "lifecycle/"+stage)
		if err != nil {
			return 0, err
		}
		outbox = append(outbox, row)
	}
	if _, err := tx.Exec(ctx, setStagesSQL, rowkit.UUIDs(entities), stages, now, quiet); err != nil {
		return 0, fmt.Errorf("writer: lifecycle stages: %w", err)
	}
	if err := d.ensure(ctx, tx, s.scopes, now); err != nil {
		return 0, err
	}
	return len(outbox), s.insertOutbox(ctx, tx, outbox)
}
