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

// Comments (customers.comment, from Oro notes): one customer_comments row per target (deterministic id per note
// and target). A person or company target is the row's entity, an Oro case stands for the person or company its
// interaction is on (no second comment where another target gave one); a deal target sets deal_id and stands for the
// deal's first company or person. A target not written yet waits; a target a version drops has its row deleted
// (as Mercato's comment delete does), a deleted note soft-deletes all its rows.

const commentEvent = "customers.comment."

// ApplyComments applies a batch of customers.comment changes in one transaction.
func (s *Store) ApplyComments(ctx context.Context, changes []events.Change) (app.Result, error) {
	return applyRecords(ctx, s, commentKind(), changes)
}

func commentKind() recordKind[events.Comment] {
	return recordKind[events.Comment]{aggregate: events.AggregateComment,
		payload:   func(c events.Change) *events.Comment { return c.Comment },
		reconcile: reconcileComments, owners: commentOwners()}
}

func commentRowID(note uuid.UUID, ref events.OroRef) uuid.UUID {
	return rowkit.NameID([]byte("comment/" + note.String() + "/" + ref.Type + "/" + ref.ID))
}

const loadCommentRowsSQL = `
SELECT id, body, NULL::text, deleted_at IS NOT NULL, entity_id, NULL::text FROM customer_comments WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`

const commentColumnsSQL = `
INSERT INTO customer_comments (id, organization_id, tenant_id, body, created_at, updated_at, deleted_at, entity_id, deal_id)
SELECT v.id, v.org, v.ten, v.body, $8, $8, CASE WHEN v.deleted THEN $8::timestamptz END, v.entity, v.deal
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::boolean[], $6::uuid[], $7::uuid[])
     AS v(id, org, ten, body, deleted, entity, deal)
ORDER BY v.id`

const upsertCommentsSQL = commentColumnsSQL + `
ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, entity_id = EXCLUDED.entity_id, deal_id = EXCLUDED.deal_id,
       updated_at = EXCLUDED.updated_at,
       deleted_at = CASE WHEN EXCLUDED.deleted_at IS NULL THEN NULL ELSE coalesce(customer_comments.deleted_at, EXCLUDED.deleted_at) END
WHERE (customer_comments.body, customer_comments.entity_id, customer_comments.deal_id, customer_comments.deleted_at IS NOT NULL)
      IS DISTINCT FROM (EXCLUDED.body, EXCLUDED.entity_id, EXCLUDED.deal_id, EXCLUDED.deleted_at IS NOT NULL)
RETURNING id`

const relinkCommentsSQL = commentColumnsSQL + `
ON CONFLICT (id) DO UPDATE SET entity_id = EXCLUDED.entity_id, deal_id = EXCLUDED.deal_id, updated_at = EXCLUDED.updated_at
WHERE (customer_comments.entity_id, customer_comments.deal_id) IS DISTINCT FROM (EXCLUDED.entity_id, EXCLUDED.deal_id)
RETURNING id`

// dropCommentsSQL removes the comment of a target a note no longer has, as Mercato's comment delete does (a hard
// delete; a deleted note soft-deletes its comments, so they can come back with it).
const dropCommentsSQL = `DELETE FROM customer_comments WHERE id = ANY($1::uuid[]) RETURNING id, deleted_at IS NOT NULL`

type commentRows struct {
	id, org, ten, entity []uuid.UUID
	body                 []string
	deleted              []bool
	deal                 []*uuid.UUID
	idx                  []int
}

func (r *commentRows) exec(ctx context.Context, tx pgx.Tx, sql string, now time.Time) (map[uuid.UUID]bool, error) {
	written := map[uuid.UUID]bool{}
	if len(r.id) == 0 {
		return written, nil
	}
	rows, err := tx.Query(ctx, sql, rowkit.UUIDs(r.id), rowkit.UUIDs(r.org), rowkit.UUIDs(r.ten), r.body, r.deleted, rowkit.UUIDs(r.entity), rowkit.OptUUIDs(r.deal), now)
	if err != nil {
		return nil, fmt.Errorf("writer: writing comments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("writer: writing comments: %w", err)
		}
		written[id] = true
	}
	return written, rows.Err()
}

