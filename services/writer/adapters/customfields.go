package adapters

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
)

// Custom fields: the mapping puts what Mercato has no column for in an aggregate's customFields; they become
// custom_field_values rows (Mercato's EAV, reference §1 item 10) of the aggregate's row (the profile row of people
// and companies), one row per value (an array is a multi-value field), in the column of the value's kind
// (domain.CustomFieldValues). Row ids derive from the record, the key, the position and the value, so a value Oro
// did not change keeps its row and a replay writes nothing. A key is rewritten only when Oro's value for it
// changed (or its rows are missing): a value edited in Mercato stays until Oro changes that field. Values of keys
// the mapping never wrote (fields defined in Mercato) are left alone. A record whose row waited for a reference
// gets its values when the row is written.

// customFieldTarget is where an aggregate's custom fields go: custom_field_values.entity_id, and the event Mercato
// emits for a change of custom fields only (`<module>.<entity>.updated` of that entity id, reference §3).
type customFieldTarget struct {
	entity, event string
}

func customFieldsOf(aggregate string) (customFieldTarget, bool) {
	switch aggregate {
	case events.AggregatePerson:
		return customFieldTarget{"customers:customer_person_profile", "customers.customer_person_profile.updated"}, true
	case events.AggregateCompany:
		return customFieldTarget{"customers:customer_company_profile", "customers.customer_company_profile.updated"}, true
	case events.AggregateDeal:
		return customFieldTarget{"customers:customer_deal", "customers.customer_deal.updated"}, true
	case events.AggregateInteraction:
		return customFieldTarget{"customers:customer_interaction", "customers.customer_interaction.updated"}, true
	}
	return customFieldTarget{}, false
}

// customFields are the custom fields of a record aggregate's value (nil: none).
func customFields(v any) map[string]any {
	switch x := v.(type) {
	case *events.Deal:
		return x.CustomFields
	case *events.Interaction:
		if x.Direction == nil || *x.Direction == "" {
			return x.CustomFields
		}
		// Mercato's interactions have no direction column: calls' and emails' direction is a custom field.
		cf := make(map[string]any, len(x.CustomFields)+1)
		for k, v := range x.CustomFields {
			cf[k] = v
		}
		if _, ok := cf[directionField]; !ok {
			cf[directionField] = *x.Direction
		}
		return cf
	}
	return nil
}

// directionField is the custom field an interaction's direction (incoming, outgoing) is kept in.
const directionField = "oro_direction"

// sameJSON says whether two decoded JSON values are equal (encoding/json writes map keys sorted).
func sameJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// customFieldRowID is the row's deterministic id: the record, the field, the value's position and the value.
func customFieldRowID(sc Scope, entity string, record uuid.UUID, key string, pos int, v domain.CustomFieldValue) uuid.UUID {
	var buf [256]byte
	b := append(rowkit.AppendScope(buf[:0], sc), "custom-field/"...)
	b = append(append(b, entity...), '/')
	b = append(rowkit.AppendUUID(b, record), '/')
	b = append(append(b, key...), '/')
	b = append(strconv.AppendInt(b, int64(pos), 10), '/')
	switch {
	case v.Text != nil:
		b = append(append(b, "t:"...), *v.Text...)
	case v.Multiline != nil:
		b = append(append(b, "m:"...), *v.Multiline...)
	case v.Int != nil:
		b = strconv.AppendInt(append(b, "i:"...), int64(*v.Int), 10)
	case v.Float != nil:
		b = strconv.AppendFloat(append(b, "f:"...), float64(*v.Float), 'g', -1, 32)
	case v.Bool != nil:
		b = strconv.AppendBool(append(b, "b:"...), *v.Bool)
	}
	return rowkit.NameID(b)
}

type cfField struct {
	record string
	key    string
}

const loadCustomFieldsSQL = `
SELECT id, record_id, field_key FROM custom_field_values
WHERE entity_id = $1 AND record_id = ANY($2::text[]) AND deleted_at IS NULL`

const deleteCustomFieldsSQL = `DELETE FROM custom_field_values WHERE id = ANY($1::uuid[])`

const insertCustomFieldsSQL = `
INSERT INTO custom_field_values (id, entity_id, record_id, organization_id, tenant_id, field_key, value_text, value_multiline,
       value_int, value_float, value_bool, created_at)
SELECT v.id, $1, v.record, v.org, v.ten, v.key, v.txt, v.multi, v.int, v.flt, v.bool, $12
FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::int[], $10::real[], $11::boolean[])
     AS v(id, record, org, ten, key, txt, multi, int, flt, bool)
ORDER BY v.id
ON CONFLICT (id) DO UPDATE SET deleted_at = NULL`

