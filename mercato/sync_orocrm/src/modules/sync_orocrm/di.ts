import { asValue, type AwilixContainer } from 'awilix'
import { orocrmHealthCheck } from './lib/health'

// Registers the health check service the integration names; Mercato's health service resolves it by name.
export function register(container: AwilixContainer) {
  container.register({ orocrmHealthCheck: asValue(orocrmHealthCheck) })
}
