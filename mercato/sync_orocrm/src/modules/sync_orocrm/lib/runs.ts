// Sync runs as Mercato's data-sync views show them, from the changes orosync delivers: a run per Mercato scope and
// entity type opens with the first change after a quiet spell, counts what was created, updated, deleted and what
// failed, and completes once the consumer has caught up and nothing arrived for the quiet period. Pure: it says
// which rows to create and update; the caller writes them through Mercato's dataSyncRunService.

export type Scope = { tenantId: string; organizationId: string }
export type Counts = { created: number; updated: number; deleted: number; failed: number }
export type Outcome = keyof Counts

type Run = {
  key: string
  scope: Scope
  entityType: string
  runId?: string
  counts: Counts
  written: Counts
  startedAt: number
  lastAt: number
  lastError?: string
}

export type Step =
  | { op: 'create'; key: string; scope: Scope; entityType: string }
  | { op: 'add'; key: string; runId: string; scope: Scope; delta: Counts; lastError?: string }
  | { op: 'finish'; key: string; runId: string; scope: Scope; entityType: string; counts: Counts; status: 'completed' | 'failed'; seconds: number }

const zero = (): Counts => ({ created: 0, updated: 0, deleted: 0, failed: 0 })

export class Runs {
  private open = new Map<string, Run>()

  constructor(private readonly quietMs: number) {}

  record(scope: Scope, entityType: string, outcome: Outcome, at: number, error?: string): void {
    const key = `${scope.tenantId}|${scope.organizationId}|${entityType}`
    let run = this.open.get(key)
    if (!run) {
      run = { key, scope, entityType, counts: zero(), written: zero(), startedAt: at, lastAt: at }
      this.open.set(key, run)
    }
    run.counts[outcome]++
    run.lastAt = at
    if (error) run.lastError = error
  }

  // bind remembers the id of the row a create step made.
  bind(key: string, runId: string): void {
    const run = this.open.get(key)
    if (run) run.runId = runId
  }

  // written marks an add step as stored, so the next steps carry only what came after it.
  written(key: string, delta: Counts): void {
    const run = this.open.get(key)
    if (!run) return
    for (const k of Object.keys(delta) as Outcome[]) run.written[k] += delta[k]
  }

  // steps: rows to create, counts to add, and runs to finish (caught up and quiet for quietMs). A finished run is
  // forgotten once its steps are returned; the next change opens a new one.
  steps(now: number, caughtUp: boolean): Step[] {
    const out: Step[] = []
    for (const run of this.open.values()) {
      if (!run.runId) {
        out.push({ op: 'create', key: run.key, scope: run.scope, entityType: run.entityType })
        continue
      }
      const delta = zero()
      let changed = false
      for (const k of Object.keys(delta) as Outcome[]) {
        delta[k] = run.counts[k] - run.written[k]
        changed ||= delta[k] !== 0
      }
      if (changed) out.push({ op: 'add', key: run.key, runId: run.runId, scope: run.scope, delta, lastError: run.lastError })
      if (caughtUp && now - run.lastAt >= this.quietMs && !changed) {
        const c = run.counts
        const status = c.failed > 0 && c.created + c.updated + c.deleted === 0 ? 'failed' : 'completed'
        out.push({
          op: 'finish', key: run.key, runId: run.runId, scope: run.scope, entityType: run.entityType, counts: { ...c },
          status, seconds: Math.round((run.lastAt - run.startedAt) / 1000),
        })
        this.open.delete(run.key)
      }
    }
    return out
  }

  get size(): number {
    return this.open.size
  }
}
