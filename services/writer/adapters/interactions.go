package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

// Interactions (customers.interaction, from Oro tasks, calls, emails, cases): one customer_interactions row. Its
// entity_id (NOT NULL in Mercato) is the primary target when orosync wrote it, else the first target it wrote (and
// the primary one once it arrives); a target that is a deal sets deal_id, and stands for the deal's first company
// or person when no person or company target is written; a target that is an Oro case stands for the person or
// company the case is on (refs.go). The company and deal targets written are its
// linked_entities ({id, type, label}, Mercato's validator shape); participants ({userId, name, email}) are the
// Mercato users its Oro user targets match (owner and author: record_owners.go). source is what Mercato's own activity and todo APIs write (adapter:activity, tasks adapter:todo),
// so the person, company and deal pages list them with the unified-interactions toggle off (Mercato's default)
// as well as on. Until some target resolves the interaction waits (no row). An update moving the status to
// done or canceled is also announced as customers.interaction.completed / canceled.

const interactionEvent = "customers.interaction."

// ApplyInteractions applies a batch of customers.interaction changes in one transaction.
func (s *Store) ApplyInteractions(ctx context.Context, changes []events.Change) (app.Result, error) {
	return applyRecords(ctx, s, interactionKind(), changes)
}

func interactionKind() recordKind[events.Interaction] {
	return recordKind[events.Interaction]{aggregate: events.AggregateInteraction,
		payload:   func(c events.Change) *events.Interaction { return c.Interaction },
		reconcile: reconcileInteractions, owners: interactionOwners()}
}

const loadInteractionRowsSQL = `
SELECT id, title, body, deleted_at IS NOT NULL, entity_id, status FROM customer_interactions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`

const interactionColumnsSQL = `
INSERT INTO customer_interactions (id, organization_id, tenant_id, interaction_type, title, body, status, scheduled_at,
       occurred_at, priority, duration_minutes, deal_id, entity_id, participants, linked_entities, source, created_at, updated_at,
       deleted_at)
SELECT v.id, v.org, v.ten, v.typ, v.title, v.body, v.status, v.scheduled, v.occurred, v.priority, v.duration, v.deal, v.entity,
       v.participants, v.linked, CASE WHEN v.typ = 'task' THEN 'adapter:todo' ELSE 'adapter:activity' END, $17, $17,
       CASE WHEN v.deleted THEN $17::timestamptz END
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
            $9::timestamptz[], $10::int[], $11::int[], $12::uuid[], $13::uuid[], $14::jsonb[], $15::jsonb[], $16::boolean[])
     AS v(id, org, ten, typ, title, body, status, scheduled, occurred, priority, duration, deal, entity, participants, linked, deleted)
ORDER BY v.id`

const upsertInteractionsSQL = interactionColumnsSQL + `
ON CONFLICT (id) DO UPDATE SET interaction_type = EXCLUDED.interaction_type, title = EXCLUDED.title, body = EXCLUDED.body,
       status = EXCLUDED.status, scheduled_at = EXCLUDED.scheduled_at, occurred_at = EXCLUDED.occurred_at,
       priority = EXCLUDED.priority, duration_minutes = EXCLUDED.duration_minutes, deal_id = EXCLUDED.deal_id,
       entity_id = EXCLUDED.entity_id, participants = EXCLUDED.participants, linked_entities = EXCLUDED.linked_entities,
       source = EXCLUDED.source, updated_at = EXCLUDED.updated_at,
       deleted_at = CASE WHEN EXCLUDED.deleted_at IS NULL THEN NULL ELSE coalesce(customer_interactions.deleted_at, EXCLUDED.deleted_at) END
WHERE (customer_interactions.interaction_type, customer_interactions.title, customer_interactions.body, customer_interactions.status,
       customer_interactions.scheduled_at, customer_interactions.occurred_at, customer_interactions.priority,
       customer_interactions.duration_minutes, customer_interactions.deal_id, customer_interactions.entity_id,
       customer_interactions.participants, customer_interactions.linked_entities, customer_interactions.source,
       customer_interactions.deleted_at IS NOT NULL)
      IS DISTINCT FROM (EXCLUDED.interaction_type, EXCLUDED.title, EXCLUDED.body, EXCLUDED.status, EXCLUDED.scheduled_at,
       EXCLUDED.occurred_at, EXCLUDED.priority, EXCLUDED.duration_minutes, EXCLUDED.deal_id, EXCLUDED.entity_id,
       EXCLUDED.participants, EXCLUDED.linked_entities, EXCLUDED.source, EXCLUDED.deleted_at IS NOT NULL)
RETURNING id`

