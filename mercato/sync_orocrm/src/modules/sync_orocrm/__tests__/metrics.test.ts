import { describe, expect, it } from 'vitest'
import { health, parseMetrics, progress } from '../lib/metrics'
import { checkOrosync } from '../lib/health'
import { createServer } from 'node:http'

// What orosync's /metrics serves (names and labels from its services' metrics), shortened.
const TEXT = `# HELP orosync_writer_records_total Records written by outcome.
# TYPE orosync_writer_records_total counter
orosync_writer_records_total{outcome="created"} 345
orosync_writer_records_total{outcome="updated"} 12
orosync_writer_records_total{outcome="deleted"} 1
orosync_writer_dead_letters_total 2
orosync_transformer_dead_letters_total 1
orosync_writer_relay_failures_total 0
orosync_poller_run_total_records{tenant="demo",type="contacts"} 345
orosync_poller_run_done_records{tenant="demo",type="contacts"} 300
orosync_reconciler_breaker_tripped{tenant="demo",type="contacts"} 0
`

describe('orosync metrics', () => {
  it('reads records by outcome, dead letters and poller progress', () => {
    const p = progress(parseMetrics(TEXT))
    expect(p.records).toEqual({ created: 345, updated: 12, deleted: 1, conflict: 0 })
    expect(p.deadLetters).toBe(3)
    expect(p.runs).toEqual([{ tenant: 'demo', type: 'contacts', done: 300, total: 345 }])
    expect(health(p).status).toBe('healthy')
  })
  it('a tripped breaker makes the sync degraded, naming the type', () => {
    const h = health(progress(parseMetrics(TEXT.replace('breaker_tripped{tenant="demo",type="contacts"} 0', 'breaker_tripped{tenant="demo",type="contacts"} 1'))))
    expect(h.status).toBe('degraded')
    expect(h.message).toContain('demo/contacts')
  })
  it('unescapes label values', () => {
    expect(parseMetrics('m{a="x\\"y\\\\z"} 1')[0].labels.a).toBe('x"y\\z')
  })
})

describe('health check', () => {
  it('asks orosync over HTTP: healthy when it answers, unhealthy naming the URL when it does not', async () => {
    const srv = createServer((req, res) => {
      if (req.url === '/metrics') { res.end(TEXT); return }
      res.statusCode = 404; res.end()
    })
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const port = (srv.address() as { port: number }).port
    try {
      expect((await checkOrosync({ orosyncUrl: `http://127.0.0.1:${port}` })).status).toBe('healthy')
      const bad = await checkOrosync({ orosyncUrl: `http://127.0.0.1:${port}/nope` })
      expect(bad.status).toBe('unhealthy')
      expect(bad.message).toContain('404')
    } finally {
      await new Promise((r) => srv.close(r))
    }
    const down = await checkOrosync({ orosyncUrl: `http://127.0.0.1:${port}` })
    expect(down.status).toBe('unhealthy')
    expect(down.message).toContain(`127.0.0.1:${port}/metrics`)
    expect((await checkOrosync({})).message).toContain('not configured')
  })
})
