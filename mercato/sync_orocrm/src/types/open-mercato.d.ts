// Mercato's modules the package imports at run time inside a Mercato app (resolved there, not installed here).
declare module '@open-mercato/shared/lib/di/container' {
  export function createRequestContainer(): Promise<{ resolve<T>(name: string): T }>
}
