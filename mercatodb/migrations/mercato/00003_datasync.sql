-- +goose Up
-- Copied verbatim from shared/reference/mercato-ddl/datasync.sql. Dev/test databases only:
-- orosync never runs this set against a real Open Mercato database.

-- Open Mercato data_sync module DDL (migrations = DB truth). Source: open-mercato/open-mercato @ 8c6a8375, packages/core/src/modules/data_sync/migrations/

-- Tables first, then indexes and constraints, so the file applies in one pass.

CREATE TABLE sync_cursors (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  integration_id             text           NOT NULL,
  entity_type                text           NOT NULL,
  direction                  text           NOT NULL,
  cursor                     text           NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT sync_cursors_pkey PRIMARY KEY (id)
);

-- snapshot-vs-migration name diff: snapshot-only=['sync_cursors_integration_id_entity_type_direction__255ea_index'] migration-only=['sync_cursors_integration_id_entity_type_direction__b4d87_index']

CREATE TABLE sync_mappings (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  integration_id             text           NOT NULL,
  entity_type                text           NOT NULL,
  mapping                    jsonb          NOT NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT sync_mappings_pkey PRIMARY KEY (id)
);

-- snapshot-vs-migration name diff: snapshot-only=['sync_mappings_integration_id_entity_type_organizat_7aa92_index'] migration-only=['sync_mappings_integration_id_entity_type_organizat_edee9_index']

CREATE TABLE sync_runs (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  integration_id             text           NOT NULL,
  entity_type                text           NOT NULL,
  direction                  text           NOT NULL,
  status                     text           NOT NULL,
  cursor                     text           NULL,
  initial_cursor             text           NULL,
  created_count              int            NOT NULL DEFAULT 0,
  updated_count              int            NOT NULL DEFAULT 0,
  skipped_count              int            NOT NULL DEFAULT 0,
  failed_count               int            NOT NULL DEFAULT 0,
  batches_completed          int            NOT NULL DEFAULT 0,
  last_error                 text           NULL,
  progress_job_id            uuid           NULL,
  job_id                     text           NULL,
  triggered_by               text           NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  CONSTRAINT sync_runs_pkey PRIMARY KEY (id)
);

-- snapshot-vs-migration name diff: snapshot-only=['sync_runs_integration_id_entity_type_status_organi_43560_index'] migration-only=['sync_runs_integration_id_entity_type_status_organi_8b13b_index']

CREATE TABLE sync_schedules (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  integration_id             text           NOT NULL,
  entity_type                text           NOT NULL,
  direction                  text           NOT NULL,
  schedule_type              text           NOT NULL,
  schedule_value             text           NOT NULL,
  timezone                   text           NOT NULL DEFAULT 'UTC',
  full_sync                  boolean        NOT NULL DEFAULT false,
  is_enabled                 boolean        NOT NULL DEFAULT true,
  scheduled_job_id           uuid           NULL,
  last_run_at                timestamptz    NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  CONSTRAINT sync_schedules_pkey PRIMARY KEY (id)
);

create unique index "sync_cursors_integration_id_entity_type_direction__b4d87_index" on "sync_cursors" ("integration_id", "entity_type", "direction", "organization_id", "tenant_id");
create unique index "sync_mappings_integration_id_entity_type_organizat_edee9_index" on "sync_mappings" ("integration_id", "entity_type", "organization_id", "tenant_id");
create index "sync_runs_integration_id_entity_type_status_organi_8b13b_index" on "sync_runs" ("integration_id", "entity_type", "status", "organization_id", "tenant_id");
create index "sync_schedules_integration_id_entity_type_directio_addb9_index" on "sync_schedules" ("integration_id", "entity_type", "direction", "organization_id", "tenant_id");
-- snapshot-vs-migration name diff: snapshot-only=['sync_schedules_integration_id_entity_type_directio_fe28d_index'] migration-only=['sync_schedules_integration_id_entity_type_directio_addb9_index'];

-- +goose Down
DROP TABLE IF EXISTS
  sync_schedules,
  sync_runs,
  sync_mappings,
  sync_cursors;
