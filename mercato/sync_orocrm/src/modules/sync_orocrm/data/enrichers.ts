// Response enrichers that put sync_orocrm's external ids into `_integrations` of people, company and deal
// responses, for Mercato's External IDs panel. Mercato's own enricher (integrations.external-id-mapping) targets
// '*', which its registry never matches (it compares targetEntity exactly), so the module registers one per entity.
import type { EntityManager } from '@mikro-orm/postgresql'
import { findWithDecryption } from '@open-mercato/shared/lib/encryption/find'
import { SyncExternalIdMapping } from '@open-mercato/core/modules/integrations/data/entities'
import { SYNC_ORIGIN } from '../lib/plan'
import { externalUrl } from '../lib/links'
import { oroUrl } from '../lib/settings'
import { withExternalIds, type MappingRow } from '../lib/externalIds'

type Rec = Record<string, unknown> & { id: string }
type Context = { organizationId: string; tenantId: string; em: unknown; container?: unknown }
type Credentials = { resolve(id: string, scope: { organizationId: string; tenantId: string }): Promise<Record<string, unknown> | null> }

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

// scopeOroUrl is the Oro URL of the request's scope: its saved credentials first (each tenant its own Oro), then
// the environment's preset or the URL the process last read.
async function scopeOroUrl(ctx: Context): Promise<string | undefined> {
  try {
    const c = ctx.container as { resolve<T>(name: string): T } | undefined
    const creds = await c?.resolve<Credentials>('integrationCredentialsService')
      .resolve(SYNC_ORIGIN, { organizationId: ctx.organizationId, tenantId: ctx.tenantId })
    if (typeof creds?.oroUrl === 'string' && creds.oroUrl.trim()) return creds.oroUrl.trim()
  } catch {
    // no credentials service or unreadable credentials: fall back to the process's URL
  }
  return oroUrl()
}

function enricherFor(targetEntity: string) {
  const enrichMany = async (records: Rec[], ctx: Context) => {
    const mappings = await mappingsFor(targetEntity, records.map((r) => r.id), ctx)
    const base = mappings.length > 0 ? await scopeOroUrl(ctx) : undefined
    return withExternalIds(records, mappings, (externalId) => externalUrl(base, externalId))
  }
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
