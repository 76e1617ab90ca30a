// Prints the module's source files that Mercato's Next build compiles: what the generated registries import
// (index, di, setup, integration, data/enrichers) and, transitively, their relative imports. A change elsewhere (the consumer,
// its CLI command) reaches Mercato through `mercato` CLI processes alone and needs no new `next build`.
// Run in the module's folder (esbuild from its node_modules).
import { createRequire } from 'node:module'

const { build } = createRequire(`${process.cwd()}/package.json`)('esbuild')
const entries = ['index.ts', 'di.ts', 'setup.ts', 'integration.ts', 'data/enrichers.ts'].map((f) => `src/modules/sync_orocrm/${f}`)
const r = await build({
  entryPoints: entries, bundle: true, write: false, metafile: true, packages: 'external',
  platform: 'node', format: 'esm', outdir: 'out', logLevel: 'silent',
})
console.log(Object.keys(r.metafile.inputs).sort().join('\n'))