// relinkInteractionsSQL touches only the relations of existing rows.
const relinkInteractionsSQL = interactionColumnsSQL + `
ON CONFLICT (id) DO UPDATE SET deal_id = EXCLUDED.deal_id, entity_id = EXCLUDED.entity_id, participants = EXCLUDED.participants,
       linked_entities = EXCLUDED.linked_entities, source = EXCLUDED.source, updated_at = EXCLUDED.updated_at
WHERE (customer_interactions.deal_id, customer_interactions.entity_id, customer_interactions.participants,
       customer_interactions.linked_entities, customer_interactions.source)
      IS DISTINCT FROM (EXCLUDED.deal_id, EXCLUDED.entity_id, EXCLUDED.participants, EXCLUDED.linked_entities, EXCLUDED.source)
RETURNING id`

type interactionRows struct {
	id, org, ten         []uuid.UUID
	typ, status          []string
	title, body          []*string
	scheduled, occurred  []*time.Time
	priority, duration   []*int32
	deal, entity         []*uuid.UUID
	participants, linked []*string
	deleted              []bool
	idx                  []int
}

func (r *interactionRows) exec(ctx context.Context, tx pgx.Tx, sql string, now time.Time) (map[uuid.UUID]bool, error) {
	written := map[uuid.UUID]bool{}
	if len(r.id) == 0 {
		return written, nil
	}
	ents := make([]uuid.UUID, len(r.entity))
	for i, e := range r.entity {
		ents[i] = *e
	}
	rows, err := tx.Query(ctx, sql, rowkit.UUIDs(r.id), rowkit.UUIDs(r.org), rowkit.UUIDs(r.ten), r.typ, r.title, r.body, r.status, r.scheduled, r.occurred,
		r.priority, r.duration, rowkit.OptUUIDs(r.deal), rowkit.UUIDs(ents), r.participants, r.linked, r.deleted, now)
	if err != nil {
		return nil, fmt.Errorf("writer: writing interactions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("writer: writing interactions: %w", err)
		}
		written[id] = true
	}
	return written, rows.Err()
}

// linkedEntityJSON is one linked_entities item as Mercato's validator takes it (interactionLinkedEntitySchema).
type linkedEntityJSON struct {
	ID    string `json:"id"`
	Type  string `json:"type"` // company, deal
	Label string `json:"label"`
}

