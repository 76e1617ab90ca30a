package adapters_test

import (
	"maps"
	"testing"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
)

// held lists, by table, whether each of the entity's comments, interactions and custom field values (of the entity
// and its profile) is live, keyed by a readable name.
func (e *env) held(entity uuid.UUID) map[string]bool {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `
SELECT 'comment ' || body, deleted_at IS NULL FROM customer_comments WHERE entity_id = $1
UNION ALL SELECT 'interaction ' || coalesce(title, ''), deleted_at IS NULL FROM customer_interactions WHERE entity_id = $1
UNION ALL SELECT 'field ' || v.field_key, v.deleted_at IS NULL FROM custom_field_values v
  WHERE v.record_id IN ($1::text, (SELECT id::text FROM customer_people WHERE entity_id = $1),
                       (SELECT id::text FROM customer_companies WHERE entity_id = $1))`, entity)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		var live bool
		if err := rows.Scan(&name, &live); err != nil {
			e.t.Fatal(err)
		}
		out[name] = live
	}
	return out
}

// mercatoComment adds a comment as a Mercato user would, deleted at the given time when deletedAt is not empty.
func (e *env) mercatoComment(entity uuid.UUID, body, deletedAt string) {
	e.t.Helper()
	if _, err := e.db.Exec(e.ctx, `INSERT INTO customer_comments (organization_id, tenant_id, body, created_at, updated_at, deleted_at, entity_id)
VALUES ($1, $2, $3, now(), now(), nullif($4, '')::timestamptz, $5)`, scope.OrganizationID, scope.TenantID, body, deletedAt, entity); err != nil {
		e.t.Fatal(err)
	}
}

const dependentEvents = `SELECT count(*) FROM orosync_outbox WHERE event_type LIKE 'customers.comment.%'
  OR event_type LIKE 'customers.interaction.%' OR event_type LIKE '%customer_%profile.updated'`

func TestADeletedRecord(t *testing.T) {
	for _, typ := range []string{"contacts", "accounts"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t, scope)
			version := func(sec int) events.Change {
				if typ == "contacts" {
					return withCustomFields(contact{id: "1", first: "Ada", last: "L", email: "ada@x.io", sec: sec}.change(), map[string]any{"oro_fax": "123"})
				}
				return withCustomFields(account{id: "1", name: "Acme", sec: sec}.change(), map[string]any{"oro_external_id": "A-1"})
			}
			e.apply(nil, version(1))
			e.apply(nil, interactionChange("tasks", "1", 10, "Call back", ref(typ, "1")), noteChange("1", 10, "Met at fair", ref(typ, "1")))
			entity, _ := e.mapped(map[string]string{"contacts": events.AggregatePerson, "accounts": events.AggregateCompany}[typ], typ+":1")
			id := uuid.MustParse(entity)
			e.mercatoComment(id, "Mercato's own", "")
			e.mercatoComment(id, "deleted long ago", "2020-01-01T00:00:00Z")
			fieldKey := map[string]string{"contacts": "field oro_fax", "accounts": "field oro_external_id"}[typ]
			live := map[string]bool{"comment Met at fair": true, "interaction Call back": true, "comment Mercato's own": true,
				"comment deleted long ago": false, fieldKey: true}
			if got := e.held(id); !maps.Equal(got, live) {
				t.Fatalf("before the delete %v, want %v", got, live)
			}

			t.Run("takes what Mercato's delete removes, announcing none of it", func(t *testing.T) {
				announced := e.count(dependentEvents)
				tomb := tombstone(version(2))
				tomb.Company = nil
				e.apply(nil, tomb)
				gone := map[string]bool{}
				for k := range live {
					gone[k] = false
				}
				if got := e.held(id); !maps.Equal(got, gone) {
					t.Errorf("after the delete %v, want everything deleted", got)
				}
				if n := e.count(`SELECT count(*) FROM customer_comments WHERE entity_id = $1 AND deleted_at = '2020-01-01T00:00:00Z'`, id); n != 1 {
					t.Errorf("the comment deleted before lost its deletion time")
				}
				if n := e.count(dependentEvents); n != announced {
					t.Errorf("%d comment, interaction and custom field events after the delete, want the %d before (Mercato's delete announces none)",
						n, announced)
				}
			})
			t.Run("its resurrection brings it back", func(t *testing.T) {
				e.apply(nil, version(3))
				if got := e.held(id); !maps.Equal(got, live) {
					t.Errorf("after the resurrection %v, want %v", got, live)
				}
			})
		})
	}
}
