// The integration's health check: asks orosync itself (its metrics endpoint, OROSYNC_METRICS_ADDR) how the sync is.
import { health, parseMetrics, progress, type Health } from './metrics'
import { rememberOroUrl } from './settings'

export type Fetch = (url: string, init?: { signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>

export function metricsUrl(orosyncUrl: string): string {
  const base = orosyncUrl.trim().replace(/\/+$/, '')
  return base.endsWith('/metrics') ? base : `${base}/metrics`
}

export async function checkOrosync(credentials: Record<string, unknown> | null, fetchFn: Fetch = fetch, timeoutMs = 5000): Promise<Health> {
  if (typeof credentials?.oroUrl === 'string') rememberOroUrl(credentials.oroUrl)
  const url = typeof credentials?.orosyncUrl === 'string' ? credentials.orosyncUrl : ''
  if (!url) return { status: 'unhealthy', message: 'orosync URL is not configured', details: {} }
  try {
    const res = await fetchFn(metricsUrl(url), { signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) return { status: 'unhealthy', message: `orosync answered ${res.status} at ${metricsUrl(url)}`, details: { status: res.status } }
    return health(progress(parseMetrics(await res.text())))
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    return { status: 'unhealthy', message: `orosync is not reachable at ${metricsUrl(url)}: ${message}`, details: { error: message } }
  }
}

export const orocrmHealthCheck = {
  check: (credentials: Record<string, unknown> | null) => checkOrosync(credentials),
}
