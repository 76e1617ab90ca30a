-- +goose Up
-- Copied verbatim from shared/reference/mercato-ddl/integrations.sql. Dev/test databases only:
-- orosync never runs this set against a real Open Mercato database.

-- Open Mercato integrations module DDL (migrations = DB truth). Source: open-mercato/open-mercato @ 8c6a8375, packages/core/src/modules/integrations/migrations/

-- Tables first, then indexes and constraints, so the file applies in one pass.

CREATE TABLE integration_credentials (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  integration_id             text           NOT NULL,
  credentials                jsonb          NOT NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  user_id                    uuid           NULL,
  CONSTRAINT integration_credentials_pkey PRIMARY KEY (id)
);

-- snapshot-vs-migration name diff: snapshot-only=['integration_credentials_integration_id_organizatio_58963_index'] migration-only=['integration_credentials_integration_id_organizatio_291ea_index']

CREATE TABLE integration_logs (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  integration_id             text           NOT NULL,
  run_id                     uuid           NULL,
  scope_entity_type          text           NULL,
  scope_entity_id            uuid           NULL,
  level                      text           NOT NULL,
  message                    text           NOT NULL,
  code                       text           NULL,
  payload                    jsonb          NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  CONSTRAINT integration_logs_pkey PRIMARY KEY (id)
);

-- snapshot-vs-migration name diff: snapshot-only=['integration_logs_integration_id_organization_id_te_41dbc_index', 'integration_logs_level_organization_id_tenant_id_c_af75d_index'] migration-only=['integration_logs_integration_id_organization_id_te_38189_index', 'integration_logs_level_organization_id_tenant_id_c_107e7_index']

CREATE TABLE integration_states (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  integration_id             text           NOT NULL,
  is_enabled                 boolean        NOT NULL DEFAULT true,
  api_version                text           NULL,
  reauth_required            boolean        NOT NULL DEFAULT false,
  last_health_status         text           NULL,
  last_health_checked_at     timestamptz    NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  last_health_latency_ms     int            NULL,
  enabled_at                 timestamptz    NULL,
  CONSTRAINT integration_states_pkey PRIMARY KEY (id)
);

-- snapshot-vs-migration name diff: snapshot-only=['integration_states_integration_id_organization_id__8b1c1_index'] migration-only=['integration_states_integration_id_organization_id__32acc_index']

CREATE TABLE sync_external_id_mappings (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  integration_id             text           NOT NULL,
  internal_entity_type       text           NOT NULL,
  internal_entity_id         uuid           NOT NULL,
  external_id                text           NOT NULL,
  sync_status                text           NOT NULL DEFAULT 'not_synced',
  last_synced_at             timestamptz    NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  CONSTRAINT sync_external_id_mappings_pkey PRIMARY KEY (id)
);

create index "integration_credentials_integration_id_organizatio_291ea_index" on "integration_credentials" ("integration_id", "organization_id", "tenant_id");
create unique index "integration_credentials_user_lookup_idx" on "integration_credentials" ("integration_id", "organization_id", "tenant_id", "user_id") where "user_id" is not null and "deleted_at" is null;
create index "integration_logs_level_organization_id_tenant_id_c_107e7_index" on "integration_logs" ("level", "organization_id", "tenant_id", "created_at");
create index "integration_logs_integration_id_organization_id_te_38189_index" on "integration_logs" ("integration_id", "organization_id", "tenant_id", "created_at");
create index "integration_states_integration_id_organization_id__32acc_index" on "integration_states" ("integration_id", "organization_id", "tenant_id");
create index "sync_external_id_mappings_integration_id_external__c088c_index" on "sync_external_id_mappings" ("integration_id", "external_id", "organization_id");
create index "sync_external_id_mappings_internal_entity_type_int_f9194_index" on "sync_external_id_mappings" ("internal_entity_type", "internal_entity_id", "organization_id");
-- snapshot-vs-migration name diff: snapshot-only=['sync_external_id_mappings_integration_id_external__063e8_index', 'sync_external_id_mappings_internal_entity_type_int_7f84a_index'] migration-only=['sync_external_id_mappings_integration_id_external__c088c_index', 'sync_external_id_mappings_internal_entity_type_int_f9194_index'];

-- +goose Down
DROP TABLE IF EXISTS
  sync_external_id_mappings,
  integration_states,
  integration_logs,
  integration_credentials;
