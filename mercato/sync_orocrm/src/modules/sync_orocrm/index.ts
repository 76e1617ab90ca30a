export const metadata = {
  id: 'sync_orocrm',
  title: 'OroCRM Sync',
  description: 'orosync inside Mercato: synced Oro records indexed, searchable and announced on the event bus, Oro sync runs in data sync.',
  ejectable: true,
  requires: ['integrations', 'data_sync', 'customers', 'query_index'],
}
