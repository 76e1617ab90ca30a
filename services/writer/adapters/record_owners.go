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
)

// Owners of deals, interactions and comments: the Mercato user columns of their rows, set from the record's last
// applied value in the transaction that writes the record (a relink too: the record is reconciled again whenever
// an Oro user it names is written), with the Oro users matched as owners.go matches them. Which column an Oro user
// goes to is what Mercato's commands set (customers/commands/deals.ts ownerUserId; interactions.ts authorUserId =
// the creator, normalizeAuthorUserId, and ownerUserId = a task's assignee, lib/calendar/editorPayload.ts;
// comments.ts authorUserId). An unmatched user leaves the column empty, is kept in a custom field where Mercato
// has them (deals, interactions) and parks its reference (orosync_waiting_refs) on the record.

// ownerColumn is one Mercato user column of a record's rows, the Oro user it comes from (nil: none) and the custom
// field an unmatched one is kept in ("": none).
type ownerColumn struct {
	column string
	ref    *events.OroRef
	field  string
}

// recordOwners says where a record aggregate's owners go: its table, and per record the rows (row: its
// bookkeeping row id) and columns.
type recordOwners[T any] struct {
	table   string
	columns func(r recState[T], row uuid.UUID) (rows []uuid.UUID, cols []ownerColumn)
}

// ownerColumns are the user columns orosync writes, per table (identifiers for the UPDATE, never input).
var ownerColumns = map[string][]string{
	"customer_deals":        {"owner_user_id"},
	"customer_interactions": {"owner_user_id", "author_user_id"},
	"customer_comments":     {"author_user_id"},
}

func dealOwners() *recordOwners[events.Deal] {
	return &recordOwners[events.Deal]{table: "customer_deals", columns: func(r recState[events.Deal], row uuid.UUID) ([]uuid.UUID, []ownerColumn) {
		return []uuid.UUID{row}, []ownerColumn{{column: "owner_user_id", ref: r.st.Value.Owner, field: oroOwnerField}}
	}}
}

// interactionOwners: a task's Oro owner is its assignee, owner_user_id (Mercato's task editor writes the assignee
// there), its createdBy the author; the other activities (source adapter:activity, whose API sets authorUserId
// only) have the Oro owner, who logged them, as author_user_id and no owner.
func interactionOwners() *recordOwners[events.Interaction] {
	return &recordOwners[events.Interaction]{table: "customer_interactions",
		columns: func(r recState[events.Interaction], row uuid.UUID) ([]uuid.UUID, []ownerColumn) {
			in := r.st.Value
			if in.InteractionType == "task" {
				return []uuid.UUID{row}, []ownerColumn{{column: "owner_user_id", ref: in.Owner, field: oroOwnerField},
					{column: "author_user_id", ref: in.Author, field: oroCreatedByField}}
			}
			return []uuid.UUID{row}, []ownerColumn{{column: "author_user_id", ref: in.Owner, field: oroOwnerField}}
		}}
}

// commentOwners: every comment row of a note gets its author; Mercato's comments have no custom fields, so an
// unmatched author is only parked (and counted by orosync status).
func commentOwners() *recordOwners[events.Comment] {
	return &recordOwners[events.Comment]{table: "customer_comments",
		columns: func(r recState[events.Comment], _ uuid.UUID) ([]uuid.UUID, []ownerColumn) {
			var rows []uuid.UUID
			for _, t := range dedupeRefs(r.st.Value.Targets) {
				rows = append(rows, commentRowID(r.id, t))
			}
			return rows, []ownerColumn{{column: "author_user_id", ref: r.st.Value.Author}}
		}}
}

// oroCreatedByField keeps a task's unmatched Oro creator.
const oroCreatedByField = "oro_created_by"

// setOwnerColumnSQL sets one user column (%[1]s: table, %[2]s: column); a row whose write this transaction
// announced keeps that write's updated_at.
const setOwnerColumnSQL = `
UPDATE %[1]s t SET %[2]s = v.u, updated_at = CASE WHEN v.quiet THEN t.updated_at ELSE $4 END
FROM unnest($1::uuid[], $2::uuid[], $3::boolean[]) AS v(id, u, quiet)
WHERE t.id = v.id AND t.%[2]s IS DISTINCT FROM v.u
RETURNING t.id`

// ownerWrite is the column values for one column of a table.
type ownerWrite struct {
	ids   []uuid.UUID
	users []*uuid.UUID
	quiet []bool
}

// ownedRecord is a record whose rows' user columns are written, with the custom fields it keeps unmatched users in.
type ownedRecord struct {
	i    int
	rows []uuid.UUID
	cf   map[string]any
}

