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
