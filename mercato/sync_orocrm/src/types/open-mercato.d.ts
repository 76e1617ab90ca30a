// Mercato's modules the package imports at run time inside a Mercato app (resolved there, not installed here).
declare module '@open-mercato/shared/lib/di/container' {
  export function createRequestContainer(): Promise<{ resolve<T>(name: string): T }>
}
declare module '@open-mercato/shared/lib/encryption/find' {
  export function findWithDecryption<T>(em: unknown, entity: unknown, where: Record<string, unknown>, options?: unknown, scope?: unknown): Promise<T[]>
}
declare module '@open-mercato/core/modules/integrations/data/entities' {
  export class SyncExternalIdMapping {}
}
declare module '@mikro-orm/postgresql' {
  export interface EntityManager { fork(): EntityManager }
}
