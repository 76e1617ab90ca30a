// What Mercato's own customers commands trigger for a change, planned from one MERCATO_EVENTS message: the event
// on Mercato's bus (persistent, with syncOrigin) and the query-index upserts/deletes of exactly the changed records
// (`query_index.upsert_one` / `delete_one`, which also rebuild their search tokens). Pure: no Mercato, no NATS.

export const SYNC_ORIGIN = 'sync_orocrm'

export type Action = 'created' | 'updated' | 'deleted'

export type IndexOp = {
  event: 'query_index.upsert_one' | 'query_index.delete_one'
  payload: {
    entityType: string
    recordId: string
    organizationId: string
    tenantId: string
    crudAction: Action
    coverageBaseDelta?: number
    syncOrigin: string
  }
}

export type Plan = {
  event: string
  payload: Record<string, unknown>
  tenantId: string
  organizationId: string
  // index runs in the order Mercato's command emits: the profile through the data engine, then the entity row.
  index: IndexOp[]
  // run: the sync-run entity type and count this change adds to, absent for follow-up events (won, completed...).
  run?: { entityType: string; action: Action }
}

// PlanError is a message that can never be handled (redelivery cannot help): it is terminated and counted failed.
export class PlanError extends Error {
  constructor(subject: string, message: string) {
    super(`${subject}: ${message}`)
    this.name = 'PlanError'
  }
}

type Target = { entityType: string; idField: 'id' | 'entityId' }

// Per Mercato entity (the middle of `customers.<entity>.<action>`): the record the command's CrudIndexerConfig
// names (recordId = payload.id) and any row it indexes beside it (customers/commands/*.ts). run: the sync-run
// entity type the change counts in; absent for events that follow another event of the same change.
const ENTITIES: Record<string, { run?: string; indexer?: string; alongside?: Target[]; actions: readonly string[] }> = {
  person: {
    run: 'customers.person',
    indexer: 'customers:customer_person_profile',
    alongside: [{ entityType: 'customers:customer_entity', idField: 'entityId' }],
    actions: ['created', 'updated', 'deleted'],
  },
  company: {
    run: 'customers.company',
    indexer: 'customers:customer_company_profile',
    alongside: [{ entityType: 'customers:customer_entity', idField: 'entityId' }],
    actions: ['created', 'updated', 'deleted'],
  },
  deal: { run: 'customers.deal', indexer: 'customers:customer_deal', actions: ['created', 'updated', 'deleted', 'won', 'lost'] },
  interaction: {
    run: 'customers.interaction',
    indexer: 'customers:customer_interaction',
    actions: ['created', 'updated', 'deleted', 'completed', 'canceled'],
  },
  comment: { run: 'customers.comment', indexer: 'customers:customer_comment', actions: ['created', 'updated', 'deleted'] },
  address: { run: 'customers.address', indexer: 'customers:customer_address', actions: ['created', 'updated', 'deleted'] },
  // Mercato's link commands index the link itself (personCompanyLinks.ts: indexer customer_person_company_link).
  person_company_link: {
    run: 'customers.person_company_link',
    indexer: 'customers:customer_person_company_link',
    actions: ['created', 'updated', 'deleted'],
  },
  // A person's custom fields set with notify (engine.ts setCustomFields): the event only; the people command's own
  // customers.person.created|updated, which orosync always sends beside it, indexes and counts the person.
  customer_person_profile: { actions: ['updated'] },
  customer_entity: { actions: ['updated'] },
  // The interaction commands' emitNextInteractionUpdatedEvent (interactions.ts): the entity row is reindexed
  // (emitQueryIndexUpsertEvents, recordId = the entity), the event follows the interaction's own.
  next_interaction: { alongside: [{ entityType: 'customers:customer_entity', idField: 'entityId' }], actions: ['updated'] },
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// eventName reads the Mercato event name from the subject mercato.events.<tenant>.<module>.<entity>.<action>.<id>
// (the ce-type header carries the same name; the subject is what every message has).
export function eventName(subject: string): string {
  const parts = subject.split('.')
  if (parts.length !== 7 || parts[0] !== 'mercato' || parts[1] !== 'events') {
    throw new PlanError(subject, 'not a mercato.events.<tenant>.<module>.<entity>.<action>.<id> subject')
  }
  return parts.slice(3, 6).join('.')
}

// indexes tells whether the module knows the record a customers event is about (and so indexes and counts it).
export function indexes(name: string): boolean {
  const [mod, entity, action] = name.split('.')
  return mod === 'customers' && !!ENTITIES[entity]?.actions.includes(action)
}

function uuidField(subject: string, payload: Record<string, unknown>, field: string): string {
  const v = payload[field]
  if (typeof v !== 'string' || !UUID.test(v)) throw new PlanError(subject, `payload.${field}: want a uuid, got ${JSON.stringify(v)}`)
  return v
}

// plan returns what to do for a message, or null for events that are not Mercato's (orosync.conflict.* is
// orosync's review queue): those are acknowledged and left alone. A customers event of a record the module does
// not know yet still goes to Mercato's bus, unindexed and uncounted, so its subscribers hear it.
export function plan(subject: string, body: unknown): Plan | null {
  const name = eventName(subject)
  if (!name.startsWith('customers.')) return null
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PlanError(subject, 'payload: want a JSON object')
  const payload = body as Record<string, unknown>
  const [, entity, action] = name.split('.')
  const id = uuidField(subject, payload, 'id')
  const tenantId = uuidField(subject, payload, 'tenantId')
  const organizationId = uuidField(subject, payload, 'organizationId')
  const out: Plan = { event: name, payload: { ...payload, syncOrigin: SYNC_ORIGIN }, tenantId, organizationId, index: [] }
  if (!indexes(name)) return out
  const def = ENTITIES[entity]
  const crud = action === 'created' || action === 'updated' || action === 'deleted' ? (action as Action) : null
  if (!crud) return out // won/lost/completed/canceled follow the record's own updated event, which indexes it
  if (def.run) out.run = { entityType: def.run, action: crud }
  const op: IndexOp['event'] = crud === 'deleted' ? 'query_index.delete_one' : 'query_index.upsert_one'
  const base = { organizationId, tenantId, syncOrigin: SYNC_ORIGIN }
  // The data engine's indexer: crudAction of the change, coverage +1 on create and -1 on delete.
  const delta = crud === 'created' ? 1 : crud === 'deleted' ? -1 : undefined
  if (def.indexer) {
    out.index.push({
      event: op,
      payload: { ...base, entityType: def.indexer, recordId: id, crudAction: crud, ...(delta === undefined ? {} : { coverageBaseDelta: delta }) },
    })
  }
  // Rows indexed beside it (emitQueryIndexUpsertEvents / DeleteEvents): crudAction updated or deleted, no delta.
  for (const t of def.alongside ?? []) {
    out.index.push({
      event: op,
      payload: { ...base, entityType: t.entityType, recordId: uuidField(subject, payload, t.idField), crudAction: crud === 'deleted' ? 'deleted' : 'updated' },
    })
  }
  return out
}
