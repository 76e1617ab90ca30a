package adapters

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// Stage transitions (customer_deal_stage_transitions, read by Mercato's stuck-deal logic) as Mercato's deal commands
// record them (customers/commands/deals.ts upsertDealStageTransition): a deal created on a stage, or moved to a stage
// other than the one it is on, gets one row per (deal, stage), its time, label and order updated when the deal
// comes back to that stage. Each version of a batch counts (recState.steps), and the time is the version's Oro
// updatedAt, so versions applied one by one, in one batch, or replayed from ORO_RAW leave the same rows. A deleted
// deal's rows are soft-deleted (Mercato's delete removes them) and come back with it.

func stageTransitionID(deal, stage uuid.UUID) uuid.UUID {
	return rowkit.NameID([]byte("deal-stage-transition/" + deal.String() + "/" + stage.String()))
}

const upsertStageTransitionsSQL = `
INSERT INTO customer_deal_stage_transitions (id, organization_id, tenant_id, deal_id, pipeline_id, stage_id, stage_label,
       stage_order, transitioned_at, transitioned_by_user_id, is_active, created_at, updated_at, deleted_at)
SELECT v.id, v.org, v.ten, v.deal, v.pipeline, v.stage, v.label, v.ord, v.at, NULL, true, $10, $10, NULL
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::int[], $9::timestamptz[])
     AS v(id, org, ten, deal, pipeline, stage, label, ord, at)
ORDER BY v.id
ON CONFLICT (deal_id, stage_id) DO UPDATE SET pipeline_id = EXCLUDED.pipeline_id, stage_label = EXCLUDED.stage_label,
       stage_order = EXCLUDED.stage_order, transitioned_at = EXCLUDED.transitioned_at, is_active = true, deleted_at = NULL,
       updated_at = EXCLUDED.updated_at
WHERE (customer_deal_stage_transitions.pipeline_id, customer_deal_stage_transitions.stage_label,
       customer_deal_stage_transitions.stage_order, customer_deal_stage_transitions.transitioned_at,
       customer_deal_stage_transitions.is_active, customer_deal_stage_transitions.deleted_at IS NULL)
      IS DISTINCT FROM (EXCLUDED.pipeline_id, EXCLUDED.stage_label, EXCLUDED.stage_order, EXCLUDED.transitioned_at, true, true)`

// softDeleteStageTransitionsSQL follows the deals' deletion: $1 deals deleted, $2 deals live.
const softDeleteStageTransitionsSQL = `
UPDATE customer_deal_stage_transitions SET deleted_at = CASE WHEN deal_id = ANY($1::uuid[]) THEN $3::timestamptz END,
       is_active = NOT (deal_id = ANY($1::uuid[])), updated_at = $3
WHERE (deal_id = ANY($1::uuid[]) AND deleted_at IS NULL) OR (deal_id = ANY($2::uuid[]) AND deleted_at IS NOT NULL)`

type transitionKey struct{ deal, stage uuid.UUID }

type transition struct {
	sc       Scope
	pipeline uuid.UUID
	stage    stageRow
	at       time.Time
}

// writeStageTransitions records the stage each deal entered in the batch and follows the deals' deletion.
func writeStageTransitions(ctx context.Context, tx pgx.Tx, rs []recState[events.Deal], cur map[uuid.UUID]rowState,
	boards map[string]board, now time.Time) error {
	want := map[transitionKey]transition{}
	var deleted, live []uuid.UUID
	for _, r := range rs {
		if r.st.Missing {
			continue
		}
		if r.st.Deleted {
			deleted = append(deleted, r.id)
		} else {
			live = append(live, r.id)
		}
		steps := r.steps
		if r.relink {
			if cur[r.id].Exists {
				continue
			}
			steps = []domain.RecordStored[events.Deal]{r.st} // a deal first written by a re-reconcile is created on its stage
		}
		on := cur[r.id].entity // the stage the deal is on in Mercato (loadDealRowsSQL)
		for _, step := range steps {
			if step.Missing {
				continue
			}
			pipeline, st := boards[r.key.Tenant].stageOf(stageName(step.Value))
			if st == nil || (on != nil && *on == st.id) {
				continue
			}
			id := st.id
			on = &id
			want[transitionKey{r.id, st.id}] = transition{r.sc, *pipeline, *st, step.Version.UpdatedAt.UTC()}
		}
	}
	if err := upsertStageTransitions(ctx, tx, want, now); err != nil {
		return err
	}
	if len(deleted)+len(live) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, softDeleteStageTransitionsSQL, rowkit.UUIDs(deleted), rowkit.UUIDs(live), now); err != nil {
		return fmt.Errorf("writer: deleting deal stage transitions: %w", err)
	}
	return nil
}

func upsertStageTransitions(ctx context.Context, tx pgx.Tx, want map[transitionKey]transition, now time.Time) error {
	if len(want) == 0 {
		return nil
	}
	keys := make([]transitionKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return stageTransitionID(keys[i].deal, keys[i].stage).String() < stageTransitionID(keys[j].deal, keys[j].stage).String()
	})
	var ids, orgs, tens, deals, pipelines, stages []uuid.UUID
	var labels []string
	var orders []int32
	var ats []time.Time
	for _, k := range keys {
		t := want[k]
		ids, orgs, tens = append(ids, stageTransitionID(k.deal, k.stage)), append(orgs, t.sc.OrganizationID), append(tens, t.sc.TenantID)
		deals, pipelines, stages = append(deals, k.deal), append(pipelines, t.pipeline), append(stages, k.stage)
		labels, orders, ats = append(labels, t.stage.name), append(orders, t.stage.position), append(ats, t.at)
	}
	if _, err := tx.Exec(ctx, upsertStageTransitionsSQL, rowkit.UUIDs(ids), rowkit.UUIDs(orgs), rowkit.UUIDs(tens), rowkit.UUIDs(deals),
		rowkit.UUIDs(pipelines), rowkit.UUIDs(stages), labels, orders, ats, now); err != nil {
		return fmt.Errorf("writer: writing deal stage transitions: %w", err)
	}
	return nil
}
