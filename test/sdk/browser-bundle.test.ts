// The SDK's browser entry bundled as a browser app's bundler would
// (esbuild, platform 'browser'): no Node built-in may be left in its import
// graph or in the output, and nothing may stay external.
import t from 'tap'
import { build } from 'esbuild'
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../../sdk/src/index.browser.ts', import.meta.url))
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))
const isBuiltin = (path: string): boolean => path.startsWith('node:') || builtins.has(path) || builtins.has(path.split('/')[0] ?? '')

const result = await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  write: false,
  metafile: true,
  logLevel: 'silent',
})

t.test('the import graph holds no Node built-in and nothing external', async (t) => {
  const inputs = Object.entries(result.metafile.inputs)
  t.ok(
    inputs.some(([path]) => path.endsWith('sdk/src/index.browser.ts')),
    'the browser entry was bundled',
  )
  t.ok(
    inputs.some(([path]) => path.includes('node_modules/tweetnacl/')),
    'tweetnacl is bundled in',
  )
  const imports = inputs.flatMap(([from, input]) => input.imports.map((i) => ({ from, ...i })))
  t.ok(imports.length > 10, 'the graph has its imports')
  t.same(
    imports.filter((i) => isBuiltin(i.path)),
    [],
    'no import resolves to a Node built-in',
  )
  // tweetnacl's guarded require('crypto') (its Node fallback for random
  // bytes) is emptied by tweetnacl's own package.json "browser" field.
  t.same(
    imports.filter((i) => i.original !== undefined && isBuiltin(i.original)).map((i) => `${i.from} ${i.original} -> ${i.path}`),
    ['node_modules/tweetnacl/nacl-fast.js crypto -> (disabled):crypto'],
    'the one built-in named in a source is disabled for browsers',
  )
  // '<runtime>' is esbuild's own helper code, always inlined.
  t.same(
    imports.filter((i) => i.external && i.path !== '<runtime>'),
    [],
    'no import is left external',
  )
  t.same(
    inputs.map(([path]) => path).filter((p) => p.includes('sdk/src/node/') || p.includes('node_modules/ws/')),
    [],
    'neither the Node platform nor ws is in it',
  )
  t.same(result.warnings, [], 'esbuild had nothing to warn about')
})

t.test('the bundle text requires and imports nothing', async (t) => {
  t.equal(result.outputFiles.length, 1)
  const text = result.outputFiles[0]?.text ?? ''
  t.ok(text.length > 10_000, 'the bundle has the SDK in it')
  t.notMatch(text, /\brequire\d*\(\s*['"]/, 'no require() of a module')
  t.notMatch(text, /['"]node:/, 'no node: specifier')
  t.notMatch(text, /^\s*import\s[^;]*\sfrom\s*['"]/m, 'no static import')
  t.notMatch(text, /\bimport\(\s*['"]/, 'no dynamic import')
  t.match(text, /^export\s*\{[^}]*\bSessionClient,/m, 'SessionClient is exported')
})
