// The durable MERCATO_EVENTS consumer: fetches batches, hands each message to the handler, and acknowledges only
// after the handler returned. A message that can never be handled (PlanError) is terminated and reported; one that
// failed otherwise is redelivered with a back-off until the consumer's max_deliver, then terminated and reported.
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager, type Consumer, type ConsumerConfig, type JsMsg } from '@nats-io/jetstream'
import { PlanError } from './plan'

export const STREAM = 'MERCATO_EVENTS'

// The durable consumer as orosync's contract defines it (contracts/consumers/MERCATO_EVENTS/mercato.json; a test
// holds the two equal): created when missing, so events published before the module first ran are delivered too.
export const MERCATO_CONSUMER = {
  durable_name: 'mercato',
  description: "Open Mercato's sync_orocrm module: indexes each changed record and emits the event on Mercato's bus, acknowledging after both.",
  deliver_policy: 'all',
  ack_policy: 'explicit',
  ack_wait: 60_000_000_000,
  max_deliver: 10,
  filter_subject: 'mercato.events.>',
  replay_policy: 'instant',
  max_ack_pending: 1000,
  max_waiting: 512,
} as const satisfies Partial<ConsumerConfig>

export type Delivery = { subject: string; data: Uint8Array; deliveryCount: number; pending: number }

export type Handler = {
  // handle applies one message; it throws PlanError for messages that can never be applied.
  handle(d: Delivery): Promise<void>
  // failed reports a message given up on (terminated), with the reason.
  failed(d: Delivery, reason: string): Promise<void>
  // idle runs after each batch, with whether the consumer has caught up with the stream.
  idle(caughtUp: boolean): Promise<void>
}

export type ConsumerOptions = {
  servers: string
  config: Partial<ConsumerConfig> & { durable_name: string; max_deliver?: number }
  batch?: number
  expiresMs?: number
  // concurrency: records handled at once (each record's messages in order); Mercato's indexing waits on the
  // database, so several in flight keep it busy
  concurrency?: number
  log?: (msg: string) => void
}

// ensureConsumer creates the durable consumer from its contract when it is missing; an existing one is used as is.
export async function ensureConsumer(nc: NatsConnection, config: ConsumerOptions['config']): Promise<void> {
  const jsm = await jetstreamManager(nc)
  try {
    await jsm.consumers.info(STREAM, config.durable_name)
  } catch (err) {
    if (!String((err as Error)?.message ?? err).includes('consumer not found')) throw err
    await jsm.consumers.add(STREAM, config)
  }
}

function backoffMs(deliveryCount: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, deliveryCount - 1))
}

async function deliver(m: JsMsg, h: Handler, maxDeliver: number, log: (s: string) => void): Promise<void> {
  const d: Delivery = { subject: m.subject, data: m.data, deliveryCount: m.info.deliveryCount, pending: m.info.pending }
  try {
    await h.handle(d)
    await m.ackAck()
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    if (err instanceof PlanError || (maxDeliver > 0 && d.deliveryCount >= maxDeliver)) {
      log(`sync_orocrm: giving up on ${d.subject} after ${d.deliveryCount} deliveries: ${reason}`)
      await h.failed(d, reason)
      m.term()
      return
    }
    log(`sync_orocrm: ${d.subject} failed (delivery ${d.deliveryCount}), redelivering: ${reason}`)
    m.nak(backoffMs(d.deliveryCount))
  }
}

// byRecord groups a batch by record (the subject without its action: one record's created, updated and deleted
// events stay in order), keeping the batch's order within each group.
export function byRecord(batch: JsMsg[]): JsMsg[][] {
  const groups = new Map<string, JsMsg[]>()
  for (const m of batch) {
    const p = m.subject.split('.')
    const key = p.length === 7 ? [...p.slice(2, 5), p[6]].join('.') : m.subject
    const g = groups.get(key)
    if (g) g.push(m)
    else groups.set(key, [m])
  }
  return [...groups.values()]
}

// inParallel runs fn over items with at most n running at once.
async function inParallel<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker))
}

// fetchBatch pulls up to max messages and returns them once the pull is over, so handling them (which may take
// longer than the pull's heartbeat interval) happens outside the pull.
async function fetchBatch(c: Consumer, max: number, expires: number): Promise<JsMsg[]> {
  const out: JsMsg[] = []
  for await (const m of await c.fetch({ max_messages: max, expires })) out.push(m)
  return out
}

// inboxPrefix is _INBOX_<user> when the URL names a user: orosync's NATS users (deploy/nats/accounts.conf, user
// mercato) may subscribe to their own inboxes only. Without a user, nats.js's default.
export function inboxPrefix(servers: string): string | undefined {
  for (const s of servers.split(',')) {
    try {
      const user = decodeURIComponent(new URL(s.trim()).username)
      if (user) return `_INBOX_${user}`
    } catch {
      // not a URL (host:port): no user in it
    }
  }
  return undefined
}

// consume runs until signal aborts, then drains the connection.
export async function consume(opts: ConsumerOptions, h: Handler, signal: AbortSignal): Promise<void> {
  const log = opts.log ?? ((s: string) => console.log(s))
  // waitOnFirstConnect: Mercato may start before orosync's NATS is up.
  const nc = await connect({ servers: opts.servers, name: 'mercato-sync-orocrm', maxReconnectAttempts: -1, waitOnFirstConnect: true,
    inboxPrefix: inboxPrefix(opts.servers) })
  try {
    await ensureConsumer(nc, opts.config)
    const c = await jetstream(nc).consumers.get(STREAM, opts.config.durable_name)
    const maxDeliver = opts.config.max_deliver ?? -1
    while (!signal.aborted) {
      let batch: JsMsg[]
      try {
        batch = await fetchBatch(c, opts.batch ?? 100, opts.expiresMs ?? 1000)
      } catch (err) {
        // A failed pull (the server restarting, a missed heartbeat) is retried; unacknowledged messages come back.
        log(`sync_orocrm: fetching from ${STREAM}/${opts.config.durable_name} failed, retrying: ${(err as Error)?.message ?? err}`)
        await new Promise((r) => setTimeout(r, 1000))
        continue
      }
      await inParallel(byRecord(batch), opts.concurrency ?? 8, async (msgs) => {
        for (const m of msgs) if (!signal.aborted) await deliver(m, h, maxDeliver, log)
      })
      await h.idle(batch.length === 0 || batch[batch.length - 1].info.pending === 0)
    }
  } finally {
    await nc.drain().catch(() => nc.close())
  }
}
