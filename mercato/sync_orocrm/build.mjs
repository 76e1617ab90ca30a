// Compiles src/**/*.ts(x) to dist/ as ES modules, file by file (no bundling), the layout Mercato's own module
// packages ship and its module registry imports (`<package>/modules/<id>/<file>`).
import { build } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return name === '__tests__' ? [] : sources(p)
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : []
  })
}

// Node's ES modules need file extensions; the sources import relative files without them, as Mercato's modules do
// (Next's bundler resolves them), so the build adds `.js` (or `/index.js`) to every relative specifier.
const addJsExtension = {
  name: 'add-js-extension',
  setup(b) {
    b.onEnd((result) => {
      for (const f of result.outputFiles ?? []) {
        const text = f.text.replace(/(from\s*|import\s*\(\s*)(["'])(\.{1,2}\/[^"']*?)\2/g, (m, lead, q, spec) => {
          if (/\.(js|json|mjs)$/.test(spec)) return m
          const target = join(dirname(f.path.replace(/[\\/]dist[\\/]/, '/src/')), spec)
          const dir = existsSync(target) && statSync(target).isDirectory()
          return `${lead}${q}${spec}${dir ? '/index.js' : '.js'}${q}`
        })
        mkdirSync(dirname(f.path), { recursive: true })
        writeFileSync(f.path, text)
      }
    })
  },
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
  write: false,
  plugins: [addJsExtension],
})

