// orosync's progress and health as its /metrics endpoint (Prometheus text format) reports them. Pure.

export type Sample = { name: string; labels: Record<string, string>; value: number }

// parseMetrics reads the text exposition format: `name{label="v",...} value [timestamp]`, comments skipped.
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    const value = Number(m[4])
    if (!Number.isNaN(value) || m[4] === 'NaN') out.push({ name: m[1], labels, value })
  }
  return out
}

function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((acc, s) => acc + s.value, 0)
}

export type Progress = {
  records: { created: number; updated: number; deleted: number; conflict: number }
  deadLetters: number
  relayFailures: number
  breakersTripped: string[]
  // poller runs per type: done of total records of the run in progress (or the last one)
  runs: { tenant: string; type: string; done: number; total: number }[]
}

export function progress(samples: Sample[]): Progress {
  const runs = new Map<string, { tenant: string; type: string; done: number; total: number }>()
  for (const s of samples) {
    if (s.name !== 'orosync_poller_run_total_records' && s.name !== 'orosync_poller_run_done_records') continue
    const key = `${s.labels.tenant ?? ''}/${s.labels.type ?? ''}`
    const r = runs.get(key) ?? { tenant: s.labels.tenant ?? '', type: s.labels.type ?? '', done: 0, total: 0 }
    if (s.name.endsWith('total_records')) r.total = s.value
    else r.done = s.value
    runs.set(key, r)
  }
  return {
    records: {
      created: sum(samples, 'orosync_writer_records_total', { outcome: 'created' }),
      updated: sum(samples, 'orosync_writer_records_total', { outcome: 'updated' }),
      deleted: sum(samples, 'orosync_writer_records_total', { outcome: 'deleted' }),
      conflict: sum(samples, 'orosync_writer_records_total', { outcome: 'conflict' }),
    },
    deadLetters: sum(samples, 'orosync_writer_dead_letters_total') + sum(samples, 'orosync_transformer_dead_letters_total'),
    relayFailures: sum(samples, 'orosync_writer_relay_failures_total'),
    breakersTripped: samples
      .filter((s) => s.name === 'orosync_reconciler_breaker_tripped' && s.value > 0)
      .map((s) => `${s.labels.tenant ?? ''}/${s.labels.type ?? ''}`),
    runs: [...runs.values()].sort((a, b) => `${a.tenant}/${a.type}`.localeCompare(`${b.tenant}/${b.type}`)),
  }
}

export type Health = { status: 'healthy' | 'degraded' | 'unhealthy'; message: string; details: Record<string, unknown> }

// health judges orosync from its metrics: a tripped mass-delete breaker holds deletes back (degraded); dead letters
// are records Oro sent that could not be applied (reported, not a failure of the sync itself).
export function health(p: Progress): Health {
  const details = { records: p.records, deadLetters: p.deadLetters, relayFailures: p.relayFailures, pollerRuns: p.runs }
  if (p.breakersTripped.length > 0) {
    return {
      status: 'degraded',
      message: `orosync's mass-delete breaker is tripped for ${p.breakersTripped.join(', ')}: deletes wait for \`orosync reconcile --confirm\``,
      details: { ...details, breakersTripped: p.breakersTripped },
    }
  }
  const { created, updated, deleted } = p.records
  return {
    status: 'healthy',
    message: `orosync is running: ${created} created, ${updated} updated, ${deleted} deleted, ${p.deadLetters} dead letters`,
    details,
  }
}
