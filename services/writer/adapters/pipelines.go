package adapters

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// Deals go on Mercato's pipeline board (customer_deals.pipeline_id + pipeline_stage_id). Per scope the pipeline is
// orosync's own (deterministic id, whatever an admin renamed it to), else the oldest one named "OroCRM", else one
// orosync creates: "OroCRM", the default only when the scope has no pipeline at all. In it each stage a deal names
// (Oro's opportunity statuses, every one of them, at Oro's position; without them, from older mappings, the deal's
// status value at domain.StagePosition) is found by id or by name (lower(trim)), else created with a deterministic
// id. Positions are set on creation only: an admin's reordering in Mercato stays.
// Pipelines and stages have no unique key in Mercato, so a per-scope advisory lock serialises orosync's writers
// (look-up and insert); ids are deterministic, so replays and rebuilt databases converge.

const oroPipelineName = "OroCRM"

// pipelineID is the id of the pipeline orosync creates in a scope.
func pipelineID(sc Scope) uuid.UUID {
	var buf [128]byte
	return rowkit.NameID(append(rowkit.AppendScope(buf[:0], sc), "pipeline/"+oroPipelineName...))
}

// stageID is the id of the stage orosync creates in a pipeline for a status value (normalized).
func stageID(sc Scope, pipeline uuid.UUID, norm string) uuid.UUID {
	var buf [192]byte
	b := append(rowkit.AppendScope(buf[:0], sc), "pipeline-stage/"...)
	b = append(rowkit.AppendUUID(b, pipeline), '/')
	return rowkit.NameID(append(b, norm...))
}

// board is where a scope's deals go: its pipeline and its stages by normalized name.
type board struct {
	pipeline uuid.UUID
	stages   map[string]stageRow
}

// stageRow is a stage of the board as Mercato holds it: id, name, position.
type stageRow struct {
	id       uuid.UUID
	name     string
	position int32
}

// stageOf returns the pipeline and stage a deal on the stage of that name goes to (nils for a blank name).
func (b board) stageOf(name string) (pipeline *uuid.UUID, stage *stageRow) {
	st, ok := b.stages[normStage(name)]
	if !ok {
		return nil, nil
	}
	p := b.pipeline
	return &p, &st
}

