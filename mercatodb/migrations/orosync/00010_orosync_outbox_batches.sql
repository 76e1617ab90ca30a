-- +goose Up
-- The events of one large writer batch in one outbox row (a JSON array of {s: subject, m: msg_id, t: event_type,
-- h: headers, p: payload}): a 1,000-contact batch writes one row instead of 2,000, which was a third of the
-- batch's WAL, and the relay deletes one. Ids come from orosync_outbox's sequence, so the relay keeps the
-- commit order across both tables.
CREATE TABLE orosync_outbox_batches (
  id                         bigint         NOT NULL DEFAULT nextval('orosync_outbox_id_seq'),
  events                     json           NOT NULL,
  created_at                 timestamptz    NOT NULL DEFAULT now(),
  CONSTRAINT orosync_outbox_batches_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE orosync_outbox_batches IS 'orosync: transactional outbox, the events of one writer batch per row (relayed with orosync_outbox in id order)';

-- +goose Down
DROP TABLE IF EXISTS orosync_outbox_batches;
