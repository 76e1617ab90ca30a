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
// and companies), one row per value (an array is a multi-value field), in the column of the kind of the key's
// definition (domain.CustomFieldValuesOfKind; customfielddefs.go); a definition Mercato encrypts (config
// encrypted) gets its values encrypted in value_text, as encryptCustomFieldValue writes them. Row ids derive from
// the record, the key, the position and the value as written (column, plain value, encrypted or not), so a value
// Oro did not change keeps its row and a replay writes nothing. A key is rewritten only when Oro's value for it
// changed (or its rows are missing): a value edited in Mercato stays until Oro changes that field. Values of keys
// the mapping never wrote (fields defined in Mercato) are left alone. A record whose row waited for a reference
// gets its values when the row is written.

// customFieldTarget is where an aggregate's custom fields go (custom_field_values.entity_id) and what Mercato's
// command announces when it writes them. Mercato's data engine announces custom fields set with notify as
// `<module>.<entity>.updated` {id: record} (engine.ts setCustomFields); only the people commands notify (the profile's,
// or the entity's for keys routed to customers:customer_entity), companies, deals and interactions do not. Their
// update command announces the record itself whatever changed, so a change of custom fields alone is also the
// record's own updated event (own, for people and companies; alone, for deals; aloneRows, for interactions, whose
// update command also announces the entity's next interaction: commands/interactions.ts).
type customFieldTarget struct {
	entity string
	notify bool
	own    string
	// alone is the event ({id, organizationId, tenantId}) of a record aggregate whose custom fields alone changed.
	alone string
	// aloneRows, when set, builds the events of the records whose custom fields alone changed, from their rows.
	aloneRows func(ctx context.Context, tx pgx.Tx, recs []cfRecord) ([]model.OrosyncOutbox, error)
}

func customFieldsOf(aggregate string) (customFieldTarget, bool) {
	entity := events.CustomFieldEntity(aggregate)
	switch aggregate {
	case events.AggregatePerson:
		return customFieldTarget{entity: entity, notify: true, own: "customers.person.updated"}, true
	case events.AggregateCompany:
		return customFieldTarget{entity: entity, own: "customers.company.updated"}, true
	case events.AggregateDeal:
		return customFieldTarget{entity: entity, alone: events.AggregateDeal + ".updated"}, true
	case events.AggregateInteraction:
		return customFieldTarget{entity: entity, aloneRows: interactionCustomFieldEvents}, true
	}
	return customFieldTarget{}, false
}

// notifyEvent is the event Mercato's data engine emits for custom fields of entityID set with notify:
// customers:customer_person_profile → customers.customer_person_profile.updated.
func notifyEvent(entityID string) string {
	return strings.Replace(entityID, ":", ".", 1) + ".updated"
}

