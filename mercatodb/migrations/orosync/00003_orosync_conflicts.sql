-- +goose Up
-- Conflict handling. orosync_records remembers the values orosync last wrote for a record (the snapshot a
-- three-way merge compares both sides against) and when it wrote them; orosync_conflicts is the review queue of
-- what the rules could not decide (both sides changed a field, several email candidates, delete of a locally
-- edited record).
ALTER TABLE orosync_records ADD COLUMN snapshot jsonb NULL;
ALTER TABLE orosync_records ADD COLUMN written_at timestamptz NULL;
-- The version a tombstone ended the record at: versions up to it (arriving late, e.g. in a reversed replay) only
-- fill in the deleted record's values; only a newer version brings it back.
ALTER TABLE orosync_records ADD COLUMN deleted_source_updated_at timestamptz NULL;
ALTER TABLE orosync_records ADD COLUMN deleted_payload_hash text NULL;

COMMENT ON COLUMN orosync_records.snapshot IS 'orosync: the mapped Oro values last synced (plaintext JSON of the aggregate), base of the three-way merge';
COMMENT ON COLUMN orosync_records.written_at IS 'orosync: when orosync last wrote Mercato''s rows of this record';

CREATE TABLE orosync_conflicts (
  id                         bigserial      NOT NULL,
  tenant_id                  uuid           NOT NULL,
  organization_id            uuid           NOT NULL,
  connection                 text           NOT NULL,
  source_type                text           NOT NULL,
  source_id                  text           NOT NULL,
  internal_entity_type       text           NOT NULL,
  internal_entity_id         uuid           NULL,
  kind                       text           NOT NULL,
  fields                     jsonb          NOT NULL DEFAULT '[]',
  change                     jsonb          NOT NULL,
  local                      jsonb          NULL,
  base                       jsonb          NULL,
  candidates                 jsonb          NOT NULL DEFAULT '[]',
  status                     text           NOT NULL DEFAULT 'open',
  resolution                 text           NULL,
  created_at                 timestamptz    NOT NULL DEFAULT now(),
  updated_at                 timestamptz    NOT NULL DEFAULT now(),
  resolved_at                timestamptz    NULL,
  CONSTRAINT orosync_conflicts_pkey PRIMARY KEY (id)
);

-- One open conflict of a kind per record: a newer Oro version refreshes it instead of queueing another.
CREATE UNIQUE INDEX orosync_conflicts_open_unique ON orosync_conflicts (tenant_id, organization_id, source_type, source_id, kind)
  WHERE status = 'open';
CREATE INDEX orosync_conflicts_status_idx ON orosync_conflicts (status, id);

COMMENT ON TABLE orosync_conflicts IS 'orosync: review queue of sync conflicts (kind: field-merge, email-match, delete-local-edit)';

-- +goose Down
DROP TABLE IF EXISTS orosync_conflicts;
ALTER TABLE orosync_records DROP COLUMN IF EXISTS deleted_payload_hash;
ALTER TABLE orosync_records DROP COLUMN IF EXISTS deleted_source_updated_at;
ALTER TABLE orosync_records DROP COLUMN IF EXISTS written_at;
ALTER TABLE orosync_records DROP COLUMN IF EXISTS snapshot;
