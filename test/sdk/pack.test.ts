// The SDK as a new user gets it: `npm pack` (its prepack builds from scratch),
// then an install from the tarball into an empty project. Checks what the
// tarball holds, that the package imports in a plain Node process, that its
// types resolve for a Node and for a bundler (browser) project, and that the
// install pulls in nothing of the host and builds nothing.
//
// The pack runs on a copy of sdk/ (its package.json, tsconfig, README and
// src, with the repo's node_modules linked for the build tools), so it never
// rewrites sdk/dist while other test files may be reading it.
import t from 'tap'
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../..', import.meta.url))
const sdkDir = join(repo, 'sdk')
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
const sdkPkg = JSON.parse(await readFile(join(sdkDir, 'package.json'), 'utf8')) as {
  name: string
  dependencies: Record<string, string>
  optionalDependencies: Record<string, string>
  exports: Record<string, unknown>
}
const hostPkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }

// The children run as a user's would: without tap's coverage hooks or the tsx
// loader, and without the npm lifecycle variables of the `npm test` around us.
const childEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^(NODE_OPTIONS|NODE_V8_COVERAGE|INIT_CWD|TAP.*|_TAPJS_.*|npm_package_.*|npm_lifecycle_.*|npm_command|npm_config_local_prefix|npm_config_workspaces?)$/i.test(k),
  ),
)

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: childEnv, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

const npm = (args: string[], cwd: string): Promise<Run> => run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, cwd)
const node = (args: string[], cwd: string): Promise<Run> => run(process.execPath, args, cwd)

/** Every package directory under `nodeModules`, nested ones included, as name → path. */
async function installedPackages(nodeModules: string, found = new Map<string, string[]>()): Promise<Map<string, string[]>> {
  let entries
  try {
    entries = await readdir(nodeModules, { withFileTypes: true })
  } catch {
    return found
  }
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue
    const dirs = e.name.startsWith('@')
      ? (await readdir(join(nodeModules, e.name), { withFileTypes: true })).filter((s) => s.isDirectory()).map((s) => `${e.name}/${s.name}`)
      : [e.name]
    for (const name of dirs) {
      const dir = join(nodeModules, name)
      found.set(name, [...(found.get(name) ?? []), dir])
      await installedPackages(join(dir, 'node_modules'), found)
    }
  }
  return found
}

/** Files and directories under `dir` whose name matches `pattern`. */
async function findNames(dir: string, pattern: RegExp): Promise<string[]> {
  const hits: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (pattern.test(e.name)) hits.push(join(e.parentPath ?? (e as { path?: string }).path ?? '', e.name))
  }
  return hits
}

