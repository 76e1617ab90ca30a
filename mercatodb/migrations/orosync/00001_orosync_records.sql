-- +goose Up
-- One row per synced Oro record. Keeps the last applied source version (idempotency) and is the
-- uniqueness guarantee that Mercato's sync_external_id_mappings lacks.
-- Deliberately no foreign keys into Mercato's tables: an FK would install triggers on them and
-- block Mercato's own hard deletes. orosync never alters Mercato's tables.
CREATE TABLE orosync_records (
  tenant_id                  uuid           NOT NULL,
  organization_id            uuid           NOT NULL,
  source_type                text           NOT NULL,
  source_id                  text           NOT NULL,
  internal_entity_type       text           NOT NULL,
  internal_entity_id         uuid           NOT NULL,
  profile_id                 uuid           NULL,
  source_updated_at          timestamptz    NOT NULL,
  payload_hash               text           NOT NULL,
  mapping_version            text           NOT NULL,
  deleted_at                 timestamptz    NULL,
  created_at                 timestamptz    NOT NULL DEFAULT now(),
  updated_at                 timestamptz    NOT NULL DEFAULT now(),
  CONSTRAINT orosync_records_pkey PRIMARY KEY (tenant_id, organization_id, source_type, source_id),
  CONSTRAINT orosync_records_internal_entity_unique UNIQUE (internal_entity_type, internal_entity_id)
);

COMMENT ON TABLE orosync_records IS 'orosync: one row per synced Oro record (source_type = Oro type, source_id = Oro id); last applied source version';
COMMENT ON COLUMN orosync_records.internal_entity_type IS 'Mercato resource kind, e.g. customers.person (same vocabulary as sync_external_id_mappings)';
COMMENT ON COLUMN orosync_records.internal_entity_id IS 'customer_entities.id (or the id of the Mercato row for non-entity kinds)';
COMMENT ON COLUMN orosync_records.profile_id IS 'customer_people.id / customer_companies.id for person/company records';

-- +goose Down
DROP TABLE IF EXISTS orosync_records;
