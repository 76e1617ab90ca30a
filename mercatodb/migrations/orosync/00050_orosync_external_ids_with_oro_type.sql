-- +goose Up
-- External ids name their Oro type: sync_external_id_mappings.external_id = '<Oro type>:<Oro id>' (contacts:42,
-- leads:42). Earlier builds wrote the bare Oro id, which contacts and leads (customers.person), accounts and b2b
-- customers (customers.company), tasks, calls, emails and cases (customers.interaction) share, while Mercato
-- resolves one record per (integration, Mercato type, external id) (data_sync/lib/id-mapping.ts). Each bare id is
-- rewritten from the orosync_records row of the Mercato record it points to (so two records that shared an id each
-- get their own). A b2b customer merged into an account's company is no external id of that company any more
-- (Mercato keeps one live mapping per local record): its row is renamed and soft-deleted. Only rows are updated;
-- Mercato's table is not altered. Without Mercato's tables (a database orosync migrates first) there is nothing to do.
-- +goose StatementBegin
DO $$
BEGIN
  IF to_regclass('sync_external_id_mappings') IS NULL THEN
    RETURN;
  END IF;
  -- A merged b2b customer whose id equals its account's matches the account's row too; the account's is the older
  -- one (written with the company; the merged record's only once the company existed).
  WITH merged AS (
    SELECT DISTINCT ON (r.tenant_id, r.organization_id, r.source_id, r.profile_id) m.id, r.source_type, r.source_id
    FROM orosync_records r
    JOIN sync_external_id_mappings m ON m.integration_id = 'sync_orocrm' AND m.tenant_id = r.tenant_id
         AND m.organization_id = r.organization_id AND m.internal_entity_type = 'customers.company'
         AND m.internal_entity_id = r.profile_id AND m.external_id = r.source_id
    WHERE r.internal_entity_type = 'orosync.company_merge' AND r.profile_id IS NOT NULL
    ORDER BY r.tenant_id, r.organization_id, r.source_id, r.profile_id, m.created_at DESC, m.id DESC
  )
  UPDATE sync_external_id_mappings m SET external_id = merged.source_type || ':' || merged.source_id,
         deleted_at = coalesce(m.deleted_at, now()), updated_at = now()
  FROM merged WHERE m.id = merged.id;

  UPDATE sync_external_id_mappings m SET external_id = r.source_type || ':' || r.source_id, updated_at = now()
  FROM orosync_records r
  WHERE m.integration_id = 'sync_orocrm' AND position(':' in m.external_id) = 0
    AND r.tenant_id = m.tenant_id AND r.organization_id = m.organization_id
    AND r.internal_entity_type = m.internal_entity_type AND r.source_id = m.external_id
    AND (r.internal_entity_id = m.internal_entity_id OR r.profile_id = m.internal_entity_id); -- a note's is its first comment's
END $$;
-- +goose StatementEnd

-- +goose Down
-- The bare ids are not restored: they are ambiguous, which is why they were replaced.
SELECT 1;
