// The handler behind the consumer inside Mercato: each change goes to Mercato's event bus the way its own command
// would have sent it, and each sync run is written through Mercato's data-sync and integration-log services.
import type { Delivery, Handler } from './consumer'
import { plan, PlanError, SYNC_ORIGIN, type Plan } from './plan'
import { Runs, type Counts, type Scope, type Step } from './runs'

export const INTEGRATION_ID = SYNC_ORIGIN

// The few Mercato services the module uses, as it calls them (declared here, resolved from Mercato's container).
export type EventBus = {
  emitEvent(event: string, payload: Record<string, unknown>, options?: Record<string, unknown>): Promise<void>
}
export type SyncRunService = {
  createRun(input: { integrationId: string; entityType: string; direction: 'import'; triggeredBy?: string | null }, scope: Scope): Promise<{ id: string }>
  markStatus(runId: string, status: 'running' | 'completed' | 'failed', scope: Scope, error?: string): Promise<unknown>
  updateCounts(runId: string, delta: { createdCount?: number; updatedCount?: number; failedCount?: number; batchesCompleted?: number }, scope: Scope): Promise<unknown>
}
export type IntegrationLogService = {
  write(input: { integrationId: string; runId?: string | null; level: 'info' | 'warn' | 'error'; message: string; payload?: Record<string, unknown> | null }, scope: Scope): Promise<unknown>
}
export type Services = { eventBus: EventBus; dataSyncRunService: SyncRunService; integrationLogService: IntegrationLogService }

// apply emits what the command would have: the domain event (persistent, so the events worker runs Mercato's
// persistent subscribers: workflows, webhooks, notifications), then the query-index updates, awaited like the data
// engine awaits them (the index row is written before they return; search tokens follow right after).
export async function apply(bus: EventBus, p: Plan): Promise<void> {
  const scope = { tenantId: p.tenantId, organizationId: p.organizationId }
  await bus.emitEvent(p.event, p.payload, { persistent: true, ...scope })
  for (const op of p.index) await bus.emitEvent(op.event, op.payload, scope)
}

function decode(d: Delivery): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(d.data))
  } catch (err) {
    throw new PlanError(d.subject, `payload is not JSON: ${(err as Error).message}`)
  }
}

function scopeOf(body: unknown): Scope | null {
  const b = body as Record<string, unknown> | null
  return typeof b?.tenantId === 'string' && typeof b?.organizationId === 'string'
    ? { tenantId: b.tenantId, organizationId: b.organizationId }
    : null
}

function summary(c: Counts): string {
  return `${c.created} created, ${c.updated} updated, ${c.deleted} deleted, ${c.failed} failed`
}

async function writeStep(s: Services, runs: Runs, step: Step): Promise<void> {
  const svc = s.dataSyncRunService
  if (step.op === 'create') {
    const row = await svc.createRun({ integrationId: INTEGRATION_ID, entityType: step.entityType, direction: 'import', triggeredBy: 'orosync' }, step.scope)
    await svc.markStatus(row.id, 'running', step.scope)
    runs.bind(step.key, row.id)
  } else if (step.op === 'add') {
    const d = step.delta
    await svc.updateCounts(step.runId, { createdCount: d.created, updatedCount: d.updated, failedCount: d.failed, batchesCompleted: 1 }, step.scope)
    runs.written(step.key, d)
  } else {
    await svc.markStatus(step.runId, step.status, step.scope, step.status === 'failed' ? 'every change failed' : undefined)
    // Mercato's run has no deleted counter: the run's log entry carries every count.
    await s.integrationLogService.write({
      integrationId: INTEGRATION_ID, runId: step.runId, level: step.counts.failed > 0 ? 'warn' : 'info',
      message: `Oro sync of ${step.entityType} ${step.status} in ${step.seconds} s: ${summary(step.counts)}`,
      payload: { entityType: step.entityType, ...step.counts },
    }, step.scope)
  }
}

// handler wires plan, apply and runs to the consumer. services is called once per batch (a fresh request
// container, so one batch's entity manager does not grow for the life of the process).
export function handler(services: () => Promise<Services>, quietMs: number, log: (s: string) => void): Handler {
  const runs = new Runs(quietMs)
  let current: Promise<Services> | null = null
  const svc = () => (current ??= services())
  return {
    async handle(d) {
      const body = decode(d)
      const p = plan(d.subject, body)
      if (!p) return
      await apply((await svc()).eventBus, p)
      if (p.run) runs.record(p, p.run.entityType, p.run.action, Date.now())
    },
    async failed(d, reason) {
      let body: unknown = null
      try { body = decode(d) } catch { /* reported below without a scope */ }
      const scope = scopeOf(body)
      if (!scope) return log(`sync_orocrm: ${reason} (no tenant to report it to)`)
      runs.record(scope, d.subject.split('.').slice(3, 5).join('.'), 'failed', Date.now(), reason)
    },
    async idle(caughtUp) {
      if (runs.size === 0) { current = null; return }
      const s = await svc()
      for (const step of runs.steps(Date.now(), caughtUp)) await writeStep(s, runs, step)
      current = null
    },
  }
}
