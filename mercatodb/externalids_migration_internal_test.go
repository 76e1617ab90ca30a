package mercatodb

import (
	"maps"
	"slices"
	"testing"
)

// Records and external ids as builds before migration 50 wrote them: bare Oro ids, contacts and leads (and an account and the b2b
// customer merged into its company) sharing them.
const oldExternalIDsSQL = `
INSERT INTO orosync_records (tenant_id, organization_id, source_type, source_id, internal_entity_type, internal_entity_id,
       profile_id, source_updated_at, payload_hash, mapping_version) VALUES
  ($1, $2, 'contacts', '5', 'customers.person', 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000001', now(), 'h', 'v'),
  ($1, $2, 'leads', '5', 'customers.person', 'a0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', now(), 'h', 'v'),
  ($1, $2, 'accounts', '7', 'customers.company', 'a0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000003', now(), 'h', 'v'),
  ($1, $2, 'b2bcustomers', '7', 'orosync.company_merge', 'a0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000003', now(), 'h', 'v'),
  ($1, $2, 'b2bcustomers', '8', 'orosync.company_merge', 'a0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000003', now(), 'h', 'v'),
  ($1, $2, 'tasks', '9', 'customers.interaction', 'a0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000006', now(), 'h', 'v'),
  ($1, $2, 'calls', '9', 'customers.interaction', 'a0000000-0000-4000-8000-000000000007', 'a0000000-0000-4000-8000-000000000007', now(), 'h', 'v'),
  ($1, $2, 'notes', '3', 'customers.comment', 'a0000000-0000-4000-8000-000000000008', 'c0000000-0000-4000-8000-000000000008', now(), 'h', 'v')`

const oldMappingsSQL = `
INSERT INTO sync_external_id_mappings (id, integration_id, internal_entity_type, internal_entity_id, external_id, sync_status,
       organization_id, tenant_id, created_at, updated_at) VALUES
  ('d0000000-0000-4000-8000-000000000001', 'sync_orocrm', 'customers.person', 'a0000000-0000-4000-8000-000000000001', '5', 'synced', $2, $1, now() - interval '1 hour', now()),
  ('d0000000-0000-4000-8000-000000000002', 'sync_orocrm', 'customers.person', 'a0000000-0000-4000-8000-000000000002', '5', 'synced', $2, $1, now() - interval '1 hour', now()),
  ('d0000000-0000-4000-8000-000000000003', 'sync_orocrm', 'customers.company', 'a0000000-0000-4000-8000-000000000003', '7', 'synced', $2, $1, now() - interval '1 hour', now()),
  ('d0000000-0000-4000-8000-000000000004', 'sync_orocrm', 'customers.company', 'a0000000-0000-4000-8000-000000000003', '7', 'synced', $2, $1, now() - interval '1 minute', now()),
  ('d0000000-0000-4000-8000-000000000005', 'sync_orocrm', 'customers.company', 'a0000000-0000-4000-8000-000000000003', '8', 'synced', $2, $1, now() - interval '1 minute', now()),
  ('d0000000-0000-4000-8000-000000000006', 'sync_orocrm', 'customers.interaction', 'a0000000-0000-4000-8000-000000000006', '9', 'synced', $2, $1, now(), now()),
  ('d0000000-0000-4000-8000-000000000007', 'sync_orocrm', 'customers.interaction', 'a0000000-0000-4000-8000-000000000007', '9', 'synced', $2, $1, now(), now()),
  ('d0000000-0000-4000-8000-000000000008', 'sync_orocrm', 'customers.comment', 'c0000000-0000-4000-8000-000000000008', '3', 'synced', $2, $1, now(), now()),
  ('d0000000-0000-4000-8000-000000000009', 'sync_akeneo', 'customers.person', 'a0000000-0000-4000-8000-000000000001', '5', 'synced', $2, $1, now(), now())`

func TestExternalIDsWrittenBareAreMigratedToNameTheirOroTypeWithoutDuplicatesOrLostLinks(t *testing.T) {
	ctx := t.Context()
	db, err := OpenDB(newEmptyDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := MigrateMercato(ctx, db); err != nil {
		t.Fatal(err)
	}
	p, err := orosyncSet().provider(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 40); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{oldExternalIDsSQL, oldMappingsSQL} {
		if _, err := db.ExecContext(ctx, q, "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"d0000000-0000-4000-8000-000000000001": "contacts:5 live",
		"d0000000-0000-4000-8000-000000000002": "leads:5 live",
		"d0000000-0000-4000-8000-000000000003": "accounts:7 live",
		"d0000000-0000-4000-8000-000000000004": "b2bcustomers:7 deleted", // merged: Mercato keeps one mapping per record
		"d0000000-0000-4000-8000-000000000005": "b2bcustomers:8 deleted",
		"d0000000-0000-4000-8000-000000000006": "tasks:9 live",
		"d0000000-0000-4000-8000-000000000007": "calls:9 live",
		"d0000000-0000-4000-8000-000000000008": "notes:3 live",
		"d0000000-0000-4000-8000-000000000009": "5 live", // another integration's
	}
	for round := range 2 { // applied again (down, then up) it changes nothing
		if round > 0 {
			if _, err := p.DownTo(ctx, 40); err != nil {
				t.Fatal(err)
			}
		}
		if err := MigrateOrosync(ctx, db); err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, `SELECT id::text, external_id || CASE WHEN deleted_at IS NULL THEN ' live' ELSE ' deleted' END
FROM sync_external_id_mappings`)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for rows.Next() {
			var id, v string
			if err := rows.Scan(&id, &v); err != nil {
				t.Fatal(err)
			}
			got[id] = v
		}
		rows.Close()
		if !maps.Equal(got, want) {
			for _, id := range slices.Sorted(maps.Keys(want)) {
				if got[id] != want[id] {
					t.Errorf("round %d: mapping %s is %q, want %q", round, id, got[id], want[id])
				}
			}
		}
	}
}