// events are the outbox rows announcing that record r's custom fields changed (record: its record id).
func (t customFieldTarget) events(r cfRecord, record string) ([]model.OrosyncOutbox, error) {
	salt := "custom-fields/" + rowkit.Digest(r.next)
	payload := events.RecordEvent{ID: record, OrganizationID: r.sc.OrganizationID.String(), TenantID: r.sc.TenantID.String(),
		SyncOrigin: events.SyncOrigin}
	var out []model.OrosyncOutbox
	add := func(row model.OrosyncOutbox, err error) error {
		if err == nil {
			out = append(out, row)
		}
		return err
	}
	if t.notify {
		if err := add(rowkit.EventRow(r.tenant, notifyEvent(t.entity), payload, record, r.version, r.mapping, salt)); err != nil {
			return nil, err
		}
	}
	if r.announced {
		return out, nil // the record's own event is written anyway
	}
	var err error
	switch {
	case t.own != "":
		err = add(rowkit.CustomerEventRow(r.tenant, t.own, r.sc, r.entity, r.record, r.version, r.mapping, salt))
	case t.alone != "":
		err = add(rowkit.EventRow(r.tenant, t.alone, payload, record, r.version, r.mapping, salt))
	}
	return out, err
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

// customFieldRowID is the row's deterministic id: the record, the field, the value's position and the value (its
// plain value, and whether it is written encrypted).
func customFieldRowID(sc Scope, entity string, record uuid.UUID, key string, pos int, v domain.CustomFieldValue, encrypted bool) uuid.UUID {
	var buf [256]byte
	b := append(rowkit.AppendScope(buf[:0], sc), "custom-field/"...)
	b = append(append(b, entity...), '/')
	b = append(rowkit.AppendUUID(b, record), '/')
	b = append(append(b, key...), '/')
	b = append(strconv.AppendInt(b, int64(pos), 10), '/')
	if encrypted {
		b = append(b, "e:"...)
	}
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

// loadCustomFieldsSQL probes the (entity, record) index once per record (LATERAL): with record_id = ANY(...) the
// planner, without statistics, read every value of the entity type and filtered.
const loadCustomFieldsSQL = `
SELECT v.id, v.record_id, v.field_key FROM unnest($2::text[]) AS k(record_id)
CROSS JOIN LATERAL (SELECT id, record_id, field_key FROM custom_field_values
                    WHERE entity_id = $1 AND record_id = k.record_id AND deleted_at IS NULL OFFSET 0) v`

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
	// restored: the record comes back from deleted; Mercato's delete undo sets its values again (with notify).
	restored bool
	// announced: the write emits an event of the record anyway (a change of custom fields rides on it).
	announced bool
	// entity is the customer_entities row of a person's or company's profile record.
	entity  uuid.UUID
	next    map[string]any
	version events.SourceVersion
	mapping string
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
func reconcileCustomFields[T any](ctx context.Context, s *Store, tx pgx.Tx, aggregate string, rs []recState[T], out *reconciled, now time.Time) error {
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
	rows, err := s.syncCustomFields(ctx, tx, target, recs, now)
	out.outbox = append(out.outbox, rows...)
	return err
}

// profileCustomFields is the cfRecord of a person's or company's profile row; nil when there is nothing to
// compare (most records) or no profile row.
func profileCustomFields(aggregate string, k domain.Key, sc Scope, id ids, announced bool, v events.SourceVersion,
	mapping string, next map[string]any, prev map[string]any, hasPrev bool) *cfRecord {
	if id.profile == uuid.Nil || (len(next) == 0 && len(prev) == 0) {
		return nil
	}
	return &cfRecord{sc: sc, tenant: k.Tenant, label: aggregate + " " + k.SourceType + "/" + k.SourceID, record: id.profile, entity: id.entity,
		announced: announced, next: next, prev: prev, hasPrev: hasPrev, version: v, mapping: mapping}
}

// syncCustomFields writes the custom_field_values of the records and returns the events of those whose custom
// fields alone changed.
func (s *Store) syncCustomFields(ctx context.Context, tx pgx.Tx, target customFieldTarget, recs []cfRecord, now time.Time) ([]model.OrosyncOutbox, error) {
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
	defs, err := cfDefs(ctx, tx, target.entity, recs)
	if err != nil {
		return nil, err
	}
	var (
		ins     cfInserts
		del     []uuid.UUID
		changed = make([]bool, len(recs))
	)
	for n, r := range recs {
		w := cfWriter{defs: defs[Scope{TenantID: r.sc.TenantID, OrganizationID: r.sc.OrganizationID}], cipher: s.ciphers[r.tenant]}
		if changed[n], err = w.plan(target, r, ids[n], existing, &ins, &del); err != nil {
			return nil, err
		}
	}
	if err := writeCustomFields(ctx, tx, target, ins, del, now); err != nil {
		return nil, err
	}
	var (
		out   []model.OrosyncOutbox
		alone []cfRecord
	)
	for n, r := range recs {
		if !changed[n] && !(r.restored && len(r.next) > 0) {
			continue
		}
		if target.aloneRows != nil && !r.announced {
			alone = append(alone, r)
			continue
		}
		rows, err := target.events(r, ids[n])
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	if len(alone) > 0 {
		rows, err := target.aloneRows(ctx, tx, alone)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
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

// cfWriter writes one scope's values: the definitions Mercato would use and the tenant's cipher (nil: Mercato's
// encryption is off or has no key).
type cfWriter struct {
	defs   map[string]cfDef
	cipher *rowkit.Cipher
}

// plan adds the values record r (id record) gains and loses to ins and del; it reports whether any.
func (w cfWriter) plan(target customFieldTarget, r cfRecord, record string, existing map[cfField]map[uuid.UUID]bool, ins *cfInserts,
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
		def := w.defs[key]
		values, err := domain.CustomFieldValuesOfKind(r.next[key], def.kind)
		if err != nil {
			return false, fmt.Errorf("writer: %s: custom field %q (kind %q): %w", r.label, key, orNone(def.kind), err)
		}
		encrypt := def.encrypted && w.cipher != nil
		want := make(map[uuid.UUID]bool, len(values))
		for pos, v := range values {
			id := customFieldRowID(r.sc, target.entity, r.record, key, pos, v, encrypt)
			want[id] = true
			if have[id] {
				continue
			}
			if encrypt {
				v = w.encrypted(elementAt(r.next[key], pos))
			}
			ins.add(id, r.sc, record, key, v)
			changed = true
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

func orNone(kind string) string {
	if kind == "" {
		return "none: no definition"
	}
	return kind
}

// elementAt is the pos-th non-null element of a multi-value field, or the value itself.
func elementAt(v any, pos int) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	for _, e := range l {
		if e == nil {
			continue
		}
		if pos == 0 {
			return e
		}
		pos--
	}
	return nil
}

// encrypted is a value of an encrypted definition as Mercato's encryptCustomFieldValue writes it: a string as it
// is, anything else as JSON, encrypted, in value_text.
func (w cfWriter) encrypted(v any) domain.CustomFieldValue {
	plain, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v) // a decoded JSON value always marshals
		plain = string(b)
	}
	c := w.cipher.Encrypt(plain)
	return domain.CustomFieldValue{Text: &c}
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
