// bench:load as operators run it: a child process against a host this test starts.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startHost } from '../helpers/host.js'

const ROOT = new URL('../..', import.meta.url)
const OPEN = { maxConnectionsPerIp: 0, maxSessionsPerIp: 0, initRatePerIp: 0 }

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Tap follows child processes for coverage (@tapjs/processinfo), excluding
 * the files that match _TAPJS_PROCESSINFO_EXCLUDE_, read at each spawn. The
 * tool's own files are added to it: the coverage floors are for the host and
 * the SDK, which the tool drives, and a benchmark's orchestration would only
 * dilute them. Its logic is covered in-process by load-logic.test.ts.
 */
const TAP_EXCLUDE = '_TAPJS_PROCESSINFO_EXCLUDE_'
const inherited = /^\/(.*)\/([a-z]*)$/.exec(process.env[TAP_EXCLUDE] ?? '')
if (inherited) process.env[TAP_EXCLUDE] = String(new RegExp(`${inherited[1]}|(^|[\\/])bench[\\/]`, inherited[2]))

async function load(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import=./test/loader/tsx.mjs', '--conditions=rsh-source', 'bench/load.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout, stderr }
}

function tmpJson(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rsh-load-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'out.json')
}

t.test('a few clients for 2 s: zero errors, verdict pass, exit 0', async (t) => {
  const host = await startHost(t, OPEN)
  const json = tmpJson(t)
  const run = await load([
    '--url',
    host.url,
    '--clients',
    '4',
    '--duration=2',
    '--vectors',
    '50',
    '--dim',
    '16',
    '--batch',
    '20',
    '--churn',
    '0.2',
    '--reinit',
    '--rate',
    '400',
    '--think-ms',
    '1',
    '--json',
    json,
  ])
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stdout.trimEnd().split('\n').at(-1), 'verdict: pass')
  const r = JSON.parse(readFileSync(json, 'utf8'))
  t.equal(r.verdict, 'pass')
  t.equal(r.errors, 0)
  t.equal(r.timeouts, 0)
  for (const op of ['connect', 'init', 'uploadVectors', 'searchVectors', 'searchVectors+filter', 'appendMessage', 'getHistory', 'endSession']) {
    t.ok(r.operations[op]?.count > 0, `${op} ran`)
    t.same(r.operations[op].errors_by_code, {}, `${op}: no errors`)
  }
  t.equal(r.operations.uploadVectors.count, 4 * 3, '50 vectors in batches of 20: 3 requests per client')
  t.equal(r.operations.endSession.count, 4)
  t.type(r.host.rss_mib, 'number')
  t.type(r.host.heap_mib, 'number')
  t.type(r.host.event_loop_p99_ms, 'number')
  t.equal(r.host.started_by_tool, false)
  t.equal(r.host.persist, 'unknown', 'no --admin-token: the journal setting is not known')
  t.match(r.flags, { clients: 4, duration: 2, rate: 400, reinit: true, churn: 0.2, url: host.url })
  t.match(run.stderr, /ops\/s, 0 errors, 0 timeouts so far/, 'a progress line')
})

t.test('a host that refuses (MAX_SESSIONS below the clients): capacity_exceeded, verdict fail, exit 1', async (t) => {
  const host = await startHost(t, { ...OPEN, maxSessions: 2 })
  const json = tmpJson(t)
  // A duration, not rounds: the first sessions stay active while the others init, whatever the timing.
  const run = await load(['--url', host.url, '--clients', '4', '--duration', '2', '--vectors', '10', '--dim', '8', '--json', json])
  t.equal(run.code, 1, run.stderr)
  t.match(run.stdout.trimEnd().split('\n').at(-1), /^verdict: fail \(\d+ errors?, 0 timeouts\)$/)
  const r = JSON.parse(readFileSync(json, 'utf8'))
  t.equal(r.verdict, 'fail')
  t.ok(r.errors >= 1)
  t.ok(r.operations.init.errors_by_code.capacity_exceeded >= 1, JSON.stringify(r.operations.init))
})

t.test('a host that cannot be reached: one line, exit 1', async (t) => {
  // A port nothing listens on: bound, then closed.
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  const run = await load(['--url', `http://127.0.0.1:${port}`, '--clients', '2', '--rounds', '1'])
  t.equal(run.code, 1)
  t.equal(run.stdout, '')
  t.equal(run.stderr, `bench:load: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`)
})

t.test('a bad flag: usage naming it, exit 2', async (t) => {
  const run = await load(['--clients=many'])
  t.equal(run.code, 2)
  t.match(run.stderr, /^bench:load: --clients: expected an integer/)
  t.match(run.stderr, /Usage: npm run bench:load/)
})
