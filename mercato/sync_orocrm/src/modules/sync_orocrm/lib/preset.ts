// The env preset (OM_INTEGRATION_OROCRM_URL, OM_INTEGRATION_OROCRM_OROSYNC_URL): credentials saved and the
// integration enabled for a tenant, as Mercato's providers do from setup.ts and a rerunnable CLI command.
import { readPreset, rememberOroUrl } from './settings'
import type { Scope } from './runs'

export type PresetServices = {
  integrationCredentialsService: { save(id: string, credentials: Record<string, unknown>, scope: Scope): Promise<void> }
  integrationStateService: { upsert(id: string, input: { isEnabled?: boolean }, scope: Scope): Promise<unknown> }
}

export async function applyPreset(s: PresetServices, scope: Scope, env: Record<string, string | undefined> = process.env): Promise<boolean> {
  const preset = readPreset(env)
  if (!preset) return false
  await s.integrationCredentialsService.save('sync_orocrm', { ...preset }, scope)
  await s.integrationStateService.upsert('sync_orocrm', { isEnabled: true }, scope)
  rememberOroUrl(preset.oroUrl)
  return true
}
