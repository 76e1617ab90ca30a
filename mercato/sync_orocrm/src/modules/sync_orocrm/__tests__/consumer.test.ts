// Against a real NATS server with JetStream (the nats-server binary: Debian's package, or NATS_SERVER_BIN).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { consume, MERCATO_CONSUMER, STREAM, type Delivery, type Handler } from '../lib/consumer'
import { PlanError } from '../lib/plan'

const contracts = new URL('../../../../../../contracts/', import.meta.url)
const json = (p: string) => JSON.parse(readFileSync(new URL(p, contracts), 'utf8'))

let server: ChildProcess
let dir: string
let url: string
let nc: NatsConnection

async function startServer(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'sync-orocrm-nats-'))
  const port = 20000 + Math.floor(Math.random() * 20000)
  url = `nats://127.0.0.1:${port}`
  server = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    try {
      nc = await connect({ servers: url })
      return
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  throw new Error(`nats-server did not start on ${url}`)
}

beforeAll(async () => {
  await startServer()
  const stream = json('streams/MERCATO_EVENTS.json')
  await (await jetstreamManager(nc)).streams.add(stream)
})

afterAll(async () => {
  await nc?.close()
  server?.kill()
  rmSync(dir, { recursive: true, force: true })
})

// run consumes with the contract's consumer (under another durable name per test) until until() holds.
async function run(durable: string, h: Omit<Handler, 'idle'>, until: (caughtUp: boolean) => boolean) {
  const ctl = new AbortController()
  const config = { ...MERCATO_CONSUMER, durable_name: durable, max_deliver: 3 }
  const idles: boolean[] = []
  await consume({ servers: url, config, log: () => {} }, {
    ...h,
    async idle(c) { idles.push(c); if (until(c)) ctl.abort() },
  }, ctl.signal)
  return idles
}

// settled: the consumer's state once the server has processed the terminations sent before the connection drained.
async function settled(durable: string) {
  const jsm = await jetstreamManager(nc)
  for (let i = 0; ; i++) {
    const info = await jsm.consumers.info(STREAM, durable)
    if (info.num_ack_pending === 0 || i === 50) return info
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function publish(n: number, prefix: string) {
  const js = jetstream(nc)
  for (let i = 0; i < n; i++) await js.publish(`mercato.events.${prefix}.customers.person.updated.${i}`, JSON.stringify({ i }))
}

describe('MERCATO_EVENTS consumer', () => {
  it("is the consumer orosync's contract defines", () => {
    expect(MERCATO_CONSUMER).toEqual(json('consumers/MERCATO_EVENTS/mercato.json'))
  })

  it('creates its durable consumer from the contract and acknowledges each message after handling it', async () => {
    await publish(5, 'ack')
    const seen: string[] = []
    await run('t-ack', { async handle(d) { if (d.subject.includes('.ack.')) seen.push(d.subject) }, async failed() {} }, () => seen.length >= 5)
    expect(seen).toHaveLength(5)
    const info = await (await jetstreamManager(nc)).consumers.info(STREAM, 't-ack')
    expect(info.config.ack_policy).toBe('explicit')
    expect(info.num_ack_pending).toBe(0)
  })

  it('resumes where it left off: acknowledged messages are not handled again', async () => {
    const first: string[] = []
    await run('t-resume', { async handle(d) { first.push(d.subject) }, async failed() {} }, (c) => c)
    await publish(2, 'resume')
    const second: string[] = []
    await run('t-resume', { async handle(d) { second.push(d.subject) }, async failed() {} }, (c) => c && second.length >= 2)
    expect(second).toEqual(['mercato.events.resume.customers.person.updated.0', 'mercato.events.resume.customers.person.updated.1'])
    expect(first).not.toContain(second[0])
  })

  it('hands one record\'s messages over in order while other records go in parallel', async () => {
    const js = jetstream(nc)
    for (const action of ['created', 'updated', 'deleted']) {
      for (const id of ['a', 'b', 'c']) await js.publish(`mercato.events.order.customers.person.${action}.${id}`, '{}')
    }
    const seen: string[] = []
    let inFlight = 0
    let maxInFlight = 0
    await run('t-order', {
      async handle(d) {
        if (!d.subject.includes('.order.')) return
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        await new Promise((r) => setTimeout(r, 20))
        seen.push(d.subject.split('.').slice(5).join('.'))
        inFlight--
      },
      async failed() {},
    }, () => seen.length >= 9)
    for (const id of ['a', 'b', 'c']) {
      expect(seen.filter((s) => s.endsWith(`.${id}`))).toEqual([`created.${id}`, `updated.${id}`, `deleted.${id}`])
    }
    expect(maxInFlight).toBeGreaterThan(1)
  })

  it('redelivers a message whose handling failed, and handles it once it succeeds', async () => {
    await publish(1, 'retry')
    const tries: Delivery[] = []
    let done = false
    await run('t-retry', {
      async handle(d) {
        if (!d.subject.includes('.retry.')) return
        tries.push(d)
        if (tries.length === 1) throw new Error('database went away')
        done = true
      },
      async failed() {},
    }, () => done)
    expect(tries.map((d) => d.deliveryCount)).toEqual([1, 2])
  })

  it('terminates and reports a message that can never be handled, and one that failed max_deliver times', async () => {
    await publish(2, 'bad')
    const failed: [string, string][] = []
    await run('t-bad', {
      async handle(d) {
        if (d.subject.endsWith('.bad.customers.person.updated.0')) throw new PlanError(d.subject, 'payload.id: want a uuid')
        if (d.subject.endsWith('.bad.customers.person.updated.1')) throw new Error('always broken')
      },
      async failed(d, reason) { failed.push([d.subject.split('.').pop()!, reason]) },
    }, () => failed.length >= 2)
    expect(failed).toEqual([
      ['0', expect.stringContaining('payload.id: want a uuid')],
      ['1', 'always broken'],
    ])
    // Neither comes back: nothing waits for an acknowledgement or a delivery.
    const info = await settled('t-bad')
    expect(info.num_ack_pending).toBe(0)
    expect(info.num_pending).toBe(0)
  })
})
