-- +goose Up
-- Copied verbatim from shared/reference/mercato-ddl/entities.sql. Dev/test databases only:
-- orosync never runs this set against a real Open Mercato database.

-- Open Mercato entities module: custom fields (EAV) and the per-tenant encryption map.
-- Source: github.com/open-mercato/open-mercato @ 8c6a83752b0c6717e086b40a9fd7aa8fa950be06, entities module schema snapshot
-- (types, nullability and defaults as the snapshot declares them; index columns as listed there).

CREATE TABLE custom_field_defs (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  entity_id                  text           NOT NULL,
  organization_id            uuid           NULL,
  tenant_id                  uuid           NULL,
  key                        text           NOT NULL,
  kind                       text           NOT NULL,
  config_json                jsonb          NULL,
  is_active                  boolean        NOT NULL DEFAULT true,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  CONSTRAINT custom_field_defs_pkey PRIMARY KEY (id)
);

CREATE TABLE custom_field_values (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  entity_id                  text           NOT NULL,
  record_id                  text           NOT NULL,
  organization_id            uuid           NULL,
  tenant_id                  uuid           NULL,
  field_key                  text           NOT NULL,
  value_text                 text           NULL,
  value_multiline            text           NULL,
  value_int                  int            NULL,
  value_float                real           NULL,
  value_bool                 boolean        NULL,
  created_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  CONSTRAINT custom_field_values_pkey PRIMARY KEY (id)
);

CREATE TABLE encryption_maps (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  entity_id                  text           NOT NULL,
  tenant_id                  uuid           NULL,
  organization_id            uuid           NULL,
  fields_json                jsonb          NULL,
  is_active                  boolean        NOT NULL DEFAULT true,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  CONSTRAINT encryption_maps_pkey PRIMARY KEY (id)
);

create index "cf_defs_entity_key_idx" on "custom_field_defs" ("key");
create index "cf_defs_entity_key_scope_idx" on "custom_field_defs" ("entity_id", "key", "tenant_id", "organization_id");
create index "cf_defs_entity_global_idx" on "custom_field_defs" ("entity_id");
create index "cf_defs_entity_org_idx" on "custom_field_defs" ("entity_id", "organization_id");
create index "cf_defs_entity_tenant_idx" on "custom_field_defs" ("entity_id", "tenant_id");
create index "cf_defs_entity_tenant_org_idx" on "custom_field_defs" ("entity_id", "tenant_id", "organization_id");
create index "cf_values_entity_record_field_idx" on "custom_field_values" ("field_key");
create index "cf_values_entity_record_tenant_idx" on "custom_field_values" ("entity_id", "record_id", "tenant_id");
create index "encryption_maps_entity_scope_idx" on "encryption_maps" ("entity_id", "tenant_id", "organization_id");

-- +goose Down
DROP TABLE IF EXISTS
  encryption_maps,
  custom_field_values,
  custom_field_defs;