// reconcileRecordOwners writes the user columns of the rows of the records reconciled (live ones with a row).
func reconcileRecordOwners[T any](ctx context.Context, s *Store, tx pgx.Tx, kind recordKind[T], rs []recState[T], out *reconciled,
	now time.Time) error {
	if kind.owners == nil {
		return nil
	}
	announced := announcedRows(out.outbox, kind.aggregate)
	var (
		recs []ownedRecord
		cols [][]ownerColumn
		refs []ownerKey
	)
	for i, r := range rs {
		if r.st.Missing || r.st.Deleted || out.rowID[i] == nil {
			continue
		}
		rows, cs := kind.owners.columns(r, *out.rowID[i])
		recs, cols = append(recs, ownedRecord{i: i, rows: rows}), append(cols, cs)
		for _, c := range cs {
			if c.ref != nil {
				refs = append(refs, ownerKey{r.key.Tenant, *c.ref})
			}
		}
	}
	if len(recs) == 0 {
		return nil
	}
	matches, err := s.matchOwners(ctx, tx, refs)
	if err != nil {
		return err
	}
	writes, digests := map[string]*ownerWrite{}, map[uuid.UUID]string{}
	for n := range recs {
		rec := &recs[n]
		r := rs[rec.i]
		for _, c := range cols[n] {
			var user *uuid.UUID
			var label any
			if c.ref != nil {
				m := matches[ownerKey{r.key.Tenant, *c.ref}]
				if user = m.user; user == nil {
					out.waiting[rec.i], label = append(out.waiting[rec.i], *c.ref), m.label
				}
			}
			if c.field != "" {
				if rec.cf == nil {
					rec.cf = map[string]any{}
				}
				rec.cf[c.field] = label
			}
			w := writes[c.column]
			if w == nil {
				w = &ownerWrite{}
				writes[c.column] = w
			}
			for _, row := range rec.rows {
				w.ids, w.users, w.quiet = append(w.ids, row), append(w.users, user), append(w.quiet, announced[row.String()])
				digests[row] += c.column + "=" + userString(user) + ";"
			}
		}
	}
	changed, err := writeOwnerColumns(ctx, tx, kind.owners.table, writes, now)
	if err != nil {
		return err
	}
	return announceOwners(ctx, s, tx, kind.aggregate, rs, recs, ownerChanges{changed, digests}, announced, out, now)
}

// ownerChanges are the rows whose user columns changed, and per row what they hold now.
type ownerChanges struct {
	changed map[uuid.UUID]bool
	digests map[uuid.UUID]string
}

// announcedRows are the rows (by id) whose created or updated event the outbox holds.
func announcedRows(outbox []model.OrosyncOutbox, aggregate string) map[string]bool {
	announced := map[string]bool{}
	for _, row := range outbox {
		if row.EventType == aggregate+".created" || row.EventType == aggregate+".updated" {
			announced[row.Subject[strings.LastIndexByte(row.Subject, '.')+1:]] = true
		}
	}
	return announced
}

// writeOwnerColumns writes the columns and returns the rows whose values changed.
func writeOwnerColumns(ctx context.Context, tx pgx.Tx, table string, writes map[string]*ownerWrite, now time.Time) (map[uuid.UUID]bool, error) {
	changed := map[uuid.UUID]bool{}
	for _, column := range ownerColumns[table] {
		w := writes[column]
		if w == nil || len(w.ids) == 0 {
			continue
		}
		rows, err := tx.Query(ctx, fmt.Sprintf(setOwnerColumnSQL, table, column), rowkit.UUIDs(w.ids), rowkit.OptUUIDs(w.users), w.quiet, now)
		if err != nil {
			return nil, fmt.Errorf("writer: %s.%s: %w", table, column, err)
		}
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("writer: %s.%s: %w", table, column, err)
			}
			changed[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("writer: %s.%s: %w", table, column, err)
		}
	}
	return changed, nil
}

// announceOwners emits the updated events of the rows whose users changed and the write did not announce (as
// Mercato's update command announces the record whatever changed), then writes the custom fields keeping the
// unmatched users.
func announceOwners[T any](ctx context.Context, s *Store, tx pgx.Tx, aggregate string, rs []recState[T], recs []ownedRecord,
	ch ownerChanges, announced map[string]bool, out *reconciled, now time.Time) error {
	var alone, cfs []cfRecord
	for _, rec := range recs {
		r := rs[rec.i]
		base := cfRecord{sc: r.sc, tenant: r.key.Tenant, label: aggregate + " " + r.key.SourceType + "/" + r.key.SourceID,
			version: r.st.Version, mapping: r.st.MappingVersion}
		for _, row := range rec.rows {
			if ch.changed[row] && !announced[row.String()] {
				a := base
				a.record, a.next = row, map[string]any{"owners": ch.digests[row]}
				alone, announced[row.String()] = append(alone, a), true
			}
		}
		if rec.cf != nil {
			c := base
			c.record, c.next, c.announced = *out.rowID[rec.i], rec.cf, announced[out.rowID[rec.i].String()]
			cfs = append(cfs, c)
		}
	}
	if err := ownerEvents(ctx, tx, aggregate, alone, out); err != nil {
		return err
	}
	if len(cfs) == 0 {
		return nil
	}
	target, _ := customFieldsOf(aggregate)
	rows, err := s.syncCustomFields(ctx, tx, target, cfs, now)
	out.outbox = append(out.outbox, rows...)
	return err
}

// ownerEvents emits customers.<aggregate>.updated for rows whose users alone changed: a deal's and a comment's
// {id, organizationId, tenantId}, an interaction's as its update command emits it (with the entity's next
// interaction: interaction_cf_events.go).
func ownerEvents(ctx context.Context, tx pgx.Tx, aggregate string, recs []cfRecord, out *reconciled) error {
	if len(recs) == 0 {
		return nil
	}
	if aggregate == events.AggregateInteraction {
		rows, err := interactionCustomFieldEvents(ctx, tx, recs)
		out.outbox = append(out.outbox, rows...)
		return err
	}
	for _, r := range recs {
		row, err := rowkit.EventRow(r.tenant, aggregate+".updated", events.RecordEvent{ID: r.record.String(),
			OrganizationID: r.sc.OrganizationID.String(), TenantID: r.sc.TenantID.String(), SyncOrigin: events.SyncOrigin},
			r.record.String(), r.version, r.mapping, "owners/"+rowkit.Digest(r.next))
		if err != nil {
			return err
		}
		out.outbox = append(out.outbox, row)
	}
	return nil
}
