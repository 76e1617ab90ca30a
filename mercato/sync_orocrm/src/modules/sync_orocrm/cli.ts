import { consume, MERCATO_CONSUMER } from './lib/consumer'
import { applyPreset } from './lib/preset'
import { ENV } from './lib/settings'
import { handler, type Services } from './lib/sync'

type Cli = { command: string; run(args: string[]): Promise<void> }
type Container = { resolve<T>(name: string): T; dispose?: () => Promise<void> }

async function requestContainer(): Promise<Container> {
  const { createRequestContainer } = (await import('@open-mercato/shared/lib/di/container')) as unknown as {
    createRequestContainer(): Promise<Container>
  }
  return createRequestContainer()
}

function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (i < 0) return undefined
  return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1]
}

const HELP = `Usage:
  yarn mercato sync_orocrm consume [--nats-url URL] [--durable NAME] [--quiet-ms MS]
      Consume orosync's MERCATO_EVENTS: index each changed record, emit its event on Mercato's bus (persistent,
      syncOrigin sync_orocrm), and record Oro sync runs. Runs until SIGINT/SIGTERM. NATS URL: --nats-url or
      ${ENV.natsUrl} (default nats://127.0.0.1:4222).
  yarn mercato sync_orocrm configure-from-env --tenant ID --org ID
      Save credentials from ${ENV.oroUrl} and ${ENV.orosyncUrl} and enable the integration.`

const consumeCommand: Cli = {
  command: 'consume',
  async run(args) {
    if (args.includes('-h') || args.includes('--help')) return console.log(HELP)
    const config: { durable_name: string; max_deliver?: number } & Record<string, unknown> = { ...MERCATO_CONSUMER }
    const durable = flag(args, 'durable')
    if (durable) config.durable_name = durable
    const servers = flag(args, 'nats-url') ?? process.env[ENV.natsUrl] ?? 'nats://127.0.0.1:4222'
    const quietMs = Number(flag(args, 'quiet-ms') ?? 5000)
    const ctl = new AbortController()
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ctl.abort())
    const services = async (): Promise<Services> => {
      const c = await requestContainer()
      return { eventBus: c.resolve('eventBus'), dataSyncRunService: c.resolve('dataSyncRunService'), integrationLogService: c.resolve('integrationLogService') }
    }
    console.log(`[sync_orocrm] consuming MERCATO_EVENTS on ${servers} as ${config.durable_name}`)
    await consume({ servers, config, log: (s) => console.log(s) }, handler(services, quietMs, (s) => console.log(s)), ctl.signal)
  },
}

const configureFromEnvCommand: Cli = {
  command: 'configure-from-env',
  async run(args) {
    const tenantId = flag(args, 'tenant') ?? ''
    const organizationId = flag(args, 'org') ?? ''
    if (!tenantId || !organizationId) return console.log(HELP)
    const c = await requestContainer()
    const ok = await applyPreset(
      { integrationCredentialsService: c.resolve('integrationCredentialsService'), integrationStateService: c.resolve('integrationStateService') },
      { tenantId, organizationId },
    )
    console.log(ok ? '[sync_orocrm] configured from env' : `[sync_orocrm] ${ENV.oroUrl} and ${ENV.orosyncUrl} are not both set`)
  },
}

export default [consumeCommand, configureFromEnvCommand, { command: 'help', run: async () => console.log(HELP) }]
