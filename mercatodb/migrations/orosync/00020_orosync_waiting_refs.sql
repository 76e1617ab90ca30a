-- +goose Up
-- Records (deals, interactions, comments, merged b2b customers) that point to another Oro record not written yet,
-- or whose values depend on it (a b2b customer merged into its account's company fills what that company lacks).
-- When the target is written, the writer re-applies the owner from its last applied version (orosync_records
-- snapshot): deal links and interaction/comment targets then resolve, with no FK error and nothing lost.
-- No foreign keys into Mercato's tables.
CREATE TABLE orosync_waiting_refs (
  tenant_id                  uuid           NOT NULL,
  organization_id            uuid           NOT NULL,
  owner_source_type          text           NOT NULL,
  owner_source_id            text           NOT NULL,
  target_source_type         text           NOT NULL,
  target_source_id           text           NOT NULL,
  created_at                 timestamptz    NOT NULL DEFAULT now(),
  CONSTRAINT orosync_waiting_refs_pkey PRIMARY KEY (tenant_id, organization_id, owner_source_type, owner_source_id,
    target_source_type, target_source_id)
);
CREATE INDEX orosync_waiting_refs_target_idx
  ON orosync_waiting_refs (tenant_id, organization_id, target_source_type, target_source_id);

COMMENT ON TABLE orosync_waiting_refs IS 'orosync: records re-applied when the Oro record they reference is written (parked deal links, interaction and comment targets, b2b customer merges)';

-- +goose Down
DROP TABLE IF EXISTS orosync_waiting_refs;
