-- +goose Up
-- Person ↔ company links whose company has not arrived yet (the contact came before its Oro account). The writer
-- parks them here and turns them into customer_person_company_links rows in the transaction that writes the
-- company; a newer version of the person replaces its parked links. No foreign keys into Mercato's tables.
CREATE TABLE orosync_pending_links (
  tenant_id                  uuid           NOT NULL,
  organization_id            uuid           NOT NULL,
  person_entity_id           uuid           NOT NULL,
  company_source_type        text           NOT NULL,
  company_source_id          text           NOT NULL,
  is_primary                 boolean        NOT NULL DEFAULT false,
  source_updated_at          timestamptz    NOT NULL,
  payload_hash               text           NOT NULL,
  created_at                 timestamptz    NOT NULL DEFAULT now(),
  CONSTRAINT orosync_pending_links_pkey PRIMARY KEY (person_entity_id, company_source_type, company_source_id)
);
CREATE INDEX orosync_pending_links_company_idx
  ON orosync_pending_links (tenant_id, organization_id, company_source_type, company_source_id);

COMMENT ON TABLE orosync_pending_links IS 'orosync: person-company links parked until the company (Oro account) is synced';
COMMENT ON COLUMN orosync_pending_links.source_updated_at IS 'orosync: version of the person the link came with (event ids)';

-- +goose Down
DROP TABLE IF EXISTS orosync_pending_links;
