// Response enrichers that put sync_orocrm's external ids into `_integrations` of people, company and deal
// responses, for Mercato's External IDs panel. Mercato's own enricher (integrations.external-id-mapping) targets
// '*', which its registry never matches (it compares targetEntity exactly), so the module registers one per entity.
import type { EntityManager } from '@mikro-orm/postgresql'
import { findWithDecryption } from '@open-mercato/shared/lib/encryption/find'
import { SyncExternalIdMapping } from '@open-mercato/core/modules/integrations/data/entities'
import { integration } from '../integration'
import { SYNC_ORIGIN } from '../lib/plan'
import { withExternalIds, type MappingRow } from '../lib/externalIds'

type Rec = Record<string, unknown> & { id: string }
type Context = { organizationId: string; tenantId: string; em: unknown }

// The entity types the writer records in sync_external_id_mappings.internal_entity_type.
export const ENRICHED_ENTITIES = ['customers.person', 'customers.company', 'customers.deal'] as const

async function mappingsFor(targetEntity: string, ids: string[], ctx: Context): Promise<MappingRow[]> {
  if (ids.length === 0) return []
  const em = (ctx.em as EntityManager).fork()
  const scope = { organizationId: ctx.organizationId, tenantId: ctx.tenantId }
  const rows = await findWithDecryption(em, SyncExternalIdMapping, {
    integrationId: SYNC_ORIGIN,
    internalEntityType: targetEntity,
    internalEntityId: { $in: ids },
    ...scope,
    deletedAt: null,
  }, undefined, scope)
  return rows as unknown as MappingRow[]
}

function enricherFor(targetEntity: string) {
  const link = (externalId: string) => integration.buildExternalUrl?.(externalId)
  const enrichMany = async (records: Rec[], ctx: Context) =>
    withExternalIds(records, await mappingsFor(targetEntity, records.map((r) => r.id), ctx), link)
  return {
    id: `sync_orocrm.external-ids.${targetEntity}`,
    targetEntity,
    features: ['integrations.view'],
    priority: 10,
    timeout: 500,
    critical: false,
    fallback: {},
    enrichMany,
    enrichOne: async (record: Rec, ctx: Context) => (await enrichMany([record], ctx))[0],
  }
}

export const enrichers = ENRICHED_ENTITIES.map(enricherFor)
export default enrichers
