package adapters

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
)

// Custom fields: the mapping puts what Mercato has no column for in an aggregate's customFields; they become
// custom_field_values rows (Mercato's EAV, reference §1 item 10) of the aggregate's row, one row per value (an
// array is a multi-value field), in the column of the value's kind. Row ids derive from the record, the key, the
// position and the value, so a value Oro did not change keeps its row and a replay writes nothing. A key is
// rewritten only when Oro's value for it changed (or its rows are missing): a value edited in Mercato stays until
// Oro changes that field. Values of keys the mapping never wrote (fields defined in Mercato) are left alone. A
// record whose row waited for a reference gets its values when the row is written.

// customFieldTarget is where an aggregate's custom fields go: custom_field_values.entity_id, and the event Mercato
// emits for a change of custom fields only (`<module>.<entity>.updated` of that entity id, reference §3).
type customFieldTarget struct {
	entity, event string
}

func customFieldsOf(aggregate string) (customFieldTarget, bool) {
	switch aggregate {
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
		return x.CustomFields
	}
	return nil
}

// cfValue is one custom_field_values row's value: exactly one of the columns is set.
type cfValue struct {
	text, multiline *string
	integer         *int32
	float           *float32
	boolean         *bool
}

// customFieldValues are the rows of one field's value: none for null, one per element of an array (nested
// arrays and objects are kept as JSON text), else one.
func customFieldValues(v any) ([]cfValue, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]cfValue, 0, len(x))
		for _, e := range x {
			if e == nil {
				continue
			}
			cv, err := scalarValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, cv)
		}
		return out, nil
	}
	cv, err := scalarValue(v)
	if err != nil {
		return nil, err
	}
	return []cfValue{cv}, nil
}

func scalarValue(v any) (cfValue, error) {
	switch x := v.(type) {
	case string:
		if strings.ContainsAny(x, "\r\n") {
			return cfValue{multiline: &x}, nil
		}
		return cfValue{text: &x}, nil
	case bool:
		return cfValue{boolean: &x}, nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt32 && x <= math.MaxInt32 {
			i := int32(x)
			return cfValue{integer: &i}, nil
		}
		if math.IsInf(x, 0) || math.IsNaN(x) || math.Abs(x) > math.MaxFloat32 {
			return cfValue{}, fmt.Errorf("number %v does not fit custom_field_values.value_float (real)", x)
		}
		f := float32(x)
		return cfValue{float: &f}, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return cfValue{}, fmt.Errorf("number %q: %w", x, err)
		}
		return scalarValue(f)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return cfValue{}, err
	}
	s := string(b)
	return cfValue{text: &s}, nil
}

