package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

// Deals (customers.deal, from Oro opportunities): a customer_deals row (id deterministic, soft-deleted by a
// tombstone, on the stage of its Oro status in the scope's OroCRM pipeline: pipelines.go), its stage transitions
// (deal_stage_transitions.go) and its customer_deal_people /
// customer_deal_companies links to the people and companies orosync wrote. Links to records not written yet wait
// (orosync_waiting_refs); links a version drops are removed (the link tables have no deleted_at), only those
// orosync made. A deleted deal keeps no links, as Mercato's delete leaves none, so people and companies stay
// deletable in Mercato.

const dealEvent = "customers.deal."

// ApplyDeals applies a batch of customers.deal changes in one transaction; it returns how many records changed.
func (s *Store) ApplyDeals(ctx context.Context, changes []events.Change) (app.Result, error) {
	return applyRecords(ctx, s, dealKind(), changes)
}

func dealKind() recordKind[events.Deal] {
	return recordKind[events.Deal]{aggregate: events.AggregateDeal,
		payload:   func(c events.Change) *events.Deal { return c.Deal },
		reconcile: reconcileDeals, owners: dealOwners()}
}

const loadDealRowsSQL = `
SELECT id, title, description, deleted_at IS NOT NULL, pipeline_stage_id, status FROM customer_deals WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`

const dealColumnsSQL = `
INSERT INTO customer_deals (id, organization_id, tenant_id, title, description, status, value_amount, value_currency,
       probability, expected_close_at, loss_notes, pipeline_id, pipeline_stage_id, pipeline_stage, closure_outcome,
       created_at, updated_at, deleted_at)
SELECT v.id, v.org, v.ten, v.title, v.description, v.status, v.amount::numeric, v.currency, v.probability, v.close_at, v.loss,
       v.pipeline, v.stage, coalesce(v.stage_label, v.status), v.closure, $16, $16, CASE WHEN v.deleted THEN $16::timestamptz END
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[],
            $10::timestamptz[], $11::text[], $12::boolean[], $13::uuid[], $14::uuid[], $15::text[], $17::text[])
     AS v(id, org, ten, title, description, status, amount, currency, probability, close_at, loss, deleted, pipeline, stage, closure, stage_label)
ORDER BY v.id`

// upsertDealsSQL writes only rows whose values differ (Mercato's updated_at moves only then) and returns them.
const upsertDealsSQL = dealColumnsSQL + `
ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description, status = EXCLUDED.status,
       value_amount = EXCLUDED.value_amount, value_currency = EXCLUDED.value_currency, probability = EXCLUDED.probability,
       expected_close_at = EXCLUDED.expected_close_at, loss_notes = EXCLUDED.loss_notes, pipeline_id = EXCLUDED.pipeline_id,
       pipeline_stage_id = EXCLUDED.pipeline_stage_id, pipeline_stage = EXCLUDED.pipeline_stage,
       closure_outcome = EXCLUDED.closure_outcome, updated_at = EXCLUDED.updated_at,
       deleted_at = CASE WHEN EXCLUDED.deleted_at IS NULL THEN NULL ELSE coalesce(customer_deals.deleted_at, EXCLUDED.deleted_at) END
WHERE (customer_deals.title, customer_deals.description, customer_deals.status, customer_deals.value_amount,
       customer_deals.value_currency, customer_deals.probability, customer_deals.expected_close_at, customer_deals.loss_notes,
       customer_deals.pipeline_id, customer_deals.pipeline_stage_id, customer_deals.pipeline_stage, customer_deals.closure_outcome,
       customer_deals.deleted_at IS NOT NULL)
      IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.status, EXCLUDED.value_amount, EXCLUDED.value_currency,
       EXCLUDED.probability, EXCLUDED.expected_close_at, EXCLUDED.loss_notes, EXCLUDED.pipeline_id, EXCLUDED.pipeline_stage_id,
       EXCLUDED.pipeline_stage, EXCLUDED.closure_outcome, EXCLUDED.deleted_at IS NOT NULL)
RETURNING id`

type dealRows struct {
	id, org, ten                                              []uuid.UUID
	title                                                     []string
	description, status, amount, currency, lossNotes, closure []*string
	stageLabel                                                []*string
	probability                                               []*int32
	closeAt                                                   []*time.Time
	deleted                                                   []bool
	pipeline, stage                                           []*uuid.UUID
}

func (r *dealRows) exec(ctx context.Context, tx pgx.Tx, now time.Time) (map[uuid.UUID]bool, error) {
	written := map[uuid.UUID]bool{}
	if len(r.id) == 0 {
		return written, nil
	}
	rows, err := tx.Query(ctx, upsertDealsSQL, rowkit.UUIDs(r.id), rowkit.UUIDs(r.org), rowkit.UUIDs(r.ten), r.title, r.description, r.status, r.amount,
		r.currency, r.probability, r.closeAt, r.lossNotes, r.deleted, rowkit.OptUUIDs(r.pipeline), rowkit.OptUUIDs(r.stage), r.closure, now, r.stageLabel)
	if err != nil {
		return nil, fmt.Errorf("writer: writing deals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("writer: writing deals: %w", err)
		}
		written[id] = true
	}
	return written, rows.Err()
}

