// The single copy (store.ts, released-rows.ts): once a session's graph serves,
// the store lets go of the rows it covers and the graph holds the only copy.
// Every reader still gets every row: exact scans, filtered searches, the
// merged search, snapshots, compaction, shrinking; a twin session on an
// engine that keeps both copies answers the same. A graph that fails while it
// holds rows is a host fault: `vectors.lost`, and searches say `unavailable`.
import t from 'tap'
import type { Worker } from 'node:worker_threads'
import { startedWorkers } from '../helpers/workers.js'
import { clustered, row } from '../../bench/lib/data.js'
import { recall } from '../../bench/lib/stats.js'
import { sessionRecords, type CapturedSession } from '../../src/journal/snapshot-writer.js'
import type { JournalRecord } from '../../src/journal/records.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import type { SessionVectors } from '../../src/vectors/index.js'
import { RELEASED } from '../../src/vectors/segment.js'
import { bruteForce, makeEngine, until } from './fixtures/engine.js'

const DIMS = 32
const N = 4000
const LOW = { exactSearchMaxVectors: 500, hnswEfConstruction: 100, hnswEfSearch: 96 }

function data(seed: number): { rows: Map<string, number[]>; query: () => number[] } {
  const c = clustered({ count: N, dims: DIMS, seed })
  const rows = new Map<string, number[]>()
  for (let i = 0; i < N; i++) rows.set(`d${i}`, row(c.data, DIMS, i))
  return { rows, query: () => Array.from(c.query()) }
}

function load(s: SessionVectors, rows: Map<string, number[]>): void {
  const ids = [...rows.keys()]
  for (let b = 0; b < ids.length; b += 1000) {
    const vectors = ids.slice(b, b + 1000).map((id, i) => ({ id, vector: rows.get(id)!, metadata: { i: b + i, tag: (b + i) % 50 === 0 ? 'rare' : 'common' } }))
    if (s.upload({ vectors }).rejected.length > 0) throw new Error('test data rejected')
  }
}

/** A session holding the only copy in its graph, and its twin keeping both copies: same data, same order. */
async function twins(t: { teardown(fn: () => unknown): void }, seed: number, extra: { onVectorsLost?: (id: string, reason: string) => void } = {}) {
  const single = makeEngine({ tuning: LOW, singleCopy: true, ...extra }, t)
  const double = makeEngine({ tuning: LOW, singleCopy: false }, t)
  const { rows, query } = data(seed)
  const one = single.session('one')
  const two = double.session('two')
  load(one, rows)
  load(two, rows)
  await until(() => one.indexState === 'ready' && two.indexState === 'ready')
  await until(() => one.view().released >= N - 1024, 'the rows the graph covers to be released')
  return { one, two, rows, query, single, double }
}

const ids = (r: { results: { id: string }[] }): string[] => r.results.map((h) => h.id)

t.test('released: the graph holds the rows it covers, their chunks are freed; the twin keeps both', async (t) => {
  const { one, two, single } = await twins(t, 1)
  const v = one.view()
  t.ok(v.released >= N - 1024 && v.released <= N, `rows below slot ${v.released} are the graph's only`)
  t.ok(
    v.chunks.slice(0, v.released >> 10).every((c) => c === RELEASED),
    'their chunks are freed',
  )
  t.equal(two.view().released, 0, 'without the single copy nothing is released')
  t.equal(one.count, N)
  one.dispose()
  t.same(single.engine.stats(), { sessions: 0, vectors: 0, bytes: 0, hnswIndexes: 0, building: 0 }, 'disposed: the graph and its rows go together')
})

t.test('exact and approximate searches alike on the single copy and on two copies', async (t) => {
  const { one, two, rows, query } = await twins(t, 2)
  let found = 0
  for (let i = 0; i < 20; i++) {
    const q = query()
    const a = await one.search({ vector: q, k: 10 })
    const b = await two.search({ vector: q, k: 10 })
    t.equal(a.exact, false)
    found += recall(ids(a), bruteForce(rows, q, 10))
    t.same(ids(a), ids(b), 'the same hits as with both copies')
    const drift = Math.max(...a.results.map((h, j) => Math.abs(h.score - b.results[j]!.score)))
    t.ok(drift < 1e-6, `scores within float32 rounding (${drift})`)
  }
  t.ok(found / 20 >= 0.95, `recall@10 ${found / 20}`)

  // A selective filter takes the exact path: the rows come back from the graph, scored by the same kernel.
  for (let i = 0; i < 5; i++) {
    const q = query()
    const a = await one.search({ vector: q, k: 10, filter: { tag: 'rare' } })
    const b = await two.search({ vector: q, k: 10, filter: { tag: 'rare' } })
    t.equal(a.exact, true, 'selective filter: exact')
    t.same(a.results, b.results, 'to the bit: ids, scores, metadata')
    const rare = (id: string): boolean => Number(id.slice(1)) % 50 === 0
    t.same(ids(a), bruteForce(rows, q, 10, rare))
  }
})

