-- +goose Up
-- Transactional outbox of Mercato events, written in the same transaction as the Mercato rows and
-- relayed to NATS JetStream (msg_id is the JetStream Nats-Msg-Id used for de-duplication).
CREATE TABLE orosync_outbox (
  id                         bigserial      NOT NULL,
  subject                    text           NOT NULL,
  msg_id                     text           NOT NULL,
  event_type                 text           NOT NULL,
  headers                    jsonb          NOT NULL DEFAULT '{}',
  payload                    jsonb          NOT NULL,
  created_at                 timestamptz    NOT NULL DEFAULT now(),
  CONSTRAINT orosync_outbox_pkey PRIMARY KEY (id),
  CONSTRAINT orosync_outbox_msg_id_unique UNIQUE (msg_id)
);

COMMENT ON TABLE orosync_outbox IS 'orosync: transactional outbox of Mercato events, relayed to NATS JetStream in id order';

-- +goose Down
DROP TABLE IF EXISTS orosync_outbox;
