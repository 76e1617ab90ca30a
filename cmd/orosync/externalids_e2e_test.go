package main

import (
	"strings"
	"testing"

	"github.com/orosync/orosync/orosim"
)

// Contacts and leads both become Mercato people and Oro numbers each type from 1, so most leads share their Oro id
// with a contact: each must be a person of its own, found by an external id that names its Oro type.
func TestALeadSharingItsOroIDWithAContactIsAPersonOfItsOwn(t *testing.T) {
	e := newE2EWith(t, orosim.Config{Contacts: 20, Counts: map[string]int{"leads": 10}}, []string{"contacts", "leads"}, 50)
	e.sync()
	rows, err := e.db.Query(e.ctx, `
SELECT m.external_id, m.internal_entity_id::text, count(*) OVER (PARTITION BY m.external_id)
FROM sync_external_id_mappings m JOIN customer_entities e ON e.id = m.internal_entity_id AND e.kind = 'person'
WHERE m.integration_id = 'sync_orocrm' AND m.internal_entity_type = 'customers.person' AND m.deleted_at IS NULL
  AND e.deleted_at IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	entities := map[string]string{} // external id → entity
	owner := map[string]string{}    // entity → external id
	for rows.Next() {
		var ext, entity string
		var n int
		if err := rows.Scan(&ext, &entity, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("external id %s resolves to %d people, want 1", ext, n)
		}
		if prev, dup := owner[entity]; dup {
			t.Errorf("person %s has two external ids: %s and %s", entity, prev, ext)
		}
		entities[ext], owner[entity] = entity, ext
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	contacts, leads := 0, 0
	for ext := range entities {
		switch {
		case strings.HasPrefix(ext, "contacts:"):
			contacts++
		case strings.HasPrefix(ext, "leads:"):
			leads++
		default:
			t.Errorf("external id %q names no Oro type", ext)
		}
	}
	if contacts != 20 || leads != 10 {
		t.Errorf("%d contacts and %d leads have external ids, want 20 and 10", contacts, leads)
	}
	shared := 0
	for ext, entity := range entities {
		id, isLead := strings.CutPrefix(ext, "leads:")
		if !isLead {
			continue
		}
		if c, ok := entities["contacts:"+id]; ok {
			shared++
			if c == entity {
				t.Errorf("lead %s and contact %s are one person", id, id)
			}
		}
	}
	if shared == 0 {
		t.Fatal("no lead shares its Oro id with a contact: the test proves nothing")
	}
}
