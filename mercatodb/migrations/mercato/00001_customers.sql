-- +goose Up
-- Copied verbatim from shared/reference/mercato-ddl/customers.sql. Dev/test databases only:
-- orosync never runs this set against a real Open Mercato database.

-- Open Mercato customers module DDL reconstructed from MikroORM migrations (DB truth) + snapshot types/defaults.
-- Source: github.com/open-mercato/open-mercato @ 8c6a83752b0c6717e086b40a9fd7aa8fa950be06, packages/core/src/modules/customers/migrations/*.ts + .snapshot-open-mercato.json

-- Tables first, then indexes and constraints, so the file applies in one pass.

CREATE TABLE customer_activities (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  activity_type              text           NOT NULL,
  subject                    text           NULL,
  body                       text           NULL,
  occurred_at                timestamptz    NULL,
  author_user_id             uuid           NULL,
  appearance_icon            text           NULL,
  appearance_color           text           NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  entity_id                  uuid           NOT NULL,
  deal_id                    uuid           NULL,
  CONSTRAINT customer_activities_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_addresses (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  name                       text           NULL,
  purpose                    text           NULL,
  address_line1              text           NOT NULL,
  address_line2              text           NULL,
  city                       text           NULL,
  region                     text           NULL,
  postal_code                text           NULL,
  country                    text           NULL,
  building_number            text           NULL,
  flat_number                text           NULL,
  latitude                   real           NULL,
  longitude                  real           NULL,
  is_primary                 boolean        NOT NULL DEFAULT false,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  entity_id                  uuid           NOT NULL,
  company_name               text           NULL,
  CONSTRAINT customer_addresses_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_comments (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  body                       text           NOT NULL,
  author_user_id             uuid           NULL,
  appearance_icon            text           NULL,
  appearance_color           text           NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  entity_id                  uuid           NOT NULL,
  deal_id                    uuid           NULL,
  CONSTRAINT customer_comments_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_companies (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  legal_name                 text           NULL,
  brand_name                 text           NULL,
  domain                     text           NULL,
  website_url                text           NULL,
  industry                   text           NULL,
  size_bucket                text           NULL,
  annual_revenue             numeric(16,2)  NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  entity_id                  uuid           NOT NULL,
  CONSTRAINT customer_companies_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_company_billing (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  entity_id                  uuid           NOT NULL,
  bank_name                  text           NULL,
  bank_account_masked        text           NULL,
  payment_terms              text           NULL,
  preferred_currency         text           NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_company_billing_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_deal_companies (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  created_at                 timestamptz    NOT NULL,
  deal_id                    uuid           NOT NULL,
  company_entity_id          uuid           NOT NULL,
  CONSTRAINT customer_deal_companies_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_deal_people (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  role                       text           NULL,
  created_at                 timestamptz    NOT NULL,
  deal_id                    uuid           NOT NULL,
  person_entity_id           uuid           NOT NULL,
  CONSTRAINT customer_deal_people_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_deal_stage_transitions (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  pipeline_id                uuid           NOT NULL,
  stage_id                   uuid           NOT NULL,
  stage_label                text           NOT NULL,
  stage_order                int            NOT NULL,
  transitioned_at            timestamptz    NOT NULL,
  transitioned_by_user_id    uuid           NULL,
  is_active                  boolean        NOT NULL DEFAULT true,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  deal_id                    uuid           NOT NULL,
  CONSTRAINT customer_deal_stage_transitions_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_deals (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  title                      text           NOT NULL,
  description                text           NULL,
  status                     text           NOT NULL DEFAULT 'open',
  pipeline_stage             text           NULL,
  value_amount               numeric(14,2)  NULL,
  value_currency             text           NULL,
  probability                int            NULL,
  expected_close_at          timestamptz    NULL,
  owner_user_id              uuid           NULL,
  source                     text           NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  pipeline_id                uuid           NULL,
  pipeline_stage_id          uuid           NULL,
  closure_outcome            text           NULL,
  loss_reason_id             uuid           NULL,
  loss_notes                 text           NULL,
  CONSTRAINT customer_deals_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_dictionary_entries (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  kind                       text           NOT NULL,
  value                      text           NOT NULL,
  normalized_value           text           NOT NULL,
  label                      text           NOT NULL,
  color                      text           NULL,
  icon                       text           NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_dictionary_entries_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_dictionary_kind_settings (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  kind                       text           NOT NULL,
  selection_mode             text           NOT NULL DEFAULT 'single',
  visible_in_tags            boolean        NOT NULL DEFAULT true,
  sort_order                 int            NOT NULL DEFAULT 0,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_dictionary_kind_settings_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_entities (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  kind                       text           NOT NULL,
  display_name               text           NOT NULL,
  description                text           NULL,
  owner_user_id              uuid           NULL,
  primary_email              text           NULL,
  primary_phone              text           NULL,
  status                     text           NULL,
  lifecycle_stage            text           NULL,
  source                     text           NULL,
  next_interaction_at        timestamptz    NULL,
  next_interaction_name      text           NULL,
  next_interaction_ref_id    text           NULL,
  next_interaction_icon      text           NULL,
  next_interaction_color     text           NULL,
  is_active                  boolean        NOT NULL DEFAULT true,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  temperature                text           NULL,
  renewal_quarter            text           NULL,
  CONSTRAINT customer_entities_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_entity_roles (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  entity_type                text           NOT NULL,
  entity_id                  uuid           NOT NULL,
  user_id                    uuid           NOT NULL,
  role_type                  text           NOT NULL,
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  CONSTRAINT customer_entity_roles_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_interactions (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  interaction_type           text           NOT NULL,
  title                      text           NULL,
  body                       text           NULL,
  status                     text           NOT NULL DEFAULT 'planned',
  scheduled_at               timestamptz    NULL,
  occurred_at                timestamptz    NULL,
  priority                   int            NULL,
  author_user_id             uuid           NULL,
  owner_user_id              uuid           NULL,
  appearance_icon            text           NULL,
  appearance_color           text           NULL,
  source                     text           NULL,
  deal_id                    uuid           NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  entity_id                  uuid           NOT NULL,
  pinned                     boolean        NOT NULL DEFAULT false,
  duration_minutes           int            NULL,
  location                   text           NULL,
  all_day                    boolean        NULL,
  recurrence_rule            text           NULL,
  recurrence_end             timestamptz    NULL,
  participants               jsonb          NULL,
  reminder_minutes           int            NULL,
  visibility                 text           NULL,
  linked_entities            jsonb          NULL,
  guest_permissions          jsonb          NULL,
  external_message_id        uuid           NULL,
  channel_provider_key       text           NULL,
  CONSTRAINT customer_interactions_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_label_assignments (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  user_id                    uuid           NOT NULL,
  label_id                   uuid           NOT NULL,
  entity_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_label_assignments_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_labels (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  user_id                    uuid           NOT NULL,
  slug                       text           NOT NULL,
  label                      text           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_labels_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_people (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  first_name                 text           NULL,
  last_name                  text           NULL,
  preferred_name             text           NULL,
  job_title                  text           NULL,
  department                 text           NULL,
  seniority                  text           NULL,
  timezone                   text           NULL,
  linked_in_url              text           NULL,
  twitter_url                text           NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  entity_id                  uuid           NOT NULL,
  company_entity_id          uuid           NULL,
  CONSTRAINT customer_people_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_person_company_links (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  is_primary                 boolean        NOT NULL DEFAULT false,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  person_entity_id           uuid           NOT NULL,
  company_entity_id          uuid           NOT NULL,
  deleted_at                 timestamptz    NULL,
  CONSTRAINT customer_person_company_links_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_person_company_roles (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  person_entity_id           uuid           NOT NULL,
  company_entity_id          uuid           NOT NULL,
  role_value                 text           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_person_company_roles_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_pipeline_stages (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  pipeline_id                uuid           NOT NULL,
  name                       text           NOT NULL,
  position                   int            NOT NULL DEFAULT 0,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_pipeline_stages_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_pipelines (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  name                       text           NOT NULL,
  is_default                 boolean        NOT NULL DEFAULT false,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_pipelines_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_settings (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  address_format             text           NOT NULL DEFAULT 'line_first',
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  stuck_threshold_days       int            NOT NULL DEFAULT 14,
  dictionary_sort_modes      jsonb          NULL,
  CONSTRAINT customer_settings_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_tag_assignments (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  created_at                 timestamptz    NOT NULL,
  tag_id                     uuid           NOT NULL,
  entity_id                  uuid           NOT NULL,
  CONSTRAINT customer_tag_assignments_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_tags (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  slug                       text           NOT NULL,
  label                      text           NOT NULL,
  color                      text           NULL,
  description                text           NULL,
  created_at                 timestamptz    NOT NULL,
  updated_at                 timestamptz    NOT NULL,
  CONSTRAINT customer_tags_pkey PRIMARY KEY (id)
);

CREATE TABLE customer_todo_links (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  organization_id            uuid           NOT NULL,
  tenant_id                  uuid           NOT NULL,
  todo_id                    uuid           NOT NULL,
  todo_source                text           NOT NULL DEFAULT 'customers:interaction',
  created_at                 timestamptz    NOT NULL,
  created_by_user_id         uuid           NULL,
  entity_id                  uuid           NOT NULL,
  CONSTRAINT customer_todo_links_pkey PRIMARY KEY (id)
);

create index "customer_activities_entity_occurred_created_idx" on "customer_activities" ("entity_id", "occurred_at", "created_at");
create index "customer_activities_entity_idx" on "customer_activities" ("entity_id");
create index "customer_activities_org_tenant_idx" on "customer_activities" ("organization_id", "tenant_id");
alter table "customer_activities" add constraint "customer_activities_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
alter table "customer_activities" add constraint "customer_activities_deal_id_foreign" foreign key ("deal_id") references "customer_deals" ("id") on update cascade on delete set null;
create index "customer_addresses_entity_idx" on "customer_addresses" ("entity_id");
alter table "customer_addresses" add constraint "customer_addresses_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
create index "customer_comments_entity_created_idx" on "customer_comments" ("entity_id", "created_at");
create index "customer_comments_entity_idx" on "customer_comments" ("entity_id");
alter table "customer_comments" add constraint "customer_comments_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
alter table "customer_comments" add constraint "customer_comments_deal_id_foreign" foreign key ("deal_id") references "customer_deals" ("id") on update cascade on delete set null;
alter table "customer_companies" add constraint "customer_companies_entity_id_unique" unique ("entity_id");
create index "idx_customer_companies_entity_id" on "customer_companies" ("entity_id");
create index "customer_companies_org_tenant_idx" on "customer_companies" ("organization_id", "tenant_id");
alter table "customer_companies" add constraint "customer_companies_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
create index "customer_company_billing_scope_idx" on "customer_company_billing" ("organization_id", "tenant_id");
alter table "customer_company_billing" add constraint "customer_company_billing_entity_unique" unique ("entity_id");
alter table "customer_company_billing" add constraint "customer_company_billing_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
create index "customer_deal_companies_company_idx" on "customer_deal_companies" ("company_entity_id");
create index "customer_deal_companies_deal_idx" on "customer_deal_companies" ("deal_id");
alter table "customer_deal_companies" add constraint "customer_deal_companies_unique" unique ("deal_id", "company_entity_id");
alter table "customer_deal_companies" add constraint "customer_deal_companies_deal_id_foreign" foreign key ("deal_id") references "customer_deals" ("id") on update cascade;
alter table "customer_deal_companies" add constraint "customer_deal_companies_company_entity_id_foreign" foreign key ("company_entity_id") references "customer_entities" ("id") on update cascade;
create index "customer_deal_people_person_idx" on "customer_deal_people" ("person_entity_id");
create index "customer_deal_people_deal_idx" on "customer_deal_people" ("deal_id");
alter table "customer_deal_people" add constraint "customer_deal_people_unique" unique ("deal_id", "person_entity_id");
alter table "customer_deal_people" add constraint "customer_deal_people_deal_id_foreign" foreign key ("deal_id") references "customer_deals" ("id") on update cascade;
alter table "customer_deal_people" add constraint "customer_deal_people_person_entity_id_foreign" foreign key ("person_entity_id") references "customer_entities" ("id") on update cascade;
create index "customer_deal_stage_transitions_org_tenant_idx" on "customer_deal_stage_transitions" ("organization_id", "tenant_id");
create index "customer_deal_stage_transitions_deal_idx" on "customer_deal_stage_transitions" ("deal_id");
alter table "customer_deal_stage_transitions" add constraint "customer_deal_stage_transitions_deal_stage_uq" unique ("deal_id", "stage_id");
alter table "customer_deal_stage_transitions" add constraint "customer_deal_stage_transitions_deal_id_foreign" foreign key ("deal_id") references "customer_deals" ("id") on update cascade;
create index "customer_deals_org_tenant_idx" on "customer_deals" ("organization_id", "tenant_id");
create index "customer_deals_closure_stats_idx" on "customer_deals" ("organization_id", "tenant_id", "closure_outcome", "updated_at");
create index "customer_dictionary_entries_scope_idx" on "customer_dictionary_entries" ("organization_id", "tenant_id", "kind");
alter table "customer_dictionary_entries" add constraint "customer_dictionary_entries_unique" unique ("organization_id", "tenant_id", "kind", "normalized_value");
create index "customer_dict_kind_settings_scope_idx" on "customer_dictionary_kind_settings" ("organization_id", "tenant_id");
alter table "customer_dictionary_kind_settings" add constraint "customer_dict_kind_settings_unique" unique ("organization_id", "tenant_id", "kind");
create index "idx_ce_tenant_person_id" on "customer_entities" ("tenant_id", "id");
create index "idx_ce_tenant_company_id" on "customer_entities" ("tenant_id", "id");
create index "idx_ce_tenant_org_company_id" on "customer_entities" ("tenant_id", "organization_id", "id");
create index "idx_ce_tenant_org_person_id" on "customer_entities" ("tenant_id", "organization_id", "id");
create index "customer_entities_org_tenant_kind_idx" on "customer_entities" ("organization_id", "tenant_id", "kind");
create index "customer_entity_roles_scope_idx" on "customer_entity_roles" ("organization_id", "tenant_id");
create index "customer_entity_roles_entity_idx" on "customer_entity_roles" ("entity_type", "entity_id");
create unique index "customer_entity_roles_active_unique" on "customer_entity_roles" ("entity_type", "entity_id", "role_type") where "deleted_at" is null;
create index "customer_interactions_type_idx" on "customer_interactions" ("tenant_id", "organization_id", "interaction_type");
create index "customer_interactions_org_tenant_status_idx" on "customer_interactions" ("organization_id", "tenant_id", "status", "scheduled_at");
create index "customer_interactions_entity_status_scheduled_idx" on "customer_interactions" ("entity_id", "status", "scheduled_at", "created_at");
alter table "customer_interactions" add constraint "customer_interactions_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
create index "customer_interactions_external_msg_idx" on "customer_interactions" ("external_message_id") where "external_message_id" is not null;
create unique index "customer_interactions_email_dedupe_uq" on "customer_interactions" ("entity_id", "external_message_id") where "external_message_id" is not null and "deleted_at" is null;
create index "customer_interactions_email_visibility_idx" on "customer_interactions" ("entity_id", "interaction_type", "visibility", "author_user_id") where "interaction_type" = 'email' and "deleted_at" is null;
create index "customer_label_assignments_entity_idx" on "customer_label_assignments" ("entity_id");
alter table "customer_label_assignments" add constraint "customer_label_assignments_unique" unique ("label_id", "entity_id");
alter table "customer_label_assignments" add constraint "customer_label_assignments_label_id_foreign" foreign key ("label_id") references "customer_labels" ("id") on update cascade;
alter table "customer_label_assignments" add constraint "customer_label_assignments_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
create index "customer_labels_scope_idx" on "customer_labels" ("organization_id", "tenant_id", "user_id");
alter table "customer_labels" add constraint "customer_labels_unique" unique ("user_id", "tenant_id", "organization_id", "slug");
alter table "customer_people" add constraint "customer_people_entity_id_unique" unique ("entity_id");
create index "idx_customer_people_entity_id" on "customer_people" ("entity_id");
create index "customer_people_org_tenant_idx" on "customer_people" ("organization_id", "tenant_id");
alter table "customer_people" add constraint "customer_people_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
alter table "customer_people" add constraint "customer_people_company_entity_id_foreign" foreign key ("company_entity_id") references "customer_entities" ("id") on update cascade on delete set null;
create index "customer_person_company_links_scope_idx" on "customer_person_company_links" ("organization_id", "tenant_id");
create index "customer_person_company_links_company_idx" on "customer_person_company_links" ("company_entity_id");
create index "customer_person_company_links_person_idx" on "customer_person_company_links" ("person_entity_id");
alter table "customer_person_company_links" add constraint "customer_person_company_links_person_entity_id_foreign" foreign key ("person_entity_id") references "customer_entities" ("id") on update cascade;
alter table "customer_person_company_links" add constraint "customer_person_company_links_company_entity_id_foreign" foreign key ("company_entity_id") references "customer_entities" ("id") on update cascade;
create unique index "customer_person_company_links_active_unique" on "customer_person_company_links" ("person_entity_id", "company_entity_id") where "deleted_at" is null;
create index "customer_pcr_person_company_idx" on "customer_person_company_roles" ("person_entity_id", "company_entity_id");
create index "customer_pcr_scope_idx" on "customer_person_company_roles" ("organization_id", "tenant_id");
alter table "customer_person_company_roles" add constraint "customer_pcr_unique" unique ("person_entity_id", "company_entity_id", "role_value");
alter table "customer_person_company_roles" add constraint "customer_person_company_roles_person_entity_id_foreign" foreign key ("person_entity_id") references "customer_entities" ("id") on update cascade;
alter table "customer_person_company_roles" add constraint "customer_person_company_roles_company_entity_id_foreign" foreign key ("company_entity_id") references "customer_entities" ("id") on update cascade;
create index if not exists "customer_pipeline_stages_pipeline_position_idx" on "customer_pipeline_stages" ("pipeline_id", "position");
create index if not exists "customer_pipeline_stages_org_tenant_idx" on "customer_pipeline_stages" ("organization_id", "tenant_id");
create index if not exists "customer_pipelines_org_tenant_idx" on "customer_pipelines" ("organization_id", "tenant_id");
alter table "customer_settings" add constraint "customer_settings_scope_unique" unique ("organization_id", "tenant_id");
create index "customer_tag_assignments_entity_idx" on "customer_tag_assignments" ("entity_id");
alter table "customer_tag_assignments" add constraint "customer_tag_assignments_unique" unique ("tag_id", "entity_id");
alter table "customer_tag_assignments" add constraint "customer_tag_assignments_tag_id_foreign" foreign key ("tag_id") references "customer_tags" ("id") on update cascade;
alter table "customer_tag_assignments" add constraint "customer_tag_assignments_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;
create index "customer_tags_org_tenant_idx" on "customer_tags" ("organization_id", "tenant_id");
alter table "customer_tags" add constraint "customer_tags_org_slug_unique" unique ("organization_id", "tenant_id", "slug");
create index "customer_todo_links_entity_created_idx" on "customer_todo_links" ("entity_id", "created_at");
create index "customer_todo_links_entity_idx" on "customer_todo_links" ("entity_id");
alter table "customer_todo_links" add constraint "customer_todo_links_unique" unique ("entity_id", "todo_id", "todo_source");
alter table "customer_todo_links" add constraint "customer_todo_links_entity_id_foreign" foreign key ("entity_id") references "customer_entities" ("id") on update cascade;

-- +goose Down
DROP TABLE IF EXISTS
  customer_todo_links,
  customer_tags,
  customer_tag_assignments,
  customer_settings,
  customer_pipelines,
  customer_pipeline_stages,
  customer_person_company_roles,
  customer_person_company_links,
  customer_people,
  customer_labels,
  customer_label_assignments,
  customer_interactions,
  customer_entity_roles,
  customer_entities,
  customer_dictionary_kind_settings,
  customer_dictionary_entries,
  customer_deals,
  customer_deal_stage_transitions,
  customer_deal_people,
  customer_deal_companies,
  customer_company_billing,
  customer_companies,
  customer_comments,
  customer_addresses,
  customer_activities;