/** Export targets, without the in-repo `rsh-source` condition. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([cond, v]) => (cond === 'rsh-source' ? [] : exportTargets(v)))
}

const work = await mkdtemp(join(tmpdir(), 'rsh-pack-'))
t.teardown(() => rm(work, { recursive: true, force: true }))

const copy = join(work, 'sdk')
const out = join(work, 'out')
const app = join(work, 'app')
let tarball = ''
let files: string[] = []

t.test('npm pack builds from scratch and ships dist/ only', async (t) => {
  await mkdir(copy)
  await mkdir(out)
  for (const f of ['package.json', 'tsconfig.json', 'README.md']) await cp(join(sdkDir, f), join(copy, f))
  await cp(join(sdkDir, 'src'), join(copy, 'src'), { recursive: true })
  await symlink(join(repo, 'node_modules'), join(copy, 'node_modules'), 'dir')

  const packed = await npm(['pack', '--pack-destination', out], copy)
  t.equal(packed.code, 0, 'npm pack succeeds', { stderr: packed.stderr.slice(-3000) })
  const tgz = (await readdir(out)).filter((f) => f.endsWith('.tgz'))
  t.equal(tgz.length, 1, 'one tarball')
  tarball = join(out, tgz[0] ?? 'missing.tgz')

  const listed = await run('tar', ['-tzf', tarball], work)
  t.equal(listed.code, 0, 'tar lists it')
  files = listed.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.endsWith('/'))
    .map((l) => l.replace(/^package\//, ''))

  for (const f of [
    'package.json',
    'README.md',
    'dist/index.node.js',
    'dist/index.node.d.ts',
    'dist/index.browser.js',
    'dist/index.browser.d.ts',
    'dist/shared/index.js',
    'dist/shared/index.d.ts',
    'dist/node/index.js',
    'dist/node/index.d.ts',
    'dist/bundle/client.browser.js',
  ]) {
    t.ok(files.includes(f), `tarball holds ${f}`)
  }
  t.same(
    files.filter((f) => f !== 'package.json' && f !== 'README.md' && !f.startsWith('dist/')),
    [],
    'nothing outside dist/ but package.json and README.md',
  )
  t.same(
    files.filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts')),
    [],
    'no TypeScript sources',
  )
  t.same(
    files.filter((f) => /(^|\/)(src|test|tests)\//.test(f) || /\.test\./.test(f)),
    [],
    'no src/ and no tests',
  )
  const targets = exportTargets(sdkPkg.exports).map((p) => p.replace(/^\.\//, ''))
  t.same(
    targets.filter((p) => !files.includes(p)),
    [],
    'every export target (outside rsh-source) is in the tarball',
  )

  const dir = join(work, 'unpacked')
  await mkdir(dir)
  t.equal((await run('tar', ['-xzf', tarball, '-C', dir], work)).code, 0, 'tar unpacks it')
  const bundle = await readFile(join(dir, 'package', 'dist', 'bundle', 'client.browser.js'), 'utf8')
  t.notMatch(bundle, /\brequire\d*\(\s*['"]/, 'the packed browser bundle requires no module')
  t.notMatch(bundle, /['"]node:/, 'the packed browser bundle names no node: module')
  t.notMatch(bundle, /^\s*(import|export)\s[^;]*\sfrom\s*['"]/m, 'the packed browser bundle imports nothing (everything is bundled)')
  t.match(bundle, /^export\s*\{/m, 'the packed browser bundle is an ES module')
  const nodeEntry = await readFile(join(dir, 'package', 'dist', 'index.node.js'), 'utf8')
  t.match(nodeEntry, /^import .* from '\.\/platform\.js'/m, 'dist/ holds ES modules')
})

t.test('installed from the tarball into an empty project', async (t) => {
  if (!tarball) return t.fail('no tarball to install')
  await mkdir(app)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'pack-probe', version: '1.0.0', private: true, type: 'module' }, null, 2))
  const installed = await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app)
  t.equal(installed.code, 0, 'npm install succeeds', { stderr: installed.stderr.slice(-3000) })

  await t.test('imports in a plain Node process', async (t) => {
    await writeFile(
      join(app, 'probe.mjs'),
      `import { SessionClient, HostError, generateIdentity } from '@rag-session-host/client'
import { ERROR_CODES, decodeBase64 } from '@rag-session-host/client/shared'
import { generateBoxKeyPair } from '@rag-session-host/client/node-crypto'
const id = generateIdentity()
let refused
try { await SessionClient.connect('not a url') } catch (err) { refused = err }
console.log(JSON.stringify({
  resolved: import.meta.resolve('@rag-session-host/client'),
  connect: typeof SessionClient.connect,
  publicKeyBytes: decodeBase64(id.publicKey)?.length,
  boxKeyBytes: generateBoxKeyPair().publicKey.length,
  codes: ERROR_CODES.length,
  refusedIsHostError: refused instanceof HostError,
  refusedCode: refused?.code,
}))
`,
    )
    const probe = await node(['probe.mjs'], app)
    t.equal(probe.code, 0, 'node runs the probe', { stderr: probe.stderr })
    const seen = JSON.parse(probe.stdout.trim() || '{}') as Record<string, unknown>
    t.match(seen.resolved, /\/app\/node_modules\/@rag-session-host\/client\/dist\/index\.node\.js$/, 'Node resolves the package to its compiled Node entry')
    t.match(seen, { connect: 'function', publicKeyBytes: 32, boxKeyBytes: 32, codes: 17, refusedIsHostError: true, refusedCode: 'bad_request' })
  })

  await t.test('types resolve for a Node project and for a bundler project', async (t) => {
    const common = { target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, typeRoots: [join(repo, 'node_modules', '@types')] }
    const use = `import { SessionClient, HostError, generateIdentity, type Identity, type SearchHit } from '@rag-session-host/client'
import { ERROR_CODES, type ErrorCode } from '@rag-session-host/client/shared'
const identity: Identity = generateIdentity()
const code: ErrorCode = ERROR_CODES[0]
export async function search(url: string): Promise<SearchHit[]> {
  const client = await SessionClient.connect(url, { identity, requestTimeoutMs: 1000 })
  const { results } = await client.searchVectors([1, 0], { k: 1, filter: { lang: 'en' } })
  return results
}
export const failure: HostError = new HostError(code, 'typed')
// @ts-expect-error the package is typed, so an unknown member is an error
SessionClient.noSuchMethod()
`
    await writeFile(
      join(app, 'node-use.ts'),
      `${use}import { generateBoxKeyPair } from '@rag-session-host/client/node-crypto'\nexport const pair: { publicKey: Uint8Array } = generateBoxKeyPair()\n`,
    )
    await writeFile(join(app, 'browser-use.ts'), use)
    await writeFile(
      join(app, 'tsconfig.node.json'),
      JSON.stringify({ compilerOptions: { ...common, module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'] }, files: ['node-use.ts'] }),
    )
    await writeFile(
      join(app, 'tsconfig.browser.json'),
      JSON.stringify({ compilerOptions: { ...common, module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2023', 'DOM'], types: [] }, files: ['browser-use.ts'] }),
    )
    const configs = [
      ['tsconfig.node.json', 'dist/index.node.d.ts'],
      ['tsconfig.browser.json', 'dist/index.browser.d.ts'],
    ] as const
    const checks = await Promise.all(configs.map(([config]) => node([tsc, '-p', config, '--listFiles'], app)))
    configs.forEach(([config, entry], i) => {
      const checked = checks[i] as Run
      const lines = checked.stdout.split('\n')
      t.equal(checked.code, 0, `${config} type-checks`, { errors: lines.filter((l) => /error TS\d+/.test(l)), stderr: checked.stderr })
      t.ok(
        lines.some((f) => f.endsWith(`/app/node_modules/@rag-session-host/client/${entry}`)),
        `${config} takes its types from ${entry}`,
      )
    })
  })

  await t.test('no host dependency installed, nothing built', async (t) => {
    const packages = await installedPackages(join(app, 'node_modules'))
    // The optional sodium-native brings its own small tree (its loader and the bare-* shims): everything it and they declare.
    const closure = new Set([sdkPkg.name])
    const declared = async (dir: string): Promise<string[]> => {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: object; optionalDependencies?: object }
      return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]
    }
    const pending = [...Object.keys(sdkPkg.dependencies), ...Object.keys(sdkPkg.optionalDependencies)]
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      if (closure.has(name) || !packages.has(name)) continue
      closure.add(name)
      for (const dir of packages.get(name)!) pending.push(...(await declared(dir)))
    }
    t.ok(packages.has('sodium-native'), 'the optional sodium-native is installed')
    t.same([...packages.keys()].sort(), [...closure].sort(), 'exactly the SDK, its declared dependencies and theirs')
    const sdkDeps = { ...sdkPkg.dependencies, ...sdkPkg.optionalDependencies }
    const hostOnly = [...Object.keys(hostPkg.dependencies).filter((d) => d !== sdkPkg.name && !(d in sdkDeps)), 'fastify', 'pino', 'prom-client', 'hnswlib-node']
    t.ok(hostOnly.includes('@fastify/websocket'), 'the host dependency list was read')
    t.same(
      [...packages.keys()].filter((p) => hostOnly.includes(p) || p.startsWith('@fastify/')),
      [],
      'no host dependency',
    )
    t.same(await findNames(join(app, 'node_modules'), /^binding\.gyp$|^build$/), [], 'no node-gyp build')
    const addons = await findNames(join(app, 'node_modules'), /\.node$/)
    t.ok(addons.length > 0, 'prebuilt sodium-native binaries')
    t.same(
      addons.filter((f) => !/\/node_modules\/sodium-native\/prebuilds\/[^/]+\/sodium-native\.node$/.test(f)),
      [],
      'no native addon but the optional, prebuilt sodium-native',
    )
  })
})