// cfInserts are the custom_field_values rows to insert, as columns.
type cfInserts struct {
	id, org, ten []uuid.UUID
	record, key  []string
	text, multi  []*string
	integer      []*int32
	float        []*float32
	boolean      []*bool
}

func (c *cfInserts) add(id uuid.UUID, sc Scope, record, key string, v domain.CustomFieldValue) {
	c.id, c.org, c.ten = append(c.id, id), append(c.org, sc.OrganizationID), append(c.ten, sc.TenantID)
	c.record, c.key = append(c.record, record), append(c.key, key)
	c.text, c.multi = append(c.text, v.Text), append(c.multi, v.Multiline)
	c.integer, c.float, c.boolean = append(c.integer, v.Int), append(c.float, v.Float), append(c.boolean, v.Bool)
}

// cfRecord is one record whose custom fields a write brings in line.
type cfRecord struct {
	sc      Scope
	tenant  string
	label   string    // the Oro record, for errors
	record  uuid.UUID // custom_field_values.record_id: the Mercato row
	prev    map[string]any
	hasPrev bool // prev is the last synced Oro value (a record written before)
	// relink: written again for its references only; its values are written only if it has none yet.
	relink bool
	// announced: the write emits an event of the record anyway (a change of custom fields rides on it).
	announced bool
	next      map[string]any
	version   events.SourceVersion
	mapping   string
}

// written says whether a record has values of any of the keys.
func written(existing map[cfField]map[uuid.UUID]bool, record string, keys map[string]bool) bool {
	for k := range keys {
		if len(existing[cfField{record, k}]) > 0 {
			return true
		}
	}
	return false
}

// reconcileCustomFields writes the custom fields of the record aggregates a reconcile wrote (out.rowID).
func reconcileCustomFields[T any](ctx context.Context, tx pgx.Tx, aggregate string, rs []recState[T], out *reconciled, now time.Time) error {
	target, ok := customFieldsOf(aggregate)
	if !ok {
		return nil
	}
	announced := map[string]bool{}
	for _, row := range out.outbox {
		if strings.HasPrefix(row.EventType, aggregate+".") {
			announced[row.Subject[strings.LastIndexByte(row.Subject, '.')+1:]] = true
		}
	}
	var recs []cfRecord
	for i, r := range rs {
		if r.st.Missing || r.st.Deleted || out.rowID[i] == nil {
			continue
		}
		cr := cfRecord{sc: r.sc, tenant: r.key.Tenant, label: aggregate + " " + r.key.SourceType + "/" + r.key.SourceID,
			record: *out.rowID[i], hasPrev: r.prev != nil, relink: r.relink, announced: announced[out.rowID[i].String()],
			next: customFields(&r.st.Value), version: r.st.Version, mapping: r.st.MappingVersion}
		if r.prev != nil {
			cr.prev = customFields(r.prev)
		}
		recs = append(recs, cr)
	}
	rows, err := syncCustomFields(ctx, tx, target, recs, now)
	out.outbox = append(out.outbox, rows...)
	return err
}

// profileCustomFields is the cfRecord of a person's or company's profile row; nil when there is nothing to
// compare (most records) or no profile row.
func profileCustomFields(aggregate string, k domain.Key, sc Scope, profile uuid.UUID, announced bool, v events.SourceVersion,
	mapping string, next map[string]any, prev map[string]any, hasPrev bool) *cfRecord {
	if profile == uuid.Nil || (len(next) == 0 && len(prev) == 0) {
		return nil
	}
	return &cfRecord{sc: sc, tenant: k.Tenant, label: aggregate + " " + k.SourceType + "/" + k.SourceID, record: profile,
		announced: announced, next: next, prev: prev, hasPrev: hasPrev, version: v, mapping: mapping}
}

