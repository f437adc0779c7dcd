// The HNSW worker dying for real, seen through the session API: a search in
// flight and every search after it fall back to the exact scan, answer right
// and say `exact: true`; every index on that worker is let go; once the data
// has doubled (the wait after a failed generation) a new worker builds a new
// graph. The wire-level view is test/protocol/worker-death.test.ts.
import t from 'tap'
import type { Worker } from 'node:worker_threads'
import { startedWorkers } from '../helpers/workers.js'
import { clustered, row } from '../../bench/lib/data.js'
import { recall } from '../../bench/lib/stats.js'
import type { SessionVectors } from '../../src/vectors/index.js'
import { bruteForce, makeEngine, until } from './fixtures/engine.js'

const DIMS = 32
const LOW = { exactSearchMaxVectors: 500, hnswEfConstruction: 100, hnswEfSearch: 64 }

function load(s: SessionVectors, rows: Map<string, number[]>, ids: string[]): void {
  for (let b = 0; b < ids.length; b += 1000) {
    const vectors = ids.slice(b, b + 1000).map((id) => ({ id, vector: rows.get(id)!, metadata: { id } }))
    if (s.upload({ vectors }).rejected.length > 0) throw new Error('test data rejected')
  }
}

const exitOf = (w: Worker): Promise<number> => new Promise((resolve) => w.once('exit', resolve))

t.test('terminated while serving: searches answer exactly and right; a new worker builds once the data doubles', async (t) => {
  const workers = startedWorkers(t, 'hnsw')
  const { session, logs, engine } = makeEngine({ tuning: LOW }, t)
  const c = clustered({ count: 3000, dims: DIMS, seed: 17 })
  const rows = new Map<string, number[]>()
  for (let i = 0; i < 3000; i++) rows.set(`d${i}`, row(c.data, DIMS, i))
  const ids = [...rows.keys()]
  const s = session('dies')
  load(s, rows, ids.slice(0, 1000)) // one upload: the index starts at 1000 vectors
  const live = new Map(ids.slice(0, 1000).map((id) => [id, rows.get(id)!]))
  await until(() => s.indexState === 'ready')
  const q = Array.from(c.query())
  t.equal((await s.search({ vector: q, k: 10 })).exact, false, 'served by the graph before')
  t.equal(workers.length, 1)

  // The graph is built and nothing changed since, so the worker is idle:
  // terminate() cannot land inside hnswlib's addPoint.
  const exited = exitOf(workers[0]!)
  void workers[0]!.terminate()
  const inFlight = await s.search({ vector: q, k: 10 }) // posted to the dying worker, never answered by it
  t.equal(inFlight.exact, true, 'the search in flight fell back to the exact scan')
  t.same(
    inFlight.results.map((h) => h.id),
    bruteForce(live, q, 10),
    'and found the true top 10',
  )
  t.same(inFlight.results[0]!.metadata, { id: inFlight.results[0]!.id })
  t.equal(inFlight.total, 1000)
  t.equal(await exited, 1)
  t.equal(s.indexState, 'none', 'the index is let go')
  t.match(
    logs.filter((l) => l.event === 'index.failed'),
    [{ level: 40, session_id: 'dies', reason: 'hnsw worker exited with code 1' }],
  )
  t.equal(engine.stats().hnswIndexes, 0)

  for (let i = 0; i < 5; i++) {
    const q2 = Array.from(c.query())
    const r = await s.search({ vector: q2, k: 5, filter: { id: { $ne: 'd0' } } })
    t.equal(r.exact, true)
    t.same(
      r.results.map((h) => h.id),
      bruteForce(live, q2, 5, (id) => id !== 'd0'),
    )
  }

  load(s, rows, ids.slice(1000, 1999))
  for (const id of ids.slice(1000, 1999)) live.set(id, rows.get(id)!)
  t.equal(s.indexState, 'none', 'below twice the count the failed index started at: still exact')
  t.equal(workers.length, 1, 'and no new worker')
  load(s, rows, ids.slice(1999))
  for (const id of ids.slice(1999)) live.set(id, rows.get(id)!)
  t.equal(s.indexState, 'building', 'at twice the count a new generation starts')
  t.equal(workers.length, 2, 'on a new worker')
  await until(() => s.indexState === 'ready')
  let sum = 0
  for (let i = 0; i < 20; i++) {
    const q3 = Array.from(c.query())
    const r = await s.search({ vector: q3, k: 10 })
    t.equal(r.exact, false)
    sum += recall(
      r.results.map((h) => h.id),
      bruteForce(live, q3, 10),
    )
  }
  t.ok(sum / 20 >= 0.9, `recall@10 of the rebuilt index ${sum / 20}`)
  t.equal(logs.filter((l) => l.event === 'index.built').length, 2)
})

t.test('exiting before the build is done: every session on the worker stays exact and right', async (t) => {
  const workers = startedWorkers(t, 'hnsw')
  const { session, logs } = makeEngine({ tuning: LOW }, t)
  const c = clustered({ count: 2000, dims: DIMS, seed: 23 })
  const rows = new Map<string, number[]>()
  for (let i = 0; i < 2000; i++) rows.set(`d${i}`, row(c.data, DIMS, i))
  const a = session('a')
  const b = session('b')
  load(a, rows, [...rows.keys()])
  load(b, rows, [...rows.keys()])
  t.equal(a.indexState, 'building')
  // The worker's own stop message: it exits between two slices of the build.
  const exited = exitOf(workers[0]!)
  workers[0]!.ref() // an idle pool's worker does not hold the process open; this test waits for it
  workers[0]!.postMessage({ op: 'stop' })
  t.equal(await exited, 0)
  t.same([a.indexState, b.indexState], ['none', 'none'], 'both indexes let go')
  t.same(
    logs
      .filter((l) => l.event === 'index.failed')
      .map((l) => l.session_id)
      .sort(),
    ['a', 'b'],
  )
  const q = Array.from(c.query())
  for (const s of [a, b]) {
    const r = await s.search({ vector: q, k: 10 })
    t.equal(r.exact, true)
    t.same(
      r.results.map((h) => h.id),
      bruteForce(rows, q, 10),
    )
  }
  t.equal(workers.length, 1, 'no worker is started for nothing')
})
