// With a journal the host keeps one copy of each indexed vector, in its graph
// (docs/VECTORS.md). If that graph dies, the host reports a fault (main.ts
// stops it) and searches get `unavailable` meanwhile; the journal still holds
// every acknowledged vector, so the restart gives them all back.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { startHost } from '../helpers/host.js'
import { startedWorkers } from '../helpers/workers.js'
import { waitUntil } from '../helpers/wait.js'
import { Wire, generateIdentity } from '../helpers/wire.js'
import { clustered, row } from '../../bench/lib/data.js'
import { VectorsLost } from '../../src/server.js'

const DIMS = 16
const N = 3000

t.test('a graph holding the only copy dies: a host fault, unavailable searches, and a restart loses nothing', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rsh-lost-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const secretKey = nacl.box.keyPair().secretKey
  const faults: Error[] = []
  const workers = startedWorkers(t, 'hnsw')
  const config = { exactSearchMaxVectors: 500 }
  const host = await startHost(t, config, { dataDir, secretKey, onFault: (err) => void faults.push(err) })
  const c = clustered({ count: N, dims: DIMS, seed: 5 })
  const alice = generateIdentity()
  const w = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w.init({ sessionId: 'alice', identity: alice })
  for (let b = 0; b < N; b += 1000) {
    const vectors = Array.from({ length: 1000 }, (_, i) => ({ id: `v${b + i}`, vector: row(c.data, DIMS, b + i), metadata: { n: b + i } }))
    t.equal((await w.request('uploadVectors', { vectors })).total, b + 1000)
  }
  const session = host.server.ctx.sessions.get('alice')!
  await waitUntil(() => session.vectors.indexState === 'ready' && session.vectors.view().released > N / 2, { what: 'the graph to hold the only copy', timeoutMs: 30_000 })
  const q = Array.from(c.query())
  const before = await w.request('searchVectors', { vector: q, k: 5 })
  t.equal(before.exact, false)

  // Idle (built, nothing changing): terminate() cannot land inside hnswlib's addPoint.
  const exited = new Promise((resolve) => workers[0]!.once('exit', resolve))
  void workers[0]!.terminate()
  await exited
  await waitUntil(() => faults.length > 0, { what: 'the fault to be reported' })
  t.ok(faults[0] instanceof VectorsLost, 'reported as a lost graph')
  t.match(host.log.events('vectors.lost'), [{ level: 'error', session_id: 'alice' }])
  const during = await w.request('searchVectors', { vector: q, k: 5 })
  t.match(during, { ok: false, error: { code: 'unavailable', retryable: true, retry_after_ms: Number } }, 'a retryable error, never a wrong answer')
  await w.close()
  await host.close() // what main.ts does on a fault
  t.same(host.log.events('journal.snapshot'), [], 'no snapshot could be written without the rows: the journal stays as it was')
  t.match(host.log.events('journal.snapshot_failed'), [{ level: 'warn' }])

  const again = await startHost(t, config, { dataDir, secretKey })
  t.match(again.log.events('journal.recovered'), [{ vectors: N }])
  const w2 = await Wire.open(again.wsUrl, again.hostPublicKey)
  await w2.init({ sessionId: 'alice', identity: alice })
  // An exact scan (filtered, every row) returns the very vector asked for: every acknowledged row is back.
  for (const n of [0, 1234, N - 1]) {
    const r = await w2.request('searchVectors', { vector: row(c.data, DIMS, n), k: 1, filter: { n } })
    t.match(r.results, [{ id: `v${n}`, metadata: { n } }])
    t.ok(r.results[0].score > 0.9999, 'the same vector')
  }
  await w2.close()
})
