// The `_integrations` namespace of Mercato's External IDs panel, built from sync_external_id_mappings rows. Pure.
import { SYNC_ORIGIN as INTEGRATION_ID } from './plan'

export type MappingRow = {
  integrationId: string
  internalEntityId: string
  externalId: string
  syncStatus: string
  lastSyncedAt?: Date | null
}

export type ExternalIdEntry = { externalId: string; externalUrl?: string; lastSyncedAt?: string; syncStatus: string }

type WithIntegrations = { id: string; _integrations?: unknown }

// withExternalIds adds each record's sync_orocrm mapping to its `_integrations`, keeping what other enrichers put
// there; a record without a mapping keeps its namespace (or gets an empty one), as Mercato's own enricher does.
export function withExternalIds<T extends WithIntegrations>(
  records: T[],
  mappings: MappingRow[],
  link: (externalId: string) => string | undefined,
): Array<T & { _integrations: Record<string, unknown> }> {
  const byRecord = new Map<string, MappingRow>()
  for (const m of mappings) if (m.integrationId === INTEGRATION_ID) byRecord.set(m.internalEntityId, m)
  return records.map((record) => {
    const prior = isObject(record._integrations) ? record._integrations : {}
    const m = byRecord.get(record.id)
    if (!m) return { ...record, _integrations: { ...prior } }
    const entry: ExternalIdEntry = {
      externalId: m.externalId,
      externalUrl: link(m.externalId),
      lastSyncedAt: m.lastSyncedAt ? m.lastSyncedAt.toISOString() : undefined,
      syncStatus: m.syncStatus,
    }
    return { ...record, _integrations: { ...prior, [INTEGRATION_ID]: entry } }
  })
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
