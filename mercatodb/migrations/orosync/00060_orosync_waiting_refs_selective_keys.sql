-- +goose Up
-- The waiting references' indexes lead with the Oro id instead of tenant and organization. Both indexes began with
-- (tenant_id, organization_id), which one tenant shares on every row: without statistics (a table that grew since
-- its last ANALYZE) the planner took either index for either lookup and filtered every row of the tenant per key
-- (47 s for 1,000 owners among 30,000 rows). Leading with the id, each lookup can use only its own index.
ALTER TABLE orosync_waiting_refs DROP CONSTRAINT orosync_waiting_refs_pkey;
DROP INDEX orosync_waiting_refs_target_idx;
ALTER TABLE orosync_waiting_refs ADD CONSTRAINT orosync_waiting_refs_pkey PRIMARY KEY
  (owner_source_id, owner_source_type, tenant_id, organization_id, target_source_type, target_source_id);
CREATE INDEX orosync_waiting_refs_target_idx
  ON orosync_waiting_refs (target_source_id, target_source_type, tenant_id, organization_id);

-- +goose Down
ALTER TABLE orosync_waiting_refs DROP CONSTRAINT orosync_waiting_refs_pkey;
DROP INDEX orosync_waiting_refs_target_idx;
ALTER TABLE orosync_waiting_refs ADD CONSTRAINT orosync_waiting_refs_pkey PRIMARY KEY
  (tenant_id, organization_id, owner_source_type, owner_source_id, target_source_type, target_source_id);
CREATE INDEX orosync_waiting_refs_target_idx
  ON orosync_waiting_refs (tenant_id, organization_id, target_source_type, target_source_id);
