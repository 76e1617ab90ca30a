package adapters_test

import (
	"testing"

	"github.com/orosync/orosync/events"
)

func userChange(id string, sec int, name string) events.Change {
	email := id + "@oro.example"
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateUser,
		Source: events.RecordRef{Tenant: "acme", Type: "users", ID: id}, SourceVersion: at(sec), MappingVersion: "oro-v1",
		User: &events.User{DisplayName: name, Email: &email}}
}

func TestOroUsersAreKeptAsDirectoryEntriesWithoutMercatoRowsOrEvents(t *testing.T) {
	e := newEnv(t, scope)
	mercatoRows := func() int {
		return e.count(`SELECT (SELECT count(*) FROM customer_entities) + (SELECT count(*) FROM sync_external_id_mappings) +
       (SELECT count(*) FROM orosync_outbox) + (SELECT count(*) FROM orosync_outbox_batches)`)
	}
	snapshot := func(id string) (name string, deleted bool) {
		t.Helper()
		if err := e.db.QueryRow(e.ctx, `SELECT snapshot->>'displayName', deleted_at IS NOT NULL FROM orosync_records
WHERE internal_entity_type = $1 AND source_type = 'users' AND source_id = $2`, events.AggregateUser, id).Scan(&name, &deleted); err != nil {
			t.Fatalf("directory entry of user %s: %v", id, err)
		}
		return name, deleted
	}

	e.apply(nil, userChange("1", 10, "Ada Admin"), userChange("2", 10, "Sales EMEA"))
	e.apply(nil, userChange("1", 20, "Ada Lovelace"), userChange("1", 15, "Ada (late, older)"))
	if name, deleted := snapshot("1"); name != "Ada Lovelace" || deleted {
		t.Errorf("user 1: %q deleted=%v, want its newest version", name, deleted)
	}
	gone := userChange("2", 30, "")
	gone.Op, gone.User = events.OpDelete, nil
	e.apply(nil, gone)
	if name, deleted := snapshot("2"); name != "Sales EMEA" || !deleted {
		t.Errorf("user 2 after its tombstone: %q deleted=%v", name, deleted)
	}
	if n := mercatoRows(); n != 0 {
		t.Errorf("users wrote %d Mercato rows, external ids or events", n)
	}
}
