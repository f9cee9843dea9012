// Builds src/ into one UMD-style script for JBrowse 2's plugin loader, which runs it with a
// <script> tag and reads its default export from `window.JBrowsePluginPopgenHub`.
//
// Like the official plugins (jbrowse-plugin-template), every module JBrowse re-exports
// (@jbrowse/core/ReExports/list: react, mobx, @mui, @jbrowse/core/...) is taken from the
// host's `JBrowseExports` global, never bundled: a plugin must share the host's React and
// MobX instances. The template's own setup step downloads from GitHub, hence this script.
import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import * as esbuild from 'esbuild'
import reExported from '@jbrowse/core/ReExports/list'

const here = dirname(fileURLToPath(import.meta.url))
const outfile = resolve(
  here,
  process.argv[2] ?? '../../hub/browsers/static/jbrowse/popgen-hub-plugin.js',
)
const hosted = new Set(reExported)
const core = JSON.parse(
  readFileSync(resolve(here, 'node_modules/@jbrowse/core/package.json'), 'utf8'),
)

/** Resolves a re-exported module to `JBrowseExports[name]` instead of its source. */
const fromHost = {
  name: 'jbrowse-reexports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, args =>
      hosted.has(args.path) ? { path: args.path, namespace: 'jbrowse-host' } : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'jbrowse-host' }, args => ({
      contents: `module.exports = JBrowseExports[${JSON.stringify(args.path)}]`,
      loader: 'js',
    }))
  },
}

mkdirSync(dirname(outfile), { recursive: true })
const started = performance.now()
await esbuild.build({
  entryPoints: [resolve(here, 'src/index.ts')],
  bundle: true,
  format: 'iife',
  globalName: 'JBrowsePluginPopgenHub',
  target: 'es2020',
  minify: false,
  legalComments: 'none',
  banner: {
    js:
      `/* popgen-hub's JBrowse 2 plugin, built by browsers/jbrowse/build.mjs against ` +
      `@jbrowse/core ${core.version} */`,
  },
  plugins: [fromHost],
  outfile,
  logLevel: 'warning',
})
console.log(
  `${outfile}: ${statSync(outfile).size} bytes in ` +
    `${((performance.now() - started) / 1000).toFixed(2)} s`,
)
