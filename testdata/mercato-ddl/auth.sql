-- Open Mercato auth module: the users table only (the users Mercato's owner, author and assignee columns point to).
-- Source: github.com/open-mercato/open-mercato @ 8c6a83752b0c6717e086b40a9fd7aa8fa950be06,
-- packages/core/src/modules/auth/migrations/ Migration20251030150038 (create), Migration20251209080326 (email_hash),
-- Migration20260601120000 (updated_at), Migration20260610120000 (per-tenant unique email_hash over live rows), in
-- the column order they leave. email and name are encrypted when the tenant encrypts (auth/encryption.ts);
-- email_hash is Mercato's lookup hash of the email (auth/lib/emailHash.ts), set whatever the encryption.

CREATE TABLE users (
  id                         uuid           NOT NULL DEFAULT gen_random_uuid(),
  tenant_id                  uuid           NULL,
  organization_id            uuid           NULL,
  email                      text           NOT NULL,
  name                       text           NULL,
  password_hash              text           NULL,
  is_confirmed               boolean        NOT NULL DEFAULT true,
  last_login_at              timestamptz    NULL,
  created_at                 timestamptz    NOT NULL,
  deleted_at                 timestamptz    NULL,
  email_hash                 text           NULL,
  updated_at                 timestamptz    NULL,
  CONSTRAINT users_pkey PRIMARY KEY (id)
);

create index "users_email_hash_idx" on "users" ("email_hash");
create unique index if not exists "users_tenant_email_hash_uniq" on "users" ("tenant_id", "email_hash") where "deleted_at" is null and "email_hash" is not null;
