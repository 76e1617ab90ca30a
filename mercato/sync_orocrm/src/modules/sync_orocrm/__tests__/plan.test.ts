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
    for (const name of ['customers.customer_person_profile.updated', 'customers.customer_entity.updated']) {
      it(`${name} (a person's custom fields, notify) is emitted, not indexed and not counted: the person's own event does both`, () => {
        const p = planned(subject(name, P), { id: P, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' })
        expect(p.event).toBe(name)
        expect(p.index).toEqual([])
        expect(p.run).toBeUndefined()
      })
    }
  })

  it('a person-company link is indexed as the link commands do (the link row, coverage +1/-1) and counted', () => {
    const body = { id: P, tenantId: T, organizationId: O, personEntityId: E, companyEntityId: E, syncOrigin: 'sync_orocrm' }
    const created = planned(subject('customers.person_company_link.created', P), body)
    expect(created.index).toEqual([
      { event: 'query_index.upsert_one', payload: { entityType: 'customers:customer_person_company_link', recordId: P, organizationId: O, tenantId: T, crudAction: 'created', coverageBaseDelta: 1, syncOrigin: 'sync_orocrm' } },
    ])
    expect(created.run).toEqual({ entityType: 'customers.person_company_link', action: 'created' })
    const deleted = planned(subject('customers.person_company_link.deleted', P), body)
    expect(deleted.index.map((i) => [i.event, i.payload.recordId, i.payload.coverageBaseDelta])).toEqual([['query_index.delete_one', P, -1]])
  })

  it("a next interaction reindexes the entity row as the interaction commands do, and is not counted", () => {
    const p = planned(subject('customers.next_interaction.updated', E), { id: E, entityId: E, nextInteractionId: P, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' })
    expect(p.event).toBe('customers.next_interaction.updated')
    expect(p.payload).toEqual({ id: E, entityId: E, nextInteractionId: P, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' })
    expect(p.index).toEqual([
      { event: 'query_index.upsert_one', payload: { entityType: 'customers:customer_entity', recordId: E, organizationId: O, tenantId: T, crudAction: 'updated', syncOrigin: 'sync_orocrm' } },
    ])
    expect(p.run).toBeUndefined()
  })

  // Each event orosync emits (services/writer/adapters/events_table_test.go) and the index entries Mercato's command
  // for the same change writes (customers/commands/*.ts: the CrudIndexerConfig, then emitQueryIndex*Events).
  describe('indexes for each event what the emitting Mercato command indexes', () => {
    const body = { id: P, entityId: E, tenantId: T, organizationId: O, syncOrigin: 'sync_orocrm' }
    const cases: [string, string[]][] = [
      ['customers.person.created', ['upsert customers:customer_person_profile P created +1', 'upsert customers:customer_entity E updated']],
      ['customers.person.updated', ['upsert customers:customer_person_profile P updated', 'upsert customers:customer_entity E updated']],
      ['customers.person.deleted', ['delete customers:customer_person_profile P deleted -1', 'delete customers:customer_entity E deleted']],
      ['customers.company.created', ['upsert customers:customer_company_profile P created +1', 'upsert customers:customer_entity E updated']],
      ['customers.company.updated', ['upsert customers:customer_company_profile P updated', 'upsert customers:customer_entity E updated']],
      ['customers.company.deleted', ['delete customers:customer_company_profile P deleted -1', 'delete customers:customer_entity E deleted']],
      ['customers.address.created', ['upsert customers:customer_address P created +1']],
      ['customers.address.updated', ['upsert customers:customer_address P updated']],
      ['customers.address.deleted', ['delete customers:customer_address P deleted -1']],
      ['customers.person_company_link.created', ['upsert customers:customer_person_company_link P created +1']],
      ['customers.person_company_link.updated', ['upsert customers:customer_person_company_link P updated']],
      ['customers.person_company_link.deleted', ['delete customers:customer_person_company_link P deleted -1']],
      ['customers.deal.created', ['upsert customers:customer_deal P created +1']],
      ['customers.deal.updated', ['upsert customers:customer_deal P updated']],
      ['customers.deal.deleted', ['delete customers:customer_deal P deleted -1']],
      ['customers.deal.won', []],
      ['customers.deal.lost', []],
      ['customers.interaction.created', ['upsert customers:customer_interaction P created +1']],
      ['customers.interaction.updated', ['upsert customers:customer_interaction P updated']],
      ['customers.interaction.deleted', ['delete customers:customer_interaction P deleted -1']],
      ['customers.interaction.completed', []],
      ['customers.interaction.canceled', []],
      ['customers.next_interaction.updated', ['upsert customers:customer_entity E updated']],
      ['customers.comment.created', ['upsert customers:customer_comment P created +1']],
      ['customers.comment.updated', ['upsert customers:customer_comment P updated']],
      ['customers.comment.deleted', ['delete customers:customer_comment P deleted -1']],
      ['customers.customer_person_profile.updated', []],
      ['customers.customer_entity.updated', []],
    ]
    const short = (op: Plan['index'][number]) => [
      op.event === 'query_index.upsert_one' ? 'upsert' : 'delete', op.payload.entityType,
      op.payload.recordId === P ? 'P' : op.payload.recordId === E ? 'E' : op.payload.recordId, op.payload.crudAction,
      ...(op.payload.coverageBaseDelta === undefined ? [] : [op.payload.coverageBaseDelta > 0 ? `+${op.payload.coverageBaseDelta}` : `${op.payload.coverageBaseDelta}`]),
    ].join(' ')
    for (const [name, want] of cases) {
      it(name, () => {
        expect(planned(subject(name, P), body).index.map(short)).toEqual(want)
      })
    }
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
    const p = planned(subject('customers.todo.created', P), { id: P, tenantId: T, organizationId: O })
    expect(p.event).toBe('customers.todo.created')
    expect(p.index).toEqual([])
    expect(p.run).toBeUndefined()
  })

  it('reads the event name from the subject', () => {
    expect(eventName('mercato.events.acme.customers.person.updated.' + E)).toBe('customers.person.updated')
  })
})
