import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { eventName, indexes, plan, PlanError, type Plan } from '../lib/plan'

const T = '11111111-1111-4111-8111-111111111111'
const O = '22222222-2222-4222-8222-222222222222'
const P = '33333333-3333-4333-8333-333333333333'
const E = '44444444-4444-4444-8444-444444444444'
const contracts = new URL('../../../../../../contracts/', import.meta.url)
const subject = (name: string, id = E) => `mercato.events.demo.${name}.${id}`

const planned = (subject: string, body: unknown): Plan => {
  const p = plan(subject, body)
  if (!p) throw new Error(`no plan for ${subject}`)
  return p
}

describe('plan', () => {
  it('indexes a created person as the people command does: profile with coverage +1, then the entity row', () => {
    const p = planned(subject('customers.person.created'), { id: P, entityId: E, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' })
    expect(p.event).toBe('customers.person.created')
    expect(p.payload).toEqual({ id: P, entityId: E, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' })
    expect(p.index).toEqual([
      { event: 'query_index.upsert_one', payload: { entityType: 'customers:customer_person_profile', recordId: P, organizationId: O, tenantId: T, crudAction: 'created', coverageBaseDelta: 1, syncOrigin: 'sync_orocrm' } },
      { event: 'query_index.upsert_one', payload: { entityType: 'customers:customer_entity', recordId: E, organizationId: O, tenantId: T, crudAction: 'updated', syncOrigin: 'sync_orocrm' } },
    ])
    expect(p.run).toEqual({ entityType: 'customers.person', action: 'created' })
  })

  it('removes a deleted company from the index with coverage -1', () => {
    const p = planned(subject('customers.company.deleted'), { id: P, entityId: E, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' })
    expect(p.index.map((i) => [i.event, i.payload.entityType, i.payload.recordId, i.payload.crudAction, i.payload.coverageBaseDelta])).toEqual([
      ['query_index.delete_one', 'customers:customer_company_profile', P, 'deleted', -1],
      ['query_index.delete_one', 'customers:customer_entity', E, 'deleted', undefined],
    ])
  })

  it('updates keep coverage untouched', () => {
    const p = planned(subject('customers.deal.updated', P), { id: P, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' })
    expect(p.index).toHaveLength(1)
    expect(p.index[0].payload).not.toHaveProperty('coverageBaseDelta')
  })

  describe('events that only go to the bus', () => {
    for (const name of ['customers.deal.won', 'customers.interaction.completed']) {
      it(`${name} is emitted, not indexed and not counted (its updated event does both)`, () => {
        const p = planned(subject(name, P), { id: P, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm', title: 'x' })
        expect(p.event).toBe(name)
        expect(p.index).toEqual([])
        expect(p.run).toBeUndefined()
      })
    }
    it('a person-company link is emitted and counted, with no index entity', () => {
      const p = planned(subject('customers.person_company_link.created', P), { id: P, tenantId: T, organizationId: O, personEntityId: E, companyEntityId: E, syncOrigin: 'sync_orocrm' })
      expect(p.index).toEqual([])
      expect(p.run).toEqual({ entityType: 'customers.person_company_link', action: 'created' })
    })
  })

  it('a change of custom fields only reindexes the profile and counts as an update of the person', () => {
    const p = planned(subject('customers.customer_person_profile.updated', P), { id: P, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' })
    expect(p.index.map((i) => i.payload.entityType)).toEqual(['customers:customer_person_profile'])
    expect(p.run).toEqual({ entityType: 'customers.person', action: 'updated' })
  })

  it('sets syncOrigin even when the payload lacks it', () => {
    expect(planned(subject('customers.comment.created', P), { id: P, tenantId: T, organizationId: O }).payload.syncOrigin).toBe('sync_orocrm')
  })

  describe('refuses what can never be applied, naming subject and field', () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['a foreign subject', 'orders.created', {}, /not a mercato\.events/],
      ['a non-object payload', subject('customers.person.created'), [1], /want a JSON object/],
      ['a missing id', subject('customers.person.created'), { entityId: E, tenantId: T, organizationId: O }, /payload\.id: want a uuid/],
      ['a bad entityId', subject('customers.person.updated'), { id: P, entityId: 'x', tenantId: T, organizationId: O }, /payload\.entityId/],
      ['a missing tenant', subject('customers.deal.created', P), { id: P, organizationId: O }, /payload\.tenantId/],
    ]
    for (const [name, subj, body, msg] of cases) {
      it(name, () => {
        expect(() => plan(subj, body)).toThrow(PlanError)
        expect(() => plan(subj, body)).toThrow(msg)
      })
    }
  })

  it("handles every customers event orosync's contract announces on MERCATO_EVENTS", () => {
    const asyncapi = readFileSync(new URL('asyncapi.yaml', contracts), 'utf8')
    const section = asyncapi.slice(asyncapi.indexOf('mercatoEvents:'), asyncapi.indexOf('deadLetters:'))
    const names = new Set<string>()
    for (const m of section.matchAll(/customers\.([a-z_]+)\.(\*|[a-z]+(?:\|[a-z]+)*)/g)) {
      const actions = m[2] === '*' ? ['created', 'updated', 'deleted'] : m[2].split('|')
      for (const a of actions) names.add(`customers.${m[1]}.${a}`)
    }
    expect(names.size).toBeGreaterThan(20)
    expect([...names].filter((n) => !indexes(n))).toEqual([])
  })

  it("leaves orosync's own events (the review queue's conflicts) alone", () => {
    expect(plan('mercato.events.demo.orosync.conflict.opened.' + E, { anything: 1 })).toBeNull()
  })

  it('still emits a customers event of a record it does not index, unindexed and uncounted', () => {
    const p = planned(subject('customers.next_interaction.updated', P), { id: P, tenantId: T, organizationId: O })
    expect(p.event).toBe('customers.next_interaction.updated')
    expect(p.index).toEqual([])
    expect(p.run).toBeUndefined()
  })

  it('reads the event name from the subject', () => {
    expect(eventName('mercato.events.acme.customers.person.updated.' + E)).toBe('customers.person.updated')
  })
})