// syncCustomFields writes the custom_field_values of the records and returns the events of those whose custom
// fields alone changed.
func syncCustomFields(ctx context.Context, tx pgx.Tx, target customFieldTarget, recs []cfRecord, now time.Time) ([]model.OrosyncOutbox, error) {
	recs = slices.DeleteFunc(slices.Clone(recs), func(r cfRecord) bool { return len(r.next) == 0 && len(r.prev) == 0 })
	if len(recs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.record.String()
	}
	existing, err := loadCustomFields(ctx, tx, target, ids)
	if err != nil {
		return nil, err
	}
	var (
		ins     cfInserts
		del     []uuid.UUID
		changed = make([]bool, len(recs))
	)
	for n, r := range recs {
		if changed[n], err = planCustomFields(target, r, ids[n], existing, &ins, &del); err != nil {
			return nil, err
		}
	}
	if err := writeCustomFields(ctx, tx, target, ins, del, now); err != nil {
		return nil, err
	}
	// A record announced anyway carries the change in its own event, as Mercato's update commands do.
	var out []model.OrosyncOutbox
	for n, r := range recs {
		if !changed[n] || r.announced {
			continue
		}
		row, err := rowkit.EventRow(r.tenant, target.event, events.RecordEvent{ID: ids[n], OrganizationID: r.sc.OrganizationID.String(),
			TenantID: r.sc.TenantID.String(), SyncOrigin: events.SyncOrigin}, ids[n], r.version, r.mapping, "custom-fields/"+rowkit.Digest(r.next))
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, nil
}

// loadCustomFields reads the ids of the live values of the records, per record and key.
func loadCustomFields(ctx context.Context, tx pgx.Tx, target customFieldTarget, ids []string) (map[cfField]map[uuid.UUID]bool, error) {
	existing := map[cfField]map[uuid.UUID]bool{}
	rows, err := tx.Query(ctx, loadCustomFieldsSQL, target.entity, ids)
	if err != nil {
		return nil, fmt.Errorf("writer: loading custom fields of %d %s records: %w", len(ids), target.entity, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id          [16]byte
			record, key string
		)
		if err := rows.Scan(&id, &record, &key); err != nil {
			return nil, fmt.Errorf("writer: reading custom fields: %w", err)
		}
		f := cfField{record, key}
		if existing[f] == nil {
			existing[f] = map[uuid.UUID]bool{}
		}
		existing[f][id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: reading custom fields: %w", err)
	}
	return existing, nil
}

// planCustomFields adds the values record r (id record) gains and loses to ins and del; it reports whether any.
func planCustomFields(target customFieldTarget, r cfRecord, record string, existing map[cfField]map[uuid.UUID]bool, ins *cfInserts,
	del *[]uuid.UUID) (bool, error) {
	keys := make(map[string]bool, len(r.next)+len(r.prev))
	for k := range r.next {
		keys[k] = true
	}
	for k := range r.prev {
		keys[k] = true
	}
	if r.relink && written(existing, record, keys) {
		return false, nil // its values were written with its row
	}
	changed := false
	for key := range keys {
		have := existing[cfField{record, key}]
		if r.hasPrev && len(have) > 0 && sameJSON(r.prev[key], r.next[key]) {
			continue // Oro did not change it: what Mercato holds stays
		}
		values, err := domain.CustomFieldValues(r.next[key])
		if err != nil {
			return false, fmt.Errorf("writer: %s: custom field %q: %w", r.label, key, err)
		}
		want := make(map[uuid.UUID]bool, len(values))
		for pos, v := range values {
			id := customFieldRowID(r.sc, target.entity, r.record, key, pos, v)
			want[id] = true
			if !have[id] {
				ins.add(id, r.sc, record, key, v)
				changed = true
			}
		}
		for id := range have {
			if !want[id] {
				*del = append(*del, id)
				changed = true
			}
		}
	}
	return changed, nil
}

func writeCustomFields(ctx context.Context, tx pgx.Tx, target customFieldTarget, ins cfInserts, del []uuid.UUID, now time.Time) error {
	if len(del) > 0 {
		slices.SortFunc(del, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }) // lock order
		if _, err := tx.Exec(ctx, deleteCustomFieldsSQL, rowkit.UUIDs(del)); err != nil {
			return fmt.Errorf("writer: deleting %d custom field values: %w", len(del), err)
		}
	}
	if len(ins.id) > 0 {
		if _, err := tx.Exec(ctx, insertCustomFieldsSQL, target.entity, rowkit.UUIDs(ins.id), ins.record, rowkit.UUIDs(ins.org),
			rowkit.UUIDs(ins.ten), ins.key, ins.text, ins.multi, ins.integer, ins.float, ins.boolean, now); err != nil {
			return fmt.Errorf("writer: inserting %d custom field values: %w", len(ins.id), err)
		}
	}
	return nil
}
