-- +goose Up
-- An outbox batch row holds ~0.5 MB of JSON per 1,000 contacts; pglz spent milliseconds of the writer's
-- transaction compressing it, lz4 a fraction of that. Servers built without lz4 keep pglz.
-- +goose StatementBegin
DO $$
BEGIN
  ALTER TABLE orosync_outbox_batches ALTER COLUMN events SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'orosync: lz4 not available, orosync_outbox_batches.events keeps the default compression';
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE orosync_outbox_batches ALTER COLUMN events SET COMPRESSION default;