func reconcileDeals(ctx context.Context, s *Store, tx pgx.Tx, rs []recState[events.Deal], out *reconciled, now time.Time) error {
	ids := make([]uuid.UUID, len(rs))
	var refs []refKey // of live deals
	for i, r := range rs {
		ids[i] = r.id
		if r.st.Missing || r.st.Deleted {
			continue
		}
		for _, ref := range append(append([]events.OroRef{}, r.st.Value.People...), r.st.Value.Companies...) {
			refs = append(refs, refKey{r.key.Tenant, ref})
		}
	}
	cur, err := loadRowStates(ctx, tx, loadDealRowsSQL, ids)
	if err != nil {
		return err
	}
	found, never, err := s.resolveRefs(ctx, tx, refs)
	if err != nil {
		return err
	}
	written, boards, err := s.writeDeals(ctx, tx, rs, cur, out, now)
	if err != nil {
		return err
	}
	if err := writeStageTransitions(ctx, tx, rs, cur, boards, now); err != nil {
		return err
	}
	links := dealLinkSync{}
	for i, r := range rs {
		if r.st.Missing {
			continue
		}
		id := r.id
		out.rowID[i] = &id
		live := !r.st.Deleted
		for _, p := range r.st.Value.People {
			links.want(r, i, refKey{r.key.Tenant, p}, "person", live, found, never, out)
		}
		for _, co := range r.st.Value.Companies {
			links.want(r, i, refKey{r.key.Tenant, co}, "company", live, found, never, out)
		}
	}
	changedLinks, err := links.exec(ctx, tx, rs, now)
	if err != nil {
		return err
	}
	return s.emitDeals(ctx, tx, rs, cur, written, changedLinks, out)
}

// dealEvents are a deal's events: what its write caused (a change of links alone is an update) with the event's
// salt, and won or lost ("": none).
type dealEvents struct {
	evt, salt, closure string
}

func dealEventsOf(r recState[events.Deal], before rowState, written bool, linksDigest string) dealEvents {
	evt := domain.RowEvent(before.RowState, r.st.Deleted, written)
	salt := ""
	if evt == "" && !r.st.Deleted && linksDigest != "" {
		evt, salt = "updated", "links/"+linksDigest
	}
	if evt == "updated" && salt == "" {
		salt = rowkit.Digest(r.st.Value)
	}
	return dealEvents{evt: evt, salt: salt, closure: domain.ClosureEvent(before.RowState, r.st.Value, evt)}
}

// emitDeals adds the deals' events. A won or lost event carries the deal's owner as its row holds it after the
// write (deals.ts update: ownerUserId = record.ownerUserId), the Mercato user its Oro owner matches.
func (s *Store) emitDeals(ctx context.Context, tx pgx.Tx, rs []recState[events.Deal], cur map[uuid.UUID]rowState,
	written map[uuid.UUID]bool, changedLinks map[uuid.UUID]string, out *reconciled) error {
	evs := make([]dealEvents, len(rs))
	var owners []ownerKey
	for i, r := range rs {
		if r.st.Missing {
			continue
		}
		evs[i] = dealEventsOf(r, cur[r.id], written[r.id], changedLinks[r.id])
		if evs[i].closure != "" && r.st.Value.Owner != nil {
			owners = append(owners, ownerKey{r.key.Tenant, *r.st.Value.Owner})
		}
	}
	matches, err := s.matchOwners(ctx, tx, owners)
	if err != nil {
		return err
	}
	for i, r := range rs {
		var owner *string
		if o := r.st.Value.Owner; o != nil && evs[i].closure != "" {
			if u := matches[ownerKey{r.key.Tenant, *o}].user; u != nil {
				id := u.String()
				owner = &id
			}
		}
		if err := emitDeal(r, evs[i], owner, out); err != nil {
			return err
		}
	}
	return nil
}

// dealStatus is the deal's Mercato status (Mercato's default, open, when blank).
func dealStatus(d events.Deal) string {
	if d.Status == "" {
		return "open"
	}
	return d.Status
}

// stageName is the name of the stage a deal value is on: its Oro status's label, else (older mappings) its status.
func stageName(d events.Deal) string {
	if d.Stage != nil {
		return d.Stage.Label
	}
	return dealStatus(d)
}

// addStages adds the stages a deal value needs: its board's (Oro's statuses at Oro's positions) and its own.
func (v boardValues) addStages(tenant string, d events.Deal) {
	for _, st := range d.Pipeline {
		v.add(tenant, st.Label, int32(st.Order))
	}
	if d.Stage != nil {
		v.add(tenant, d.Stage.Label, int32(d.Stage.Order))
		return
	}
	v.add(tenant, dealStatus(d), domain.StagePosition(normStage(dealStatus(d))))
}

