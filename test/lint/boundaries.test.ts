// The module boundaries in eslint.config.js fire on each forbidden edge and on a cycle, stay quiet
// on allowed edges, and hold on the real tree. ESLint's own API with the project's own config.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'

const root = fileURLToPath(new URL('../..', import.meta.url))
const BOUNDARY_RULES = new Set(['import-x/no-cycle', 'import-x/no-restricted-paths', 'no-restricted-imports', 'no-restricted-syntax'])

// These rules need no type information: without the project service a fixture path need not exist
// on disk, and the whole tree takes seconds. Everything else is the config `npm run lint` uses.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => BOUNDARY_RULES.has(ruleId),
})

/** The rule ids reported for `code` linted as if it were `filePath`, sorted; a parse failure shows as `fatal`. */
async function fired(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath), warnIgnored: true })
  if (!result) throw new Error('no lint result')
  return result.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`).sort()
}

/** A real module in `dir`, as an import specifier relative to a sibling directory: other work renames files. */
function moduleIn(dir: string): string {
  const file = readdirSync(join(root, dir)).find((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  if (!file) throw new Error(`no module in ${dir}`)
  return `../${dir.split('/').at(-1)}/${file.replace(/\.ts$/, '.js')}`
}

const PATHS = ['import-x/no-restricted-paths']
const IMPORTS = ['no-restricted-imports']
const SYNTAX = ['no-restricted-syntax']

t.test('the SDK, shared module included, imports no host code', async (t) => {
  t.same(await fired('sdk/src/lint-fixture.ts', "import { loadConfig } from '../../src/config.js'\nexport const f = loadConfig\n"), PATHS)
  t.same(await fired('sdk/src/shared/lint-fixture.ts', "export { loadConfig } from '../../../src/config.js'\n"), PATHS)
  t.same(await fired('sdk/src/node/lint-fixture.ts', "export const m = await import('../../../src/server.js')\n"), PATHS, 'dynamic import too')
  t.same(await fired('sdk/src/lint-fixture.ts', "import { encodeBase64 } from './shared/index.js'\nexport const f = encodeBase64\n"), [], 'the SDK may use its own modules')
})

t.test('the shared module imports nothing of Node, no packages, nothing of the rest of the SDK', async (t) => {
  const at = 'sdk/src/shared/lint-fixture.ts'
  t.same(await fired(at, "import { readFileSync } from 'node:fs'\nexport const f = readFileSync\n"), IMPORTS, 'node: built-in')
  t.same(await fired(at, "import { EventEmitter } from 'events'\nexport const E = EventEmitter\n"), IMPORTS, 'bare built-in')
  t.same(await fired(at, "import type { WebSocket } from 'ws'\nexport type W = WebSocket\n"), IMPORTS, 'type-only package import')
  t.same(await fired(at, "import nacl from 'tweetnacl'\nexport const n = nacl\n"), IMPORTS, 'package')
  t.same(await fired(at, "export * from '@rag-session-host/client/shared'\n"), IMPORTS, 'its own package by name')
  t.same(await fired(at, "export const m = await import('node:crypto')\n"), SYNTAX, 'dynamic import')
  t.same(await fired(at, "export { installPlatform } from '../platform.js'\n"), PATHS, 'SDK modules outside shared/')
  t.same(await fired(at, "import { encodeBase64 } from './encoding.js'\nexport const f = encodeBase64\n"), [], 'its own modules are fine')
})

for (const layer of ['sessions', 'vectors', 'journal']) {
  t.test(`src/${layer} imports nothing of dispatch, transport, ops, fastify or ws`, async (t) => {
    const at = `src/${layer}/lint-fixture.ts`
    for (const dir of ['src/dispatch', 'src/transport', 'src/ops']) {
      t.same(await fired(at, `export * from '${moduleIn(dir)}'\n`), PATHS, dir)
    }
    t.same(await fired(at, `export const m = await import('${moduleIn('src/transport')}')\n`), PATHS, 'dynamic import of transport')
    for (const pkg of ['fastify', '@fastify/websocket', 'ws']) {
      t.same(await fired(at, `import x from '${pkg}'\nexport const y = x\n`), IMPORTS, pkg)
    }
    t.same(await fired(at, "import type { WebSocket } from 'ws'\nexport type W = WebSocket\n"), IMPORTS, 'type-only ws')
    t.same(await fired(at, "export const m = await import('fastify')\n"), SYNTAX, 'dynamic import of fastify')
    t.same(
      await fired(at, "import { badRequest } from '../protocol/errors.js'\nimport type { Logger } from 'pino'\nexport const f = badRequest\nexport type L = Logger\n"),
      [],
      'protocol and pino are fine',
    )
  })
}

t.test('src/crypto imports nothing of sessions, dispatch or transport', async (t) => {
  const at = 'src/crypto/lint-fixture.ts'
  for (const dir of ['src/sessions', 'src/dispatch', 'src/transport']) {
    t.same(await fired(at, `export * from '${moduleIn(dir)}'\n`), PATHS, dir)
  }
  t.same(await fired(at, "export { startWorker } from '../util/worker-file.js'\nexport * from '@rag-session-host/client/shared'\n"), [], 'util and the shared module are fine')
  t.same(
    await fired('src/dispatch/lint-fixture.ts', `export * from '${moduleIn('src/sessions')}'\nexport * from '${moduleIn('src/crypto')}'\n`),
    [],
    'dispatch may use sessions and crypto',
  )
})

t.test('an import cycle fails, also through the workspace package name', async (t) => {
  // A module that the shared index re-exports: importing the index back from it closes a cycle.
  const member = /from '\.\/([\w-]+)\.js'/.exec(readFileSync(join(root, 'sdk/src/shared/index.ts'), 'utf8'))?.[1]
  if (!member) throw new Error('sdk/src/shared/index.ts re-exports nothing')
  const at = `sdk/src/shared/${member}.ts`
  t.same(await fired(at, "export * from './index.js'\n"), ['import-x/no-cycle'], 'relative')
  // Only a resolver that follows the `rsh-source` condition to sdk/src sees this one; sdk/dist would hide it.
  t.same(await fired(at, "export * from '@rag-session-host/client/shared'\n"), ['import-x/no-cycle', 'no-restricted-imports'], 'by package name')
})

t.test('the real tree keeps every boundary', async (t) => {
  const results = await eslint.lintFiles(['.'])
  const linted = results.map((r) => relative(root, r.filePath))
  for (const dir of ['src/sessions/', 'src/vectors/', 'src/journal/', 'src/crypto/', 'sdk/src/shared/', 'test/']) {
    t.ok(
      linted.some((f) => f.startsWith(dir)),
      `${dir} is linted`,
    )
  }
  const problems = results.flatMap((r) => r.messages.map((m) => `${relative(root, r.filePath)}:${m.line} ${m.ruleId ?? 'fatal'}: ${m.message}`))
  t.same(problems, [])
})