func normStage(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// stageSpec is a stage a deal needs: its name (trimmed) and the position it gets if created.
type stageSpec struct {
	name     string
	position int32
}

// boardValues collects, per tenant, the stages deals are written on: normalized name → spec.
type boardValues map[string]map[string]stageSpec

func (v boardValues) add(tenant, name string, position int32) {
	value := strings.TrimSpace(name)
	if value == "" {
		return
	}
	if v[tenant] == nil {
		v[tenant] = map[string]stageSpec{}
	}
	if _, ok := v[tenant][strings.ToLower(value)]; !ok {
		v[tenant][strings.ToLower(value)] = stageSpec{value, position}
	}
}

const lockPipelineSQL = `SELECT pg_advisory_xact_lock(hashtext('orosync-pipeline/' || $1 || '/' || $2))`

// resolvePipelineSQL finds the scope's pipeline (orosync's own first, then the oldest named OroCRM), creating
// orosync's when there is none, and lists its stages (oldest first).
const resolvePipelineSQL = `
WITH found AS (
  SELECT id FROM customer_pipelines
  WHERE organization_id = $1 AND tenant_id = $2 AND (id = $3 OR lower(btrim(name)) = lower($4))
  ORDER BY id = $3 DESC, created_at, id LIMIT 1),
made AS (
  INSERT INTO customer_pipelines (id, organization_id, tenant_id, name, is_default, created_at, updated_at)
  SELECT $3, $1, $2, $4, NOT EXISTS (SELECT 1 FROM customer_pipelines WHERE organization_id = $1 AND tenant_id = $2),
         $5::timestamptz, $5::timestamptz
  WHERE NOT EXISTS (SELECT 1 FROM found)
  ON CONFLICT (id) DO NOTHING
  RETURNING id),
pipe AS (SELECT id FROM found UNION ALL SELECT id FROM made)
SELECT pipe.id, s.id, s.name, s.position
FROM pipe LEFT JOIN customer_pipeline_stages s ON s.pipeline_id = pipe.id
ORDER BY s.created_at, s.id`

const insertStagesSQL = `
INSERT INTO customer_pipeline_stages (id, organization_id, tenant_id, pipeline_id, name, position, created_at, updated_at)
SELECT v.id, $1, $2, $3, v.name, v.position, $7, $7
FROM unnest($4::uuid[], $5::text[], $6::int[]) AS v(id, name, position)
ORDER BY v.id
ON CONFLICT (id) DO NOTHING`

// pipelineState is a scope's pipeline as found: its id and its stages, by id and by normalized name.
type pipelineState struct {
	pipeline uuid.UUID
	ids      map[uuid.UUID]stageRow
	byName   map[string]stageRow
}

// ensureBoards resolves each tenant's pipeline and the stages of its status values, creating what is missing and
// ensuring the values in the pipeline_stage dictionary (d), as Mercato's commands do for the values they write.
// One round trip when pipeline and stages exist, two when stages are added.
func ensureBoards(ctx context.Context, tx pgx.Tx, scopes map[string]Scope, want boardValues, d dictionary,
	now time.Time) (map[string]board, error) {
	out := map[string]board{}
	if len(want) == 0 {
		return out, nil
	}
	tenants := make([]string, 0, len(want))
	for t := range want {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants) // advisory locks in one order
	cur, err := resolvePipelines(ctx, tx, scopes, tenants, now)
	if err != nil {
		return nil, err
	}
	adds := &pgx.Batch{}
	for i, t := range tenants {
		if cur[i].pipeline == uuid.Nil {
			return nil, fmt.Errorf("writer: deal pipeline of tenant %s: %q was created concurrently without orosync's lock", t, oroPipelineName)
		}
		out[t] = cur[i].board(adds, scopes[t], t, want[t], d, now)
	}
	if adds.Len() > 0 {
		if err := tx.SendBatch(ctx, adds).Close(); err != nil {
			return nil, fmt.Errorf("writer: deal pipeline stages: %w", err)
		}
	}
	return out, nil
}

// resolvePipelines locks, finds (or creates) and reads each tenant's pipeline, in one round trip.
func resolvePipelines(ctx context.Context, tx pgx.Tx, scopes map[string]Scope, tenants []string, now time.Time) ([]pipelineState, error) {
	cur := make([]pipelineState, len(tenants))
	b := &pgx.Batch{}
	for i, t := range tenants {
		sc := scopes[t]
		c := &cur[i]
		c.ids, c.byName = map[uuid.UUID]stageRow{}, map[string]stageRow{}
		b.Queue(lockPipelineSQL, sc.TenantID.String(), sc.OrganizationID.String())
		b.Queue(resolvePipelineSQL, sc.OrganizationID, sc.TenantID, pipelineID(sc), oroPipelineName, now).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var sid *uuid.UUID
				var name *string
				var position *int32
				if err := rows.Scan(&c.pipeline, &sid, &name, &position); err != nil {
					return err
				}
				if sid == nil {
					continue
				}
				st := stageRow{*sid, *name, *position}
				c.ids[*sid] = st
				if _, ok := c.byName[normStage(*name)]; !ok {
					c.byName[normStage(*name)] = st
				}
			}
			return rows.Err()
		})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("writer: deal pipelines: %w", err)
	}
	return cur, nil
}

// board is the tenant's board for its stages (normalized → spec): stages found by id or name, the others queued in
// adds; every stage name goes to the pipeline_stage dictionary.
func (c pipelineState) board(adds *pgx.Batch, sc Scope, tenant string, values map[string]stageSpec, d dictionary, now time.Time) board {
	bd := board{pipeline: c.pipeline, stages: map[string]stageRow{}}
	norms := make([]string, 0, len(values))
	for norm := range values {
		norms = append(norms, norm)
	}
	sort.Strings(norms)
	var ids []uuid.UUID
	var names []string
	var positions []int32
	for _, norm := range norms {
		spec := values[norm]
		d.add(tenant, "pipeline_stage", &spec.name)
		sid := stageID(sc, c.pipeline, norm)
		st, ok := c.ids[sid]
		if !ok {
			if st, ok = c.byName[norm]; !ok { // else a stage of that name made in Mercato
				st = stageRow{sid, spec.name, spec.position}
				ids, names, positions = append(ids, sid), append(names, spec.name), append(positions, spec.position)
			}
		}
		bd.stages[norm] = st
	}
	if len(ids) > 0 {
		adds.Queue(insertStagesSQL, sc.OrganizationID, sc.TenantID, c.pipeline, rowkit.UUIDs(ids), names, positions, now)
	}
	return bd
}
