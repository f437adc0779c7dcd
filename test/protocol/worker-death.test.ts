// Worker threads dying under a real host, seen over real sockets: the HNSW
// worker (searches fall back to the exact scan and say `exact: true`; the
// index is rebuilt on a new worker later) and the frame worker (a large
// frame handed to the dying worker is opened inline; the next one gets a new
// worker). Every request gets its one right reply; nothing stored is lost.
import t, { type Test } from 'tap'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Worker } from 'node:worker_threads'
import { workerStartChannel, type WorkerStart } from '../../src/util/worker-rpc.js'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'
import { bruteForce, until } from '../vectors/fixtures/engine.js'

const DIMS = 16

/** Calls `onStart` for every worker the host starts under `name`; returns them in start order. */
function workersNamed(t: Test, name: string, onStart: (w: Worker, n: number) => void = () => {}): Worker[] {
  const workers: Worker[] = []
  const listener = (msg: unknown): void => {
    const start = msg as WorkerStart
    if (start.name !== name) return
    workers.push(start.worker)
    onStart(start.worker, workers.length)
  }
  subscribe(workerStartChannel.name, listener)
  t.teardown(() => void unsubscribe(workerStartChannel.name, listener))
  return workers
}

function vectors(from: number, to: number): { id: string; vector: number[] }[] {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k
    return { id: `v${i}`, vector: Array.from({ length: DIMS }, (_, j) => Math.sin(i * 1.7 + j * 0.3) + (j === i % DIMS ? 2 : 0)) }
  })
}

t.test('HNSW worker killed: searches answer exactly over the wire, the index is rebuilt later', async (t) => {
  const hnsw = workersNamed(t, 'hnsw')
  // Without a journal the host keeps its own copy of every vector beside the graph, so a dead worker costs
  // only speed; with one, the graph holds the only copy and its death is a host fault (test/journal/vectors-lost.test.ts).
  const host = await startHost(t, { exactSearchMaxVectors: 300, hnswEfConstruction: 100, persist: false })
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'vw', identity: generateIdentity() })
  const rows = new Map<string, number[]>()
  const first = vectors(0, 1000)
  for (const v of first) rows.set(v.id, v.vector)
  t.equal((await wire.request('uploadVectors', { vectors: first })).uploaded, 1000)
  const index = () => host.server.ctx.sessions.get('vw')!.vectors.indexState
  await until(() => index() === 'ready')
  const q = vectors(5000, 5001)[0]!.vector
  const before = await wire.request('searchVectors', { vector: q, k: 10 })
  t.equal(before.exact, false, 'served by the graph')

  // Built, and nothing changed since: the worker is idle, so terminate() cannot land inside addPoint.
  const exited = new Promise<number>((resolve) => hnsw[0]!.once('exit', resolve))
  await hnsw[0]!.terminate()
  t.equal(await exited, 1)
  const after = await wire.request('searchVectors', { vector: q, k: 10 })
  t.equal(after.ok, true)
  t.equal(after.exact, true, 'the reply says the search was exhaustive')
  t.same(
    after.results.map((h: { id: string }) => h.id),
    bruteForce(rows, q, 10),
    'and it is the true top 10',
  )
  t.equal(after.total, 1000, 'nothing lost')
  t.match(host.log.events('index.failed'), [{ level: 'warn', session_id: 'vw', reason: 'hnsw worker exited with code 1' }])
  t.equal(host.log.lines.filter((l) => l.level === 'error' || l.level === 'fatal').length, 0, 'a worker death is not logged as a host fault')

  // The failed generation started at 1000 vectors: the next one starts at 2000, on a new worker.
  const more = vectors(1000, 2000)
  for (const v of more) rows.set(v.id, v.vector)
  t.equal((await wire.request('uploadVectors', { vectors: more })).total, 2000)
  t.equal(hnsw.length, 2, 'a new worker')
  await until(() => index() === 'ready')
  const rebuilt = await wire.request('searchVectors', { vector: q, k: 10 })
  t.equal(rebuilt.exact, false, 'the rebuilt index serves again')
  t.equal(rebuilt.total, 2000)
  t.equal(host.log.events('index.built').length, 2)
})

t.test('frame worker dying as a large frame is handed to it: the frame is opened inline; the next gets a new worker', async (t) => {
  // The first worker dies the moment it is started, before the first frame reaches it.
  const secretbox = workersNamed(t, 'frame', (w, n) => {
    if (n === 1) void w.terminate()
  })
  const host = await startHost(t)
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'sb', identity: generateIdentity() })
  const up = await wire.request('uploadVectors', { vectors: vectors(0, 1000) }) // ~300 KB: above CRYPTO_OFFLOAD_BYTES
  t.same([up.ok, up.uploaded, up.total], [true, 1000, 1000], 'answered once, right')
  t.match(host.log.events('offload.failed'), [{ level: 'warn', err: { message: /^frame worker exited with code \d+$/ } }])

  const big = 'é'.repeat(30_000) // 60 KB of UTF-8: the sealed frame is above the threshold
  const contents = [big + 'a', big + 'b']
  for (const content of contents) t.equal((await wire.request('appendMessage', { role: 'user', content })).ok, true)
  t.equal(secretbox.length, 2, 'the next large frame started a new worker')
  const history = await wire.request('getHistory') // a ~120 KB reply: sealed on the new worker
  t.ok(history.ok && history.messages.map((m: { content: string }) => m.content).join() === contents.join(), 'the history comes back byte for byte')
  const info = await wire.request('sessionInfo')
  t.same([info.vectors, info.history], [1000, 2], 'nothing lost')

  const metrics = await (await fetch(`${host.url}/metrics`)).text()
  t.match(metrics, /rsh_offloaded_frames_total\{outcome="failed"\} 1\n/, 'one frame fell back to inline')
  t.match(metrics, /rsh_offloaded_frames_total\{outcome="opened"\} 2\n/, 'the next two were opened on the new worker')
})