func dedupeRefs(refs []events.OroRef) []events.OroRef {
	var out []events.OroRef
	seen := map[events.OroRef]bool{}
	for _, r := range refs {
		if r.ID != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// commentPlan is what a reconcile of notes writes: their rows (full, or relations only for a re-reconcile of a
// row that exists) and the rows of targets a version dropped.
type commentPlan struct {
	rs  []recState[events.Comment]
	cur map[uuid.UUID]rowState
	resolvedTargets
	full, relink commentRows
	where        map[uuid.UUID]int // row id → record index
	drop         []uuid.UUID
}

func reconcileComments(ctx context.Context, s *Store, tx pgx.Tx, rs []recState[events.Comment], out *reconciled, now time.Time) error {
	cp, err := s.loadCommentPlan(ctx, tx, rs)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if !r.st.Missing {
			cp.add(s, i, r, out)
		}
	}
	if err := cp.write(ctx, tx, out, now); err != nil {
		return err
	}
	return cp.dropRows(ctx, tx, out)
}

// loadCommentPlan loads the rows the notes have or had and resolves their targets.
func (s *Store) loadCommentPlan(ctx context.Context, tx pgx.Tx, rs []recState[events.Comment]) (*commentPlan, error) {
	var ids []uuid.UUID
	var refs []refKey
	for _, r := range rs {
		var all []events.OroRef
		if r.prev != nil {
			all = append(all, r.prev.Targets...)
		}
		if !r.st.Missing {
			all = append(all, r.st.Value.Targets...)
			for _, t := range dedupeRefs(r.st.Value.Targets) {
				refs = append(refs, refKey{r.key.Tenant, t})
			}
		}
		for _, t := range dedupeRefs(all) {
			ids = append(ids, commentRowID(r.id, t))
		}
	}
	cp := &commentPlan{rs: rs, where: map[uuid.UUID]int{}}
	var err error
	if cp.cur, err = loadRowStates(ctx, tx, loadCommentRowsSQL, ids); err != nil {
		return nil, err
	}
	cp.resolvedTargets, err = s.resolveTargets(ctx, tx, refs, func(found map[refKey]target) map[uuid.UUID]string {
		deals := map[uuid.UUID]string{}
		for k, t := range found {
			if t.kind == "deal" {
				deals[t.id] = k.tenant
			}
		}
		return deals
	})
	return cp, err
}

// add plans the rows of note i: one per target written (or whose row names an entity already), and the removal
// of the rows of targets its previous version had.
func (cp *commentPlan) add(s *Store, i int, r recState[events.Comment], out *reconciled) {
	keep := map[events.OroRef]bool{}
	taken := map[uuid.UUID]bool{} // entities with a comment of this note: a case standing for one adds none
	for _, ref := range dedupeRefs(r.st.Value.Targets) {
		if t, ok := cp.found[refKey{r.key.Tenant, ref}]; ok && !t.viaCase && t.kind != "deal" {
			taken[t.id] = true
		}
	}
	for _, ref := range dedupeRefs(r.st.Value.Targets) {
		if t := cp.found[refKey{r.key.Tenant, ref}]; t.viaCase {
			if taken[t.id] {
				out.waiting[i] = append(out.waiting[i], ref) // follows the case, though it adds no comment now
				continue
			}
			taken[t.id] = true
		}
		keep[ref] = true
		rowID := commentRowID(r.id, ref)
		st := cp.cur[rowID]
		entity, deal := cp.resolve(i, r.key.Tenant, ref, out)
		if entity == nil {
			entity = st.entity
		}
		if entity == nil {
			continue
		}
		rows := &cp.full
		if r.relink && st.Exists {
			rows = &cp.relink
		}
		body := r.st.Value.Body
		rows.id, rows.org, rows.ten = append(rows.id, rowID), append(rows.org, r.sc.OrganizationID), append(rows.ten, r.sc.TenantID)
		rows.body = append(rows.body, *s.columns(r.key.Tenant, rowkit.EntityComment).Keep("body", st.a, &body))
		rows.deleted = append(rows.deleted, r.st.Deleted)
		rows.entity, rows.deal, rows.idx = append(rows.entity, *entity), append(rows.deal, deal), append(rows.idx, i)
		cp.where[rowID] = i
		if out.rowID[i] == nil {
			id := rowID
			out.rowID[i] = &id
		}
	}
	if r.prev != nil {
		for _, ref := range dedupeRefs(r.prev.Targets) {
			if rowID := commentRowID(r.id, ref); !keep[ref] && cp.cur[rowID].Exists {
				cp.drop = append(cp.drop, rowID)
				cp.where[rowID] = i
			}
		}
	}
}

// resolve is the entity and deal a note's target stands for (nil: not written yet, then the note waits for it).
func (cp *commentPlan) resolve(i int, tenant string, ref events.OroRef, out *reconciled) (entity, deal *uuid.UUID) {
	k := refKey{tenant, ref}
	t, ok := cp.found[k]
	switch {
	case !ok:
		if !cp.never[k] {
			out.waiting[i] = append(out.waiting[i], ref)
		}
	case t.kind == "person" || t.kind == "company":
		id := t.id
		entity = &id
		if t.viaCase { // applied again whenever the case is written, so it follows the case's entity
			out.waiting[i] = append(out.waiting[i], ref)
		}
	case t.kind == "deal":
		id := t.id
		deal = &id
		if e, ok := cp.viaDeal[t.id]; ok {
			entity = &e
		}
		// Re-applied whenever the deal or its people and companies are written.
		out.waiting[i] = append(append(out.waiting[i], ref), cp.dealPending[t.id]...)
	}
	return entity, deal
}

// emit adds the event of a comment row.
func (cp *commentPlan) emit(out *reconciled, rowID uuid.UUID, evt string, salt string) error {
	r := cp.rs[cp.where[rowID]]
	row, err := rowkit.EventRow(r.key.Tenant, commentEvent+evt, events.RecordEvent{ID: rowID.String(), OrganizationID: r.sc.OrganizationID.String(),
		TenantID: r.sc.TenantID.String(), SyncOrigin: events.SyncOrigin}, rowID.String(), r.st.Version, r.st.MappingVersion, salt)
	if err != nil {
		return err
	}
	out.outbox = append(out.outbox, row)
	return nil
}

// write upserts the planned rows and emits the events of those that changed.
func (cp *commentPlan) write(ctx context.Context, tx pgx.Tx, out *reconciled, now time.Time) error {
	for _, set := range []struct {
		rows *commentRows
		sql  string
	}{{&cp.full, upsertCommentsSQL}, {&cp.relink, relinkCommentsSQL}} {
		written, err := set.rows.exec(ctx, tx, set.sql, now)
		if err != nil {
			return err
		}
		for j, rowID := range set.rows.id {
			r := cp.rs[set.rows.idx[j]]
			evt := domain.RowEvent(cp.cur[rowID].RowState, r.st.Deleted, written[rowID])
			if evt == "" {
				continue
			}
			salt := ""
			if evt == "updated" {
				salt = rowkit.Digest([]any{r.st.Value.Body, set.rows.entity[j], set.rows.deal[j]})
			}
			if err := cp.emit(out, rowID, evt, salt); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropRows deletes the rows of dropped targets; a row that was live is announced deleted.
func (cp *commentPlan) dropRows(ctx context.Context, tx pgx.Tx, out *reconciled) error {
	if len(cp.drop) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, dropCommentsSQL, rowkit.UUIDs(cp.drop))
	if err != nil {
		return fmt.Errorf("writer: removing comments: %w", err)
	}
	var dropped []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		var wasDeleted bool
		if err := rows.Scan(&id, &wasDeleted); err != nil {
			rows.Close()
			return fmt.Errorf("writer: removing comments: %w", err)
		}
		if !wasDeleted {
			dropped = append(dropped, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("writer: removing comments: %w", err)
	}
	for _, id := range dropped {
		if err := cp.emit(out, id, "deleted", "dropped"); err != nil {
			return err
		}
	}
	return nil
}