// linkedJSON is the linked_entities of an interaction: its company and deal targets written, labelled with their
// names (nil when none, as Mercato stores no list).
func linkedJSON(tenant string, refs []events.OroRef, found map[refKey]target, labels map[uuid.UUID]string) *string {
	var out []linkedEntityJSON
	seen := map[uuid.UUID]bool{}
	for _, ref := range refs {
		f, ok := found[refKey{tenant, ref}]
		if !ok || (f.kind != "company" && f.kind != "deal") || seen[f.id] {
			continue
		}
		seen[f.id] = true
		label := labels[f.id]
		out = append(out, linkedEntityJSON{ID: f.id.String(), Type: f.kind, Label: linkedLabel(label)})
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.Marshal(out)
	js := string(b)
	return &js
}

// targetLabelsSQL reads the names of companies (display_name) and deals (title) by id.
const targetLabelsSQL = `
SELECT id, display_name FROM customer_entities WHERE id = ANY($1::uuid[])
UNION ALL
SELECT id, title FROM customer_deals WHERE id = ANY($1::uuid[])`

// targetLabels reads the labels of the company and deal targets found (decrypted with their tenant's cipher).
func (s *Store) targetLabels(ctx context.Context, tx pgx.Tx, found map[refKey]target) (map[uuid.UUID]string, error) {
	tenantOf := map[uuid.UUID]string{}
	var ids []uuid.UUID
	for k, t := range found {
		if (t.kind == "company" || t.kind == "deal") && tenantOf[t.id] == "" {
			tenantOf[t.id] = k.tenant
			ids = append(ids, t.id)
		}
	}
	out := map[uuid.UUID]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, targetLabelsSQL, rowkit.UUIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("writer: labels of interaction targets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var label *string
		if err := rows.Scan(&id, &label); err != nil {
			return nil, fmt.Errorf("writer: labels of interaction targets: %w", err)
		}
		if v := s.ciphers[tenantOf[id]].DecPtr(label); v != nil {
			out[id] = *v
		}
	}
	return out, rows.Err()
}

// pickTargets chooses entity_id and deal_id from the targets in order (primary first).
func pickTargets(tenant string, refs []events.OroRef, found map[refKey]target) (entity, deal *uuid.UUID) {
	for _, ref := range refs {
		t, ok := found[refKey{tenant, ref}]
		if !ok {
			continue
		}
		id := t.id
		switch {
		case (t.kind == "person" || t.kind == "company") && entity == nil:
			entity = &id
		case t.kind == "deal" && deal == nil:
			deal = &id
		}
	}
	return entity, deal
}

func interactionTargets(in events.Interaction) []events.OroRef {
	var out []events.OroRef
	seen := map[events.OroRef]bool{}
	add := func(r events.OroRef) {
		if r.ID != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	if in.Entity != nil {
		add(*in.Entity)
	}
	for _, r := range in.Participants {
		add(r)
	}
	for _, r := range in.LinkedEntities {
		add(r)
	}
	return out
}

// interactionSource is customer_interactions.source as Mercato's legacy APIs write it: tasks come from its todos
// API, the others from its activities API (the SQL of interactionColumnsSQL says the same).
func interactionSource(typ string) *string {
	s := "adapter:activity"
	if typ == "task" {
		s = "adapter:todo"
	}
	return &s
}

// viaCases lists the targets that stand for their case's entity: the record is applied again whenever the case is
// written, so it follows the case's entity.
func viaCases(tenant string, refs []events.OroRef, found map[refKey]target) []events.OroRef {
	var out []events.OroRef
	for _, ref := range refs {
		if found[refKey{tenant, ref}].viaCase {
			out = append(out, ref)
		}
	}
	return out
}

// waitFor lists the targets not written yet (records of a kind that never resolves are not waited for).
func waitFor(tenant string, refs []events.OroRef, found map[refKey]target, never map[refKey]bool) []events.OroRef {
	var out []events.OroRef
	for _, ref := range refs {
		k := refKey{tenant, ref}
		if _, ok := found[k]; !ok && !never[k] {
			out = append(out, ref)
		}
	}
	return out
}

// nextInteractionsSQL is Mercato's recomputeNextInteraction (lib/interactionProjection.ts) for many entities: the
// open (status not terminal), scheduled, live interaction first by scheduled_at, priority desc, created_at, id is
// projected onto customer_entities.next_interaction_* (name = its title, else its type), or nothing.
const nextInteractionsSQL = `
WITH e AS (SELECT DISTINCT unnest($1::uuid[]) AS id),
c AS (
  SELECT DISTINCT ON (i.entity_id) i.entity_id, i.id, i.scheduled_at, i.appearance_icon, i.appearance_color,
         CASE WHEN i.title IS NOT NULL AND btrim(i.title) <> '' THEN i.title ELSE i.interaction_type END AS name
  FROM customer_interactions i JOIN e ON i.entity_id = e.id
  WHERE i.status NOT IN ('done', 'canceled', 'completed') AND i.scheduled_at IS NOT NULL AND i.deleted_at IS NULL
  ORDER BY i.entity_id, i.scheduled_at, i.priority DESC NULLS LAST, i.created_at, i.id)
UPDATE customer_entities ce SET next_interaction_at = c.scheduled_at, next_interaction_name = c.name,
       next_interaction_ref_id = c.id::text, next_interaction_icon = c.appearance_icon,
       next_interaction_color = c.appearance_color, updated_at = $2
FROM e LEFT JOIN c ON c.entity_id = e.id
WHERE ce.id = e.id AND (ce.next_interaction_at, ce.next_interaction_name, ce.next_interaction_ref_id, ce.next_interaction_icon,
       ce.next_interaction_color) IS DISTINCT FROM (c.scheduled_at, c.name, c.id::text, c.appearance_icon, c.appearance_color)`

// projectNextInteractions keeps the next-interaction projection Mercato's interaction commands maintain.
func projectNextInteractions(ctx context.Context, tx pgx.Tx, entities map[uuid.UUID]bool, now time.Time) error {
	if len(entities) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, len(entities))
	for id := range entities {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	if _, err := tx.Exec(ctx, nextInteractionsSQL, rowkit.UUIDs(ids), now); err != nil {
		return fmt.Errorf("writer: next interactions: %w", err)
	}
	return nil
}

// dealKey finds the Oro reference of a resolved deal among the targets.
func dealKey(tenant string, refs []events.OroRef, found map[refKey]target, deal uuid.UUID) *events.OroRef {
	for _, ref := range refs {
		if t, ok := found[refKey{tenant, ref}]; ok && t.kind == "deal" && t.id == deal {
			r := ref
			return &r
		}
	}
	return nil
}

func int32Ptr(v *int) *int32 {
	if v == nil {
		return nil
	}
	x := int32(*v)
	return &x
}

// interactionPlan is what a reconcile of interactions writes: their rows (full, or relations only for a
// re-reconcile of a row that exists).
type interactionPlan struct {
	rs  []recState[events.Interaction]
	cur map[uuid.UUID]rowState
	resolvedTargets
	labels       map[uuid.UUID]string    // of company and deal targets
	users        map[ownerKey]ownerMatch // Oro users among the targets, matched to Mercato users
	full, relink interactionRows
}

func reconcileInteractions(ctx context.Context, s *Store, tx pgx.Tx, rs []recState[events.Interaction], out *reconciled, now time.Time) error {
	tenants := map[string]bool{}
	for _, r := range rs {
		tenants[r.key.Tenant] = true
	}
	if err := lockLabelsShared(ctx, tx, tenants); err != nil { // before the rows: a deal relabel waits for this write
		return err
	}
	ip, err := s.loadInteractionPlan(ctx, tx, rs)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if !r.st.Missing {
			ip.add(s, i, r, out)
		}
	}
	touched := map[uuid.UUID]bool{} // entities whose next-interaction projection may have moved
	announce := map[uuid.UUID]int{} // entity of a written row → the first such record (by index)
	for _, set := range []struct {
		rows *interactionRows
		sql  string
	}{{&ip.full, upsertInteractionsSQL}, {&ip.relink, relinkInteractionsSQL}} {
		if err := ip.write(ctx, tx, set.rows, set.sql, touched, announce, out, now); err != nil {
			return err
		}
	}
	if err := projectNextInteractions(ctx, tx, touched, now); err != nil {
		return err
	}
	return ip.announceNext(ctx, tx, announce, out)
}

const nextInteractionRefsSQL = `SELECT id, next_interaction_ref_id FROM customer_entities WHERE id = ANY($1::uuid[])`

// announceNext emits customers.next_interaction.updated for the entity of each interaction row written, with its
// next interaction after the batch, as Mercato's interaction commands do after every create, update, complete,
// cancel and delete (one per entity and batch).
func (ip *interactionPlan) announceNext(ctx context.Context, tx pgx.Tx, announce map[uuid.UUID]int, out *reconciled) error {
	if len(announce) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, len(announce))
	for id := range announce {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	rows, err := tx.Query(ctx, nextInteractionRefsSQL, rowkit.UUIDs(ids))
	if err != nil {
		return fmt.Errorf("writer: next interactions: %w", err)
	}
	next := map[uuid.UUID]*string{}
	for rows.Next() {
		var id uuid.UUID
		var ref *string
		if err := rows.Scan(&id, &ref); err != nil {
			rows.Close()
			return fmt.Errorf("writer: next interactions: %w", err)
		}
		next[id] = ref
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("writer: next interactions: %w", err)
	}
	for _, id := range ids {
		r := ip.rs[announce[id]]
		payload := events.NextInteractionEvent{ID: id.String(), EntityID: id.String(), NextInteractionID: next[id],
			OrganizationID: r.sc.OrganizationID.String(), TenantID: r.sc.TenantID.String(), SyncOrigin: events.SyncOrigin}
		row, err := rowkit.EventRow(r.key.Tenant, "customers.next_interaction.updated", payload, id.String(), r.st.Version,
			r.st.MappingVersion, rowkit.Digest([]any{"next", r.key, r.st.Deleted, r.st.DeletedUpTo, next[id]}))
		if err != nil {
			return err
		}
		out.outbox = append(out.outbox, row)
	}
	return nil
}

// loadInteractionPlan loads the interactions' rows, resolves their targets, and the entities of the deals that
// stand for an entity when no person or company target is written.
func (s *Store) loadInteractionPlan(ctx context.Context, tx pgx.Tx, rs []recState[events.Interaction]) (*interactionPlan, error) {
	ids := make([]uuid.UUID, len(rs))
	var refs []refKey
	for i, r := range rs {
		ids[i] = r.id
		if r.st.Missing {
			continue
		}
		for _, ref := range interactionTargets(r.st.Value) {
			refs = append(refs, refKey{r.key.Tenant, ref})
		}
	}
	ip := &interactionPlan{rs: rs}
	var err error
	if ip.cur, err = loadRowStates(ctx, tx, loadInteractionRowsSQL, ids); err != nil {
		return nil, err
	}
	// Deals stand for their entity when no person or company target is written.
	ip.resolvedTargets, err = s.resolveTargets(ctx, tx, refs, func(found map[refKey]target) map[uuid.UUID]string {
		deals := map[uuid.UUID]string{}
		for _, r := range rs {
			if r.st.Missing {
				continue
			}
			if e, d := pickTargets(r.key.Tenant, interactionTargets(r.st.Value), found); e == nil && d != nil {
				deals[*d] = r.key.Tenant
			}
		}
		return deals
	})
	if err != nil {
		return nil, err
	}
	if ip.labels, err = s.targetLabels(ctx, tx, ip.found); err != nil {
		return nil, err
	}
	var users []ownerKey
	for _, r := range rs {
		if !r.st.Missing {
			for _, ref := range userTargets(interactionTargets(r.st.Value)) {
				users = append(users, ownerKey{r.key.Tenant, ref})
			}
		}
	}
	ip.users, err = s.matchOwners(ctx, tx, users)
	return ip, err
}

// userTargets are the Oro users among an activity's targets (Oro adds a call's owner there).
func userTargets(refs []events.OroRef) []events.OroRef {
	var out []events.OroRef
	for _, r := range refs {
		if r.Type == "users" {
			out = append(out, r)
		}
	}
	return out
}

// participantJSON is one participants item as Mercato's validator takes it (interactionParticipantSchema).
type participantJSON struct {
	UserID string `json:"userId"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
}

// participants are the Mercato users the activity's Oro user targets match, once each (nil: none, as Mercato
// stores no list); an unmatched one is parked on the record (out.waiting), so it joins once a user matches.
func (ip *interactionPlan) participants(i int, r recState[events.Interaction], targets []events.OroRef, out *reconciled) *string {
	var list []participantJSON
	seen := map[uuid.UUID]bool{}
	for _, ref := range userTargets(targets) {
		m := ip.users[ownerKey{r.key.Tenant, ref}]
		if m.user == nil {
			out.waiting[i] = append(out.waiting[i], ref)
			continue
		}
		if seen[*m.user] {
			continue
		}
		seen[*m.user] = true
		list = append(list, participantJSON{UserID: m.user.String(), Name: truncate(m.name, 200), Email: truncate(m.email, 320)})
	}
	if len(list) == 0 {
		return nil
	}
	b, _ := json.Marshal(list)
	js := string(b)
	return &js
}

// truncate cuts s to at most n bytes (the validator's limits), at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// entityOf picks interaction i's entity and deal among its targets, noting what it waits for; nil entity: none yet.
func (ip *interactionPlan) entityOf(i int, r recState[events.Interaction], targets []events.OroRef, out *reconciled) (entity, deal *uuid.UUID) {
	out.waiting[i] = append(waitFor(r.key.Tenant, targets, ip.found, ip.never), viaCases(r.key.Tenant, targets, ip.found)...)
	entity, deal = pickTargets(r.key.Tenant, targets, ip.found)
	if entity == nil && deal != nil {
		if e, ok := ip.viaDeal[*deal]; ok {
			entity = &e
		}
		// Re-applied whenever the deal or its people and companies are written, so the entity is the deal's
		// first company or person whatever order they arrived in.
		if dk := dealKey(r.key.Tenant, targets, ip.found, *deal); dk != nil {
			out.waiting[i] = append(out.waiting[i], *dk)
		}
		out.waiting[i] = append(out.waiting[i], ip.dealPending[*deal]...)
	}
	if entity == nil {
		entity = ip.cur[r.id].entity // keep the row's entity (a target written before may have been removed since)
	}
	return entity, deal
}

// add plans the row of interaction i, once it has an entity (Mercato needs one).
func (ip *interactionPlan) add(s *Store, i int, r recState[events.Interaction], out *reconciled) {
	in := r.st.Value
	targets := interactionTargets(in)
	entity, deal := ip.entityOf(i, r, targets, out)
	if entity == nil {
		return // waits
	}
	st := ip.cur[r.id]
	rows := &ip.full
	if r.relink && st.Exists {
		rows = &ip.relink
	}
	k := s.columns(r.key.Tenant, rowkit.EntityInteraction)
	status := in.Status
	if status == "" {
		status = "planned"
	}
	rows.id, rows.org, rows.ten = append(rows.id, r.id), append(rows.org, r.sc.OrganizationID), append(rows.ten, r.sc.TenantID)
	rows.typ, rows.status = append(rows.typ, in.InteractionType), append(rows.status, status)
	rows.title, rows.body = append(rows.title, k.Keep("title", st.a, in.Title)), append(rows.body, k.Keep("body", st.b, in.Body))
	rows.scheduled, rows.occurred = append(rows.scheduled, parseDate(in.ScheduledAt)), append(rows.occurred, parseDate(in.OccurredAt))
	rows.priority, rows.duration = append(rows.priority, int32Ptr(in.Priority)), append(rows.duration, int32Ptr(in.DurationMinutes))
	rows.deal, rows.entity = append(rows.deal, deal), append(rows.entity, entity)
	rows.participants = append(rows.participants, ip.participants(i, r, targets, out))
	rows.linked = append(rows.linked, linkedJSON(r.key.Tenant, targets, ip.found, ip.labels))
	rows.deleted = append(rows.deleted, r.st.Deleted)
	rows.idx = append(rows.idx, i)
	id := r.id
	out.rowID[i] = &id
	if !r.st.Deleted {
		out.dict.add(r.key.Tenant, "activity_type", &in.InteractionType)
		out.dict.add(r.key.Tenant, "interaction_status", &status)
	}
}

// write upserts rows, notes the entities whose projection may have moved, and emits the events of the rows
// that changed.
func (ip *interactionPlan) write(ctx context.Context, tx pgx.Tx, rows *interactionRows, sql string, touched map[uuid.UUID]bool,
	announce map[uuid.UUID]int, out *reconciled, now time.Time) error {
	written, err := rows.exec(ctx, tx, sql, now)
	if err != nil {
		return err
	}
	for j, id := range rows.id {
		if written[id] {
			touched[*rows.entity[j]] = true
			if _, ok := announce[*rows.entity[j]]; !ok {
				announce[*rows.entity[j]] = rows.idx[j]
			}
			if before := ip.cur[id].entity; before != nil {
				touched[*before] = true
			}
		}
	}
	for j, i := range rows.idx {
		if err := ip.emit(rows, j, ip.rs[i], written, out); err != nil {
			return err
		}
	}
	return nil
}

// emit adds the events of row j: created, updated or deleted, and completed or canceled when an update moves the
// status there (Mercato's interaction commands announce those too).
func (ip *interactionPlan) emit(rows *interactionRows, j int, r recState[events.Interaction], written map[uuid.UUID]bool, out *reconciled) error {
	evt := domain.RowEvent(ip.cur[r.id].RowState, r.st.Deleted, written[r.id])
	if evt == "" {
		return nil
	}
	payload := events.InteractionEvent{ID: r.id.String(), OrganizationID: r.sc.OrganizationID.String(),
		TenantID: r.sc.TenantID.String(), EntityID: rows.entity[j].String(), InteractionType: rows.typ[j],
		Status: rows.status[j], Source: interactionSource(rows.typ[j]), SyncOrigin: events.SyncOrigin}
	salt := ""
	if evt == "updated" {
		salt = rowkit.Digest([]any{r.st.Value, rows.entity[j], rows.deal[j], rows.linked[j] != nil, orEmptyString(rows.linked[j]),
			orEmptyString(rows.participants[j])})
	}
	row, err := rowkit.EventRow(r.key.Tenant, interactionEvent+evt, payload, r.id.String(), r.st.Version, r.st.MappingVersion, salt)
	if err != nil {
		return err
	}
	out.outbox = append(out.outbox, row)
	st := ip.cur[r.id]
	if evt != "updated" || st.Status == nil || *st.Status == payload.Status {
		return nil
	}
	action := map[string]string{"done": "completed", "canceled": "canceled"}[payload.Status]
	if action == "" {
		return nil
	}
	var lifecycle any = payload
	if action == "completed" { // Mercato's complete command adds when it happened
		var at *string
		if t := rows.occurred[j]; t != nil {
			v := t.UTC().Format("2006-01-02T15:04:05.000Z")
			at = &v
		}
		lifecycle = events.InteractionCompletedEvent{InteractionEvent: payload, OccurredAt: at}
	}
	row, err = rowkit.EventRow(r.key.Tenant, interactionEvent+action, lifecycle, r.id.String(), r.st.Version, r.st.MappingVersion, "")
	if err != nil {
		return err
	}
	out.outbox = append(out.outbox, row)
	return nil
}

func orEmptyString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
