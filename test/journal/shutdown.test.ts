// Graceful shutdown of the real host in a child process: a second SIGTERM does
// not cut the journal's flush short, and `npm start` (the Dockerfile's and the
// operator's way to run it) hands SIGTERM on to node, so a stop is clean there too.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DurableHome, REPO_ROOT, type HostProcess } from '../helpers/host-process.js'
import { within } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

type Frame = Record<string, any>

/** A few acknowledged changes of every kind, read back by `checkWritten` after a restart. */
async function write(host: HostProcess, sessionId: string): Promise<{ identity: ReturnType<typeof generateIdentity>; seqs: number[] }> {
  const identity = generateIdentity()
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId, identity })
  const seqs: number[] = []
  for (const content of ['one', 'two', 'three']) seqs.push((await w.request('appendMessage', { role: 'user', content })).seq)
  const up = await w.request('uploadVectors', {
    vectors: [
      { id: 'x', vector: [1, 0, 0], metadata: { n: 1 } },
      { id: 'y', vector: [0, 1, 0], metadata: { n: 2 } },
      { id: 'z', vector: [0, 0, 1] },
    ],
  })
  if (up.ok !== true || up.uploaded !== 3) throw new Error(`upload refused: ${JSON.stringify(up)}`)
  await w.close()
  return { identity, seqs }
}

async function checkWritten(t: Test, host: HostProcess, sessionId: string, identity: ReturnType<typeof generateIdentity>): Promise<void> {
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  const { info } = await w.init({ sessionId, identity })
  t.match(info, { created: false, vectors: 3, history_total: 3 }, `${sessionId}: found with its 3 messages and 3 vectors`)
  const history = await w.request('getHistory')
  t.same(
    history.messages.map((m: Frame) => [m.seq, m.content]),
    [
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ],
  )
  const hit = await w.request('searchVectors', { vector: [0, 1, 0], k: 1 })
  t.match(hit.results, [{ id: 'y', metadata: { n: 2 } }])
  await w.close()
}

/** The socket under a ws client, to stop reading from it (a peer that has gone quiet). */
const rawSocket = (w: Wire): { pause(): void; resume(): void } => (w.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket

t.test('a second SIGTERM during shutdown is logged and ignored; the flush and snapshot complete, exit 0', async (t) => {
  const home = new DurableHome(t)
  const host = await home.start()
  const { identity } = await write(host, 'kept')

  // A bound connection that stops reading holds the shutdown where the host
  // waits for its close handshake (it does not answer until resumed), so the
  // second signal lands in the middle of the shutdown by construction, not by timing.
  const quiet = await Wire.open(host.wsUrl, host.hostPublicKey)
  quiet.ws.on('error', () => undefined)
  await quiet.init({ sessionId: 'quiet', identity: generateIdentity() })
  const notice = quiet.waitFor((f) => f.id === null, 15_000)
  rawSocket(quiet).pause()

  host.kill('SIGTERM')
  await host.waitFor('host.stopping')
  host.kill('SIGTERM')
  const again = await host.waitFor('host.signal_again')
  t.match(again, { signal: 'SIGTERM', level: 'info' }, 'the second SIGTERM is logged as host.signal_again')
  t.equal(host.exit, undefined, 'the host is still shutting down')
  t.equal(host.indexOf('host.stopped'), -1, 'host.stopped is not logged yet: the second signal came mid-shutdown')
  rawSocket(quiet).resume()

  const exit = await within(host.exited, 20_000, 'the host exits')
  t.same(exit, { code: 0, signal: null }, 'exit 0')
  t.match(quiet.open(await notice), { type: 'session_status', status: 'shutting_down' }, 'the quiet connection was told shutting_down')
  t.equal((await quiet.closed).code, 1001, 'and closed with 1001')
  t.equal(host.events('host.signal').length, 1, 'the shutdown ran once')
  t.same(
    ['host.signal_forced', 'host.shutdown_timeout', 'host.shutdown_failed', 'journal.close_failed'].flatMap((e) => host.events(e)),
    [],
    'nothing cut it short',
  )
  const order = ['host.signal', 'host.signal_again', 'journal.snapshot', 'host.stopped'].map((e) => host.indexOf(e))
  t.ok(
    order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)),
    `host.signal, host.signal_again, journal.snapshot, host.stopped in that order (${order.join(', ')})`,
  )
  const snapshot = host.events('journal.snapshot')[0]!
  t.match(snapshot, { sessions: 2 }, 'the snapshot holds both sessions')

  const restarted = await home.start()
  t.match(
    restarted.events('journal.recovered')[0],
    { sessions: 2, messages: 3, vectors: 3, snapshot: snapshot.snapshot, damaged: false },
    'the next start recovers from that snapshot',
  )
  await checkWritten(t, restarted, 'kept', identity)
})

