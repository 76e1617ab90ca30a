package adapters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// mappingRow is one sync_external_id_mappings row of a record aggregate.
type mappingRow struct {
	id        uuid.UUID
	sc        Scope
	aggregate string
	entity    uuid.UUID
	external  string
	deleted   bool
}

const upsertMappingsSQL = `
INSERT INTO sync_external_id_mappings (id, integration_id, internal_entity_type, internal_entity_id, external_id, sync_status,
       last_synced_at, organization_id, tenant_id, created_at, updated_at, deleted_at)
SELECT v.id, 'sync_orocrm', v.typ, v.entity, v.ext, 'synced', $8::timestamptz, v.org, v.ten, $8, $8, CASE WHEN v.deleted THEN $8::timestamptz END
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::boolean[])
     AS v(id, typ, entity, ext, org, ten, deleted)
ORDER BY v.id
ON CONFLICT (id) DO UPDATE SET internal_entity_id = EXCLUDED.internal_entity_id,
       deleted_at = CASE WHEN EXCLUDED.deleted_at IS NULL THEN NULL ELSE coalesce(sync_external_id_mappings.deleted_at, EXCLUDED.deleted_at) END,
       last_synced_at = EXCLUDED.last_synced_at, updated_at = EXCLUDED.updated_at
WHERE (sync_external_id_mappings.internal_entity_id, sync_external_id_mappings.deleted_at IS NOT NULL)
      IS DISTINCT FROM (EXCLUDED.internal_entity_id, EXCLUDED.deleted_at IS NOT NULL)`

// upsertMappings keeps the external ids of record aggregates as Mercato's storeExternalIdMapping does (one live
// row per record, soft-deleted with it); the id is deterministic, so orosync's row is unique.
func upsertMappings(ctx context.Context, tx pgx.Tx, ms []mappingRow, now time.Time) error {
	n := len(ms)
	if n == 0 {
		return nil
	}
	id, entity, org, ten := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	typ, ext, deleted := make([]string, n), make([]string, n), make([]bool, n)
	for i, m := range ms {
		id[i], entity[i], org[i], ten[i] = m.id, m.entity, m.sc.OrganizationID, m.sc.TenantID
		typ[i], ext[i], deleted[i] = m.aggregate, m.external, m.deleted
	}
	if _, err := tx.Exec(ctx, upsertMappingsSQL, rowkit.UUIDs(id), typ, rowkit.UUIDs(entity), ext, rowkit.UUIDs(org), rowkit.UUIDs(ten), deleted, now); err != nil {
		return fmt.Errorf("writer: external ids: %w", err)
	}
	return nil
}
