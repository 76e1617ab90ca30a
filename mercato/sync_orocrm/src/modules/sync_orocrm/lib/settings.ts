// Deployment settings: the env preset (OM_INTEGRATION_OROCRM_*) and the Oro URL the External IDs panel links to.
// buildExternalUrl gets only the external id, so the URL comes from the environment or from the credentials the
// process last read (health checks and the preset read them).

export const ENV = {
  oroUrl: 'OM_INTEGRATION_OROCRM_URL',
  orosyncUrl: 'OM_INTEGRATION_OROCRM_OROSYNC_URL',
  natsUrl: 'OM_INTEGRATION_OROCRM_NATS_URL',
} as const

const KEY = '__orosyncSyncOrocrmOroUrl__'

export function rememberOroUrl(url: string): void {
  if (url.trim()) (globalThis as Record<string, unknown>)[KEY] = url.trim()
}

export function oroUrl(): string | undefined {
  return process.env[ENV.oroUrl]?.trim() || ((globalThis as Record<string, unknown>)[KEY] as string | undefined)
}

export type Preset = { oroUrl: string; orosyncUrl: string }

export function readPreset(env: Record<string, string | undefined> = process.env): Preset | null {
  const o = env[ENV.oroUrl]?.trim()
  const s = env[ENV.orosyncUrl]?.trim()
  return o && s ? { oroUrl: o, orosyncUrl: s } : null
}