t.test('a peer that never answers the close frame is cut off: the shutdown still flushes, snapshots and exits 0', async (t) => {
  const home = new DurableHome(t)
  const host = await home.start({ env: { SHUTDOWN_GRACE_MS: '2000' } })
  const { identity } = await write(host, 'kept')
  const quiet = await Wire.open(host.wsUrl, host.hostPublicKey)
  quiet.ws.on('error', () => undefined)
  await quiet.init({ sessionId: 'quiet', identity: generateIdentity() })
  rawSocket(quiet).pause()
  host.kill('SIGTERM')
  const exit = await within(host.exited, 20_000, 'the host exits')
  quiet.ws.terminate()
  t.same(exit, { code: 0, signal: null }, 'exit 0')
  t.equal(host.events('host.shutdown_timeout').length, 0, 'within SHUTDOWN_GRACE_MS')
  t.equal(host.events('journal.snapshot').length, 1, 'with its snapshot')
  t.ok(
    host.events('connection.closed').some((l) => l.code === 1006),
    'the quiet peer was cut off (1006, no close handshake), not waited for',
  )

  // Whatever the shutdown did, what was acknowledged was on disk before its reply.
  const restarted = await home.start()
  t.match(restarted.events('journal.recovered')[0], { sessions: 2, messages: 3, vectors: 3, damaged: false })
  await checkWritten(t, restarted, 'kept', identity)
})

/** Newest modification time under `dir` of files whose name passes `accept`. */
function newest(dir: string, accept: (name: string) => boolean): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, accept))
    else if (accept(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs)
  }
  return latest
}

/** Builds dist/ (host and SDK, `npm run build`) unless it is newer than every source; resolves with the build's cost in ms (0 if none). */
async function ensureBuilt(): Promise<number> {
  const outputs = [join(REPO_ROOT, 'dist/main.js'), join(REPO_ROOT, 'sdk/dist/index.node.js')]
  const ts = (name: string): boolean => name.endsWith('.ts')
  const sources = Math.max(
    newest(join(REPO_ROOT, 'src'), ts),
    newest(join(REPO_ROOT, 'sdk/src'), ts),
    ...['package.json', 'tsconfig.json', 'tsconfig.build.json', 'sdk/package.json', 'sdk/tsconfig.json'].map((f) => statSync(join(REPO_ROOT, f)).mtimeMs),
  )
  if (outputs.every((f) => existsSync(f) && statSync(f).mtimeMs >= sources)) return 0
  const t0 = performance.now()
  const build = spawn('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  build.stdout.on('data', (c: Buffer) => (output += c.toString()))
  build.stderr.on('data', (c: Buffer) => (output += c.toString()))
  const code = await new Promise<number | null>((resolve, reject) => {
    build.once('error', reject)
    build.once('close', resolve)
  })
  if (code !== 0) throw new Error(`npm run build failed (${code}):\n${output}`)
  return Math.round(performance.now() - t0)
}

/** The pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      // Fields after the command (which may hold spaces and parentheses): state, then ppid.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('npm start forwards SIGTERM to node: the host stops cleanly and npm exits 0', async (t) => {
  const cost = await ensureBuilt()
  t.comment(cost > 0 ? `dist/ was older than the sources: npm run build took ${cost} ms` : 'dist/ is up to date: no build')
  const home = new DurableHome(t)
  // --ignore-scripts skips prestart (the build, done above); the start script itself still runs.
  const npm = await home.start({ command: { file: 'npm', args: ['start', '--ignore-scripts'] } })
  t.ok(
    npm.text.some((l) => l.includes('exec node dist/main.js')),
    'npm ran the start script',
  )
  const [node, ...others] = childrenOf(npm.pid)
  t.same(others, [], 'npm has one child')
  t.same(readFileSync(`/proc/${node}/cmdline`, 'utf8').split('\0').slice(0, 2), ['node', 'dist/main.js'], "npm's child is the host itself (the shell exec'd node)")
  const { identity } = await write(npm, 'npm')

  npm.kill('SIGTERM') // to npm's pid only
  const exit = await within(npm.exited, 20_000, 'npm exits')
  t.match(npm.events('host.signal'), [{ signal: 'SIGTERM' }], 'node got the SIGTERM sent to npm')
  t.ok(npm.indexOf('journal.snapshot') >= 0 && npm.indexOf('host.stopped') > npm.indexOf('journal.snapshot'), 'a snapshot, then host.stopped')
  t.same(exit, { code: 0, signal: null }, 'npm exits 0')
  t.notMatch(npm.stderr, /npm (error|ERR)/, 'npm reports no error')
  t.equal(alive(node!), false, 'the host process is gone')
  t.equal(alive(-npm.pid), false, 'nothing of the process group is left')

  const restarted = await home.start()
  t.match(restarted.events('journal.recovered')[0], { sessions: 1, messages: 3, vectors: 3, damaged: false })
  await checkWritten(t, restarted, 'npm', identity)
})
