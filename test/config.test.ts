// Configuration: defaults that need nothing set, validation that names the
// variable, the README table generated from the same source, and a host that
// refuses to start on a bad value.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { ConfigError, SETTINGS, configTableMarkdown, loadConfig } from '../src/config.js'

t.test('defaults need no configuration', async (t) => {
  const c = loadConfig({})
  t.equal(c.host, '127.0.0.1')
  t.equal(c.port, 8080)
  t.equal(c.dataDir, './data')
  t.equal(c.maxSessions, 1000)
  t.equal(c.maxFrameBytes, 16 * 1024 * 1024)
  t.equal(c.maxBatch, 1000)
  t.equal(c.maxVectorsPerSession, 100_000)
  t.equal(c.maxDims, 4096)
  t.equal(c.maxK, 100)
  t.equal(c.maxMetadataBytes, 10 * 1024)
  t.equal(c.initClockSkewMs, 300_000)
  t.equal(c.reconnectGraceMs, 600_000)
  t.equal(c.retentionMs, 3_600_000)
  t.equal(c.hostSecretKey, undefined)
})

t.test('environment variables are read by their documented names', async (t) => {
  const c = loadConfig({ PORT: '9000', MAX_SESSIONS: '5', LOG_LEVEL: 'warn', TRUST_PROXY: 'true', MAX_HISTORY: '7', MAX_K: '10' })
  t.same([c.port, c.maxSessions, c.logLevel, c.trustProxy, c.maxHistory, c.maxK], [9000, 5, 'warn', true, 7, 10])
  t.equal(loadConfig({ PORT: '' }).port, 8080, 'empty counts as unset')
})

t.test('bad values stop with a message that names the variable', async (t) => {
  const bad: Record<string, string> = {
    PORT: 'eighty',
    MAX_SESSIONS: '0',
    MAX_FRAME_BYTES: '12.5',
    LOG_LEVEL: 'loud',
    TRUST_PROXY: 'maybe',
    HOST_SECRET_KEY: 'short',
    MAX_DIMS: '-4',
    INIT_CLOCK_SKEW_MS: '1e9',
  }
  for (const [name, value] of Object.entries(bad)) {
    const err = t.throws(() => loadConfig({ [name]: value })) as Error
    t.ok(err instanceof ConfigError, name)
    t.match(err.message, new RegExp(`^${name} `), `message names ${name}`)
  }
})

t.test('README documents every setting, as generated', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  t.ok(readme.includes(configTableMarkdown()), 'README table matches `npm run docs:config`')
  for (const s of Object.values(SETTINGS)) t.ok(readme.includes(`\`${s.env}\``), s.env)
})

t.test('the host refuses to start on a bad value, naming it', async (t) => {
  // tsx through the same loader as tap, so the coverage this child records maps to the sources (test/loader/tsx.mjs).
  const res = spawnSync(process.execPath, ['--import=./test/loader/tsx.mjs', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url),
    env: { ...process.env, PORT: 'not-a-port' },
    encoding: 'utf8',
    timeout: 30_000,
  })
  t.equal(res.status, 1)
  t.match(res.stderr, /invalid configuration: PORT must be an integer/)
})

t.test('the replay window must cover the whole clock window', async (t) => {
  t.throws(() => loadConfig({ INIT_CLOCK_SKEW_MS: '300000', REPLAY_WINDOW_MS: '500000' }), /REPLAY_WINDOW_MS must be at least twice INIT_CLOCK_SKEW_MS/)
  t.equal(loadConfig({ INIT_CLOCK_SKEW_MS: '60000', REPLAY_WINDOW_MS: '120000' }).replayWindowMs, 120000)
})

t.test('every default the docs state equals src/config.ts', async (t) => {
  const UNITS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, '/min': 1 }
  /** What a stated default means: a number (units applied), a word, `undefined` for unset; null when the text states no default. */
  const meaning = (text: string): number | string | undefined | null => {
    const v = text
      .replace(/^default /, '')
      .replace(/ by default$/, '')
      .trim()
    if (v === 'unset') return undefined
    const q = /^(\d+(?:\.\d+)?) ?(ms|s|min|KiB|MiB|GiB|\/min)?$/.exec(v)
    if (q) return Number(q[1]) * (q[2] ? UNITS[q[2]]! : 1)
    const word = /^`?([\w./*-]+)`?$/.exec(v)
    return word ? word[1]! : null
  }
  const byEnv = new Map(Object.values(SETTINGS).map((s) => [s.env as string, s]))
  const docs = ['README.md', 'docs/OPERATIONS.md', 'docs/PROTOCOL.md', 'docs/VECTORS.md', 'docs/CLIENT.md', 'docs/BENCHMARKS.md']
  let checked = 0
  for (const doc of docs) {
    const text = readFileSync(new URL(`../${doc}`, import.meta.url), 'utf8')
    // "`VAR` (value)" in prose and tables, and "| `VAR` | value |" rows.
    const claims = [...text.matchAll(/`([A-Z][A-Z0-9_]+)` \(([^)]*)\)/g), ...text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([^|]+) \|/gm)]
    for (const [, env, stated] of claims) {
      const s = byEnv.get(env!)
      const want = meaning(stated!)
      if (!s || want === null || (doc === 'README.md' && stated!.startsWith('`'))) continue
      const actual = s.default === undefined ? undefined : /^\d+$/.test(s.default) ? Number(s.default) : s.default
      t.equal(want, actual, `${doc}: ${env} (${stated})`)
      checked++
    }
  }
  t.ok(checked > 40, `the docs state defaults (${checked} checked)`)
})
