// Compiles src/**/*.ts(x) to dist/ as ES modules, file by file (no bundling), the layout Mercato's own module
// packages ship and its module registry imports (`<package>/modules/<id>/<file>`).
import { build } from 'esbuild'
import { readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return name === '__tests__' ? [] : sources(p)
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : []
  })
}

rmSync('dist', { recursive: true, force: true })
await build({
  entryPoints: sources('src'),
  outdir: 'dist',
  outbase: 'src',
  format: 'esm',
  platform: 'node',
  target: 'node22',
  jsx: 'automatic',
  sourcemap: false,
  logLevel: 'warning',
})

