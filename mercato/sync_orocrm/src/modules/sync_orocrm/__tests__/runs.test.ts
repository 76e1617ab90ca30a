import { describe, expect, it } from 'vitest'
import { Runs } from '../lib/runs'

const A = { tenantId: 't', organizationId: 'o' }

describe('sync runs', () => {
  it('opens a run with the first change, adds counts as they come, finishes when caught up and quiet', () => {
    const r = new Runs(5000)
    r.record(A, 'customers.person', 'created', 0)
    r.record(A, 'customers.person', 'created', 10)
    expect(r.steps(20, false)).toEqual([{ op: 'create', key: 't|o|customers.person', scope: A, entityType: 'customers.person' }])
    r.bind('t|o|customers.person', 'run-1')
    r.record(A, 'customers.person', 'deleted', 30)
    const add = r.steps(40, true)
    expect(add).toEqual([{ op: 'add', key: 't|o|customers.person', runId: 'run-1', scope: A, delta: { created: 2, updated: 0, deleted: 1, failed: 0 }, lastError: undefined }])
    r.written('t|o|customers.person', { created: 2, updated: 0, deleted: 1, failed: 0 })
    expect(r.steps(1000, true)).toEqual([]) // caught up, not quiet long enough
    expect(r.steps(6000, false)).toEqual([]) // quiet, not caught up
    expect(r.steps(6000, true)).toEqual([
      { op: 'finish', key: 't|o|customers.person', runId: 'run-1', scope: A, entityType: 'customers.person', counts: { created: 2, updated: 0, deleted: 1, failed: 0 }, status: 'completed', seconds: 0 },
    ])
    expect(r.size).toBe(0)
  })

  it('keeps a run per scope and entity type', () => {
    const r = new Runs(0)
    r.record(A, 'customers.person', 'created', 0)
    r.record(A, 'customers.company', 'created', 0)
    r.record({ tenantId: 't2', organizationId: 'o' }, 'customers.person', 'updated', 0)
    expect(r.steps(0, false).map((s) => s.key)).toEqual(['t|o|customers.person', 't|o|customers.company', 't2|o|customers.person'])
  })

  it('a run whose every change failed ends failed, with the last error carried to the counts', () => {
    const r = new Runs(0)
    r.record(A, 'customers.deal', 'failed', 0, 'payload.id: want a uuid')
    r.steps(0, true)
    r.bind('t|o|customers.deal', 'run-2')
    const [add] = r.steps(0, true)
    expect(add).toMatchObject({ op: 'add', lastError: 'payload.id: want a uuid', delta: { failed: 1 } })
    r.written('t|o|customers.deal', { created: 0, updated: 0, deleted: 0, failed: 1 })
    expect(r.steps(1, true)).toMatchObject([{ op: 'finish', status: 'failed' }])
  })
})
