import { describe, expect, it } from 'vitest'
import { withExternalIds, type MappingRow } from '../lib/externalIds'

const link = (id: string) => `https://oro.example/${id}`
const at = new Date('2026-12-01T10:00:00Z')
const row = (id: string, ext: string, integrationId = 'sync_orocrm'): MappingRow =>
  ({ integrationId, internalEntityId: id, externalId: ext, syncStatus: 'synced', lastSyncedAt: at })

describe('external ids in _integrations', () => {
  it('gives a mapped record its Oro id, link, status and sync time', () => {
    const [r] = withExternalIds([{ id: 'p1' }], [row('p1', 'contacts:42')], link)
    expect(r._integrations).toEqual({
      sync_orocrm: { externalId: 'contacts:42', externalUrl: 'https://oro.example/contacts:42', syncStatus: 'synced', lastSyncedAt: '2026-12-01T10:00:00.000Z' },
    })
  })
  it('gives an unmapped record an empty namespace', () => {
    expect(withExternalIds([{ id: 'p2' }], [row('p1', 'contacts:42')], link)[0]._integrations).toEqual({})
  })
  it('keeps what other integrations put there', () => {
    const [r] = withExternalIds([{ id: 'p1', _integrations: { sync_akeneo: { externalId: 'x' } } }], [row('p1', 'contacts:1')], link)
    expect(Object.keys(r._integrations).sort()).toEqual(['sync_akeneo', 'sync_orocrm'])
  })
  it('ignores mappings of other integrations', () => {
    expect(withExternalIds([{ id: 'p1' }], [row('p1', 'x', 'sync_excel')], link)[0]._integrations).toEqual({})
  })
})
