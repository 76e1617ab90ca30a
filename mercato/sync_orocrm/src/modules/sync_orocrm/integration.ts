import { externalUrl } from './lib/links'
import { oroUrl } from './lib/settings'

// Mercato's IntegrationDefinition (@open-mercato/shared/modules/integrations/types), the fields this one sets.
export type IntegrationDefinition = Record<string, unknown> & { id: string; title: string; buildExternalUrl?: (externalId: string) => string | undefined }

export const integration: IntegrationDefinition = {
  id: 'sync_orocrm',
  title: 'OroCRM',
  description: 'Keeps OroCRM contacts, accounts, leads, opportunities and activities in sync with Mercato customers through orosync.',
  category: 'data_sync',
  hub: 'data_sync',
  providerKey: 'orocrm',
  icon: 'database',
  package: '@orosync/sync-orocrm',
  version: '0.1.0',
  author: 'orosync',
  tags: ['orocrm', 'oro', 'crm', 'customers', 'contacts', 'deals'],
  buildExternalUrl: (externalId: string) => externalUrl(oroUrl(), externalId),
  credentials: {
    fields: [
      {
        key: 'oroUrl',
        label: 'OroCRM URL',
        type: 'url',
        required: true,
        placeholder: 'https://crm.example.com',
        helpText: 'The Oro back office (or its /api base): External IDs link to records there.',
      },
      {
        key: 'orosyncUrl',
        label: 'orosync metrics URL',
        type: 'url',
        required: true,
        placeholder: 'http://orosync:9464',
        helpText: "The address orosync serves its metrics on (OROSYNC_METRICS_ADDR); the health check asks it how the sync is.",
      },
    ],
  },
  healthCheck: { service: 'orocrmHealthCheck' },
}

export const integrations: IntegrationDefinition[] = [integration]
export const bundles: unknown[] = []
export const bundle: undefined = undefined