t.test('deletes, upserts and a compaction over released rows: nothing lost, nothing resurrected', async (t) => {
  const { one, two, rows, query } = await twins(t, 3)
  // Upsert 20 released rows with fresh vectors and delete 2 500 others: more dead than live, so the store compacts.
  const fresh = data(99)
  const upserts = [...rows.keys()].slice(0, 20).map((id, i) => ({ id, vector: fresh.rows.get(`d${i}`)!, metadata: { i, tag: 'rare', fresh: true } }))
  for (const s of [one, two]) s.upload({ vectors: upserts })
  const gone = [...rows.keys()].slice(100, 2600)
  for (const s of [one, two]) t.equal(s.delete({ ids: gone }).deleted, gone.length)
  const live = new Map(rows)
  for (const id of gone) live.delete(id)
  upserts.forEach((u) => live.set(u.id, u.vector))
  t.ok(one.compacting, 'a compaction runs over the released rows')
  await until(() => !one.compacting && !two.compacting)
  t.ok(one.view().released > 0, 'the copy keeps them released')
  for (let i = 0; i < 10; i++) {
    const q = query()
    // A selective filter: the exact path, over released rows read back after the compaction.
    const a = await one.search({ vector: q, k: 10, filter: { tag: 'rare' } })
    const b = await two.search({ vector: q, k: 10, filter: { tag: 'rare' } })
    t.same(a.results, b.results, 'filtered: the same as with both copies')
    const c = await one.search({ vector: q, k: 10 })
    t.notOk(
      ids(c).some((id) => gone.includes(id)),
      'no deleted vector comes back',
    )
    t.ok(recall(ids(c), bruteForce(live, q, 10)) >= 0.8)
  }
  const hit = await one.search({ vector: upserts[0]!.vector, k: 1, filter: { fresh: true } })
  t.same(hit.results[0]!.metadata, { i: 0, tag: 'rare', fresh: true }, 'an upserted row is found as it is now')
  t.equal(one.count, two.count)
})

t.test('a snapshot reads the released rows back: the same records as from two copies', async (t) => {
  const { one, two } = await twins(t, 4)
  const head = {
    t: 'session',
    s: 'x',
    seq: 1,
    owner: 'o',
    createdAt: 0,
    attempt: 1,
    status: 'active',
    autoRecovered: false,
    statusSince: 0,
    lastActiveAt: 0,
  } as CapturedSession['head']
  const collect = async (s: SessionVectors): Promise<JournalRecord[]> => {
    const out: JournalRecord[] = []
    for await (const r of sessionRecords({ head, messages: [], view: s.view() })) out.push(r)
    return out
  }
  const a = await collect(one)
  const b = await collect(two)
  t.equal(a.length, b.length)
  t.same(a, b, 'every vector, to the bit, with its id and metadata')
  const count = a.reduce((n, r) => n + (r.t === 'vectors' ? r.ids.length : 0), 0)
  t.equal(count, N)
})

t.test('shrinking below the threshold keeps a graph that holds rows: searches read them back', async (t) => {
  const { one, rows, query } = await twins(t, 5)
  const keep = [...rows.keys()].slice(0, 200)
  const gone = [...rows.keys()].slice(200)
  one.delete({ ids: gone })
  t.equal(one.indexState, 'ready', 'the graph stays: it holds the only copy')
  const live = new Map(keep.map((id) => [id, rows.get(id)!]))
  for (let i = 0; i < 5; i++) {
    const q = query()
    const r = await one.search({ vector: q, k: 5 })
    t.equal(r.exact, true, 'exact, as a small session is')
    t.same(ids(r), bruteForce(live, q, 5))
  }
  // Emptied: the store starts again, and its next graph again from nothing.
  one.clear()
  t.equal(one.indexState, 'none')
  t.equal(one.view().released, 0)
})

const exitOf = (w: Worker): Promise<number> => new Promise((resolve) => w.once('exit', resolve))

t.test('the graph dies while it holds rows: vectors.lost at error, searches get unavailable, no new graph', async (t) => {
  const workers = startedWorkers(t, 'hnsw')
  const lost: [string, string][] = []
  const { one, single, query } = await twins(t, 6, { onVectorsLost: (id, reason) => void lost.push([id, reason]) })
  const w = workers[0]! // the single-copy engine loads first, so its worker started first
  // Idle (built, nothing changing): terminate() cannot land inside addPoint.
  const exited = exitOf(w)
  void w.terminate()
  await exited
  await until(() => lost.length > 0, 'the loss to be reported')
  t.match(lost, [['one', /exited/]])
  t.match(
    single.logs.filter((l) => l.event === 'vectors.lost'),
    [{ level: 50, session_id: 'one' }],
  )
  const err = await one.search({ vector: query(), k: 10 }).catch((e: unknown) => e)
  t.ok(err instanceof ProtocolError && err.code === 'unavailable' && err.retryAfterMs! > 0, 'a typed, retryable error, not a wrong answer')
  one.upload({ vectors: [{ id: 'late', vector: query() }] })
  t.equal(one.indexState, 'none', 'no new graph over rows it cannot read')
})