// sameJSON says whether two decoded JSON values are equal (encoding/json writes map keys sorted).
func sameJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// customFieldRowID is the row's deterministic id: the record, the field, the value's position and the value.
func customFieldRowID(sc Scope, entity string, record uuid.UUID, key string, pos int, v cfValue) uuid.UUID {
	var buf [256]byte
	b := append(appendScope(buf[:0], sc), "custom-field/"...)
	b = append(append(b, entity...), '/')
	b = append(appendUUID(b, record), '/')
	b = append(append(b, key...), '/')
	b = append(strconv.AppendInt(b, int64(pos), 10), '/')
	switch {
	case v.text != nil:
		b = append(append(b, "t:"...), *v.text...)
	case v.multiline != nil:
		b = append(append(b, "m:"...), *v.multiline...)
	case v.integer != nil:
		b = strconv.AppendInt(append(b, "i:"...), int64(*v.integer), 10)
	case v.float != nil:
		b = strconv.AppendFloat(append(b, "f:"...), float64(*v.float), 'g', -1, 32)
	case v.boolean != nil:
		b = strconv.AppendBool(append(b, "b:"...), *v.boolean)
	}
	return nameID(b)
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

func (c *cfInserts) add(id uuid.UUID, sc Scope, record, key string, v cfValue) {
	c.id, c.org, c.ten = append(c.id, id), append(c.org, sc.OrganizationID), append(c.ten, sc.TenantID)
	c.record, c.key = append(c.record, record), append(c.key, key)
	c.text, c.multi = append(c.text, v.text), append(c.multi, v.multiline)
	c.integer, c.float, c.boolean = append(c.integer, v.integer), append(c.float, v.float), append(c.boolean, v.boolean)
}

// reconcileCustomFields writes the custom fields of the records a reconcile wrote (out.rowID) and, for a record
// whose custom fields alone changed, Mercato's custom-fields event.
func reconcileCustomFields[T any](ctx context.Context, tx pgx.Tx, aggregate string, rs []recState[T], out *reconciled, now time.Time) error {
	target, ok := customFieldsOf(aggregate)
	if !ok {
		return nil
	}
	var idx []int
	var records []string
	for i, r := range rs {
		if r.st.Missing || r.st.Deleted || out.rowID[i] == nil {
			continue
		}
		next := customFields(&r.st.Value)
		var prev map[string]any
		if r.prev != nil {
			prev = customFields(r.prev)
		}
		if len(next) == 0 && len(prev) == 0 {
			continue
		}
		idx = append(idx, i)
		records = append(records, out.rowID[i].String())
	}
	if len(idx) == 0 {
		return nil
	}
	existing := map[cfField]map[uuid.UUID]bool{}
	rows, err := tx.Query(ctx, loadCustomFieldsSQL, target.entity, records)
	if err != nil {
		return fmt.Errorf("writer: loading custom fields of %d %s records: %w", len(records), aggregate, err)
	}
	for rows.Next() {
		var (
			id          [16]byte
			record, key string
		)
		if err := rows.Scan(&id, &record, &key); err != nil {
			rows.Close()
			return fmt.Errorf("writer: reading custom fields: %w", err)
		}
		f := cfField{record, key}
		if existing[f] == nil {
			existing[f] = map[uuid.UUID]bool{}
		}
		existing[f][id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("writer: reading custom fields: %w", err)
	}

	var (
		ins     cfInserts
		del     []uuid.UUID
		changed = map[int]bool{}
	)
	for n, i := range idx {
		r := rs[i]
		next := customFields(&r.st.Value)
		var prev map[string]any
		if r.prev != nil {
			prev = customFields(r.prev)
		}
		keys := make(map[string]bool, len(next)+len(prev))
		for k := range next {
			keys[k] = true
		}
		for k := range prev {
			keys[k] = true
		}
		if r.relink && written(existing, records[n], keys) {
			continue // a record reconciled again for its references: its values were written with its row
		}
		for key := range keys {
			have := existing[cfField{records[n], key}]
			if r.prev != nil && len(have) > 0 && sameJSON(prev[key], next[key]) {
				continue // Oro did not change it: what Mercato holds stays
			}
			values, err := customFieldValues(next[key])
			if err != nil {
				return fmt.Errorf("writer: %s %s/%s: custom field %q: %w", aggregate, r.key.SourceType, r.key.SourceID, key, err)
			}
			want := make(map[uuid.UUID]bool, len(values))
			for pos, v := range values {
				id := customFieldRowID(r.sc, target.entity, *out.rowID[i], key, pos, v)
				want[id] = true
				if !have[id] {
					ins.add(id, r.sc, records[n], key, v)
					changed[i] = true
				}
			}
			for id := range have {
				if !want[id] {
					del = append(del, id)
					changed[i] = true
				}
			}
		}
	}
	if len(del) > 0 {
		slices.SortFunc(del, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }) // lock order
		if _, err := tx.Exec(ctx, deleteCustomFieldsSQL, raw(del)); err != nil {
			return fmt.Errorf("writer: deleting %d custom field values: %w", len(del), err)
		}
	}
	if len(ins.id) > 0 {
		if _, err := tx.Exec(ctx, insertCustomFieldsSQL, target.entity, raw(ins.id), ins.record, raw(ins.org), raw(ins.ten), ins.key,
			ins.text, ins.multi, ins.integer, ins.float, ins.boolean, now); err != nil {
			return fmt.Errorf("writer: inserting %d custom field values: %w", len(ins.id), err)
		}
	}
	return customFieldEvents(rs, aggregate, target, changed, out)
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

// customFieldEvents announces records whose custom fields alone changed (a record the reconcile already
// announced carries the change in its own event, as Mercato's update commands do).
func customFieldEvents[T any](rs []recState[T], aggregate string, target customFieldTarget, changed map[int]bool, out *reconciled) error {
	announced := map[string]bool{}
	for _, row := range out.outbox {
		if strings.HasPrefix(row.EventType, aggregate+".") {
			announced[row.Subject[strings.LastIndexByte(row.Subject, '.')+1:]] = true
		}
	}
	for i, r := range rs {
		if !changed[i] {
			continue
		}
		id := out.rowID[i].String()
		if announced[id] {
			continue
		}
		row, err := eventRow(r.key.Tenant, target.event, events.RecordEvent{ID: id, OrganizationID: r.sc.OrganizationID.String(),
			TenantID: r.sc.TenantID.String(), SyncOrigin: events.SyncOrigin}, id, r.st.Version, r.st.MappingVersion,
			"custom-fields/"+digest(customFields(&r.st.Value)))
		if err != nil {
			return err
		}
		out.outbox = append(out.outbox, row)
	}
	return nil
}