// writeDeals writes the rows of the deals (a re-reconcile only fixes links: local edits of an existing deal stay
// until Oro's next version) on their stages, the board coming first; it returns the rows it changed and the boards.
func (s *Store) writeDeals(ctx context.Context, tx pgx.Tx, rs []recState[events.Deal], cur map[uuid.UUID]rowState, out *reconciled,
	now time.Time) (map[uuid.UUID]bool, map[string]board, error) {
	var write []int
	values := boardValues{}
	for i, r := range rs {
		if r.st.Missing || (r.relink && cur[r.id].Exists) {
			continue
		}
		write = append(write, i)
		values.addStages(r.key.Tenant, r.st.Value)
		for _, step := range r.steps { // the stages a batch's versions passed through get their transitions
			if !step.Missing {
				values.addStages(r.key.Tenant, step.Value)
			}
		}
	}
	boards, err := ensureBoards(ctx, tx, s.scopes, values, out.dict, now)
	if err != nil {
		return nil, nil, err
	}
	var rows dealRows
	for _, i := range write {
		r := rs[i]
		status := dealStatus(r.st.Value)
		rows.add(r, cur[r.id], s.columns(r.key.Tenant, rowkit.EntityDeal), status, boards[r.key.Tenant])
		// Every value written is in the dictionary, a deleted deal's too, so the entries do not depend on arrival order.
		out.dict.add(r.key.Tenant, "deal_status", &status)
	}
	written, err := rows.exec(ctx, tx, now)
	if err != nil {
		return nil, nil, err
	}
	return written, boards, relabelDeals(ctx, tx, s.renamedDeals(rs, write, cur, written))
}

// add adds a deal's row with the given status, on its board.
func (rows *dealRows) add(r recState[events.Deal], st rowState, k rowkit.Columns, status string, b board) {
	d := r.st.Value
	title := d.Title
	pipeline, stage := b.stageOf(stageName(d))
	var stageID *uuid.UUID
	var stageLabel *string
	if stage != nil {
		stageID = &stage.id
		if d.Stage != nil { // Mercato's pipeline_stage is the stage's label; older mappings wrote the status
			stageLabel = &stage.name
		}
	}
	rows.id, rows.org, rows.ten = append(rows.id, r.id), append(rows.org, r.sc.OrganizationID), append(rows.ten, r.sc.TenantID)
	rows.title = append(rows.title, *k.Keep("title", st.a, &title))
	rows.description = append(rows.description, k.Keep("description", st.b, d.Description))
	rows.status, rows.amount, rows.currency = append(rows.status, &status), append(rows.amount, d.ValueAmount), append(rows.currency, d.ValueCurrency)
	rows.stageLabel = append(rows.stageLabel, stageLabel)
	rows.lossNotes = append(rows.lossNotes, d.LossReason)
	var prob *int32
	if d.Probability != nil {
		p := int32(*d.Probability)
		prob = &p
	}
	rows.probability = append(rows.probability, prob)
	rows.closeAt = append(rows.closeAt, parseDate(d.ExpectedCloseAt))
	rows.deleted = append(rows.deleted, r.st.Deleted)
	rows.pipeline, rows.stage, rows.closure = append(rows.pipeline, pipeline), append(rows.stage, stageID), append(rows.closure, domain.ClosureOutcome(status))
}

// emitDeal adds a deal's events; owner is the Mercato user id of its owner (nil: none).
func emitDeal(r recState[events.Deal], ev dealEvents, owner *string, out *reconciled) error {
	if ev.evt == "" {
		return nil
	}
	row, err := rowkit.EventRow(r.key.Tenant, dealEvent+ev.evt, events.RecordEvent{ID: r.id.String(), OrganizationID: r.sc.OrganizationID.String(),
		TenantID: r.sc.TenantID.String(), SyncOrigin: events.SyncOrigin}, r.id.String(), r.st.Version, r.st.MappingVersion, ev.salt)
	if err != nil {
		return err
	}
	out.outbox = append(out.outbox, row)
	if ev.closure == "" {
		return nil
	}
	d := r.st.Value
	row, err = rowkit.EventRow(r.key.Tenant, dealEvent+ev.closure, events.DealClosureEvent{ID: r.id.String(), TenantID: r.sc.TenantID.String(),
		OrganizationID: r.sc.OrganizationID.String(), OwnerUserID: owner, Title: d.Title, ValueAmount: d.ValueAmount, ValueCurrency: d.ValueCurrency,
		SyncOrigin: events.SyncOrigin}, r.id.String(), r.st.Version, r.st.MappingVersion, "")
	if err != nil {
		return err
	}
	out.outbox = append(out.outbox, row)
	return nil
}
