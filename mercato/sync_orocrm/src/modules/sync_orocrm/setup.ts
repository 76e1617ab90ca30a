import { applyPreset, type PresetServices } from './lib/preset'

type SetupContext = { tenantId: string; organizationId: string; container: { resolve<T>(name: string): T } }

// On tenant set-up, configure the integration from OM_INTEGRATION_OROCRM_* when the deployment sets them.
export const setup = {
  async seedDefaults({ tenantId, organizationId, container }: SetupContext) {
    const services: PresetServices = {
      integrationCredentialsService: container.resolve('integrationCredentialsService'),
      integrationStateService: container.resolve('integrationStateService'),
    }
    try {
      await applyPreset(services, { tenantId, organizationId })
    } catch (err) {
      console.warn('[sync_orocrm] env preset not applied:', err instanceof Error ? err.message : err)
    }
  },
}

export default setup
