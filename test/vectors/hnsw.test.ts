// The HNSW path: built off the event loop, switched to atomically, kept
// correct through mutations. Dims are small so builds take a fraction of a
// second; speed is measured in bench/vectors.ts, not here.
import t from 'tap'
import { clustered, row } from '../../bench/lib/data.js'
import { recall } from '../../bench/lib/stats.js'
import type { SessionVectors } from '../../src/vectors/index.js'
import { graphBytesPerPoint } from '../../src/vectors/budget.js'
import { bruteForce, makeEngine, until, cosine } from './fixtures/engine.js'

const DIMS = 48
const N = 3000
const LOW = { exactSearchMaxVectors: 500, hnswEfConstruction: 100, hnswEfSearch: 64 }
/** What the budget charges an indexed vector on these engines, which keep two copies (budget.ts): the values twice, and the graph's own bytes. */
const INDEXED = 2 * DIMS * 4 + graphBytesPerPoint(16)

function dataset(count = N, seed = 7) {
  const c = clustered({ count, dims: DIMS, seed })
  const rows = new Map<string, number[]>()
  for (let i = 0; i < count; i++) rows.set(`d${i}`, row(c.data, DIMS, i))
  return { c, rows }
}

function load(s: SessionVectors, rows: Map<string, number[]>, meta: (i: number) => Record<string, unknown> = (i) => ({ i, even: i % 2 === 0 })): void {
  const all = [...rows].map(([id, vector], i) => ({ id, vector, metadata: meta(i) }))
  for (let b = 0; b < all.length; b += 1000) {
    if (s.upload({ vectors: all.slice(b, b + 1000) }).rejected.length > 0) throw new Error('test data rejected')
  }
}

t.test('exact right after the build starts, graph + exact tail once it covers enough, then HNSW; results stay right throughout', async (t) => {
  const { session, logs, engine } = makeEngine({ tuning: LOW }, t)
  const { c, rows } = dataset()
  const s = session('switch')
  load(s, rows)
  t.equal(s.indexState, 'building')
  t.same(engine.stats().building, 1)
  const queries = Array.from({ length: 20 }, () => Array.from(c.query()))
  const truths = queries.map((q) => bruteForce(rows, q, 10))
  // Until the graph covers exactSearchMaxVectors live vectors searches are
  // exact; from then on, still during the build, the graph's part plus an
  // exact scan of the rest (exact: false); after ready the same with a short tail.
  const seen = { exact: 0, building: 0, ready: 0, wrongExact: 0, wrongTotal: 0, wrongScore: 0, backToExact: 0 }
  const recallSum = { building: 0, ready: 0 }
  for (let round = 0; seen.ready < queries.length; round++) {
    const i = round % queries.length
    const q = queries[i]!
    const building = s.indexState === 'building'
    const r = await s.search({ vector: q, k: 10 })
    if (r.total !== N) seen.wrongTotal++
    if (r.exact) {
      seen.exact++
      if (seen.building + seen.ready > 0) seen.backToExact++
      if (r.results.map((h) => h.id).join() !== truths[i]!.join()) seen.wrongExact++
    } else {
      const phase = building ? 'building' : 'ready'
      seen[phase]++
      recallSum[phase] += recall(
        r.results.map((h) => h.id),
        truths[i]!,
      )
      for (const h of r.results) if (Math.abs(h.score - cosine(rows.get(h.id)!, q)) > 1e-5) seen.wrongScore++
    }
    if (round > 100_000) throw new Error('never switched')
  }
  t.ok(seen.exact > 0, `searches right after the start were exact: ${seen.exact}`)
  t.ok(seen.building > 0, `then, still during the build, graph + tail: ${seen.building}`)
  t.equal(seen.wrongExact, 0, 'exact answers were the true top 10')
  t.equal(seen.wrongTotal, 0, 'total was right')
  t.equal(seen.wrongScore, 0, 'scores of approximate answers are exact')
  t.equal(seen.backToExact, 0, 'never went back to exact once the graph served')
  t.equal(s.indexState, 'ready')
  t.equal(s.exactOnly, false)
  t.ok(recallSum.building / seen.building >= 0.95, `recall@10 during the build ${recallSum.building / seen.building} >= 0.95`)
  t.ok(recallSum.ready / seen.ready >= 0.95, `recall@10 after ${recallSum.ready / seen.ready} >= 0.95`)
  const built = logs.filter((l) => l.event === 'index.built')
  t.equal(built.length, 1)
  t.match(built[0], { session_id: 'switch', size: N, ms: Number })
  t.same(engine.stats(), { sessions: 1, vectors: N, bytes: N * INDEXED, hnswIndexes: 1, building: 0 })
})

async function ready(rows: Map<string, number[]>, t: { teardown(fn: () => unknown): void }, meta?: (i: number) => Record<string, unknown>) {
  const h = makeEngine({ tuning: LOW }, t)
  const s = h.session('ready')
  load(s, rows, meta)
  await until(() => s.indexState === 'ready')
  return { ...h, s }
}

t.test('HNSW ranking agrees with exact (recall@10 >= 0.95) and scores are exact', async (t) => {
  const { c, rows } = dataset()
  const { s } = await ready(rows, t)
  let sum = 0
  const Q = 100
  for (let i = 0; i < Q; i++) {
    const q = Array.from(c.query())
    const r = await s.search({ vector: q, k: 10 })
    t.equal(r.exact, false)
    const truth = bruteForce(rows, q, 10)
    sum += recall(
      r.results.map((h) => h.id),
      truth,
    )
    for (const h of r.results) {
      const v = rows.get(h.id)!
      const want = cosine(v, q)
      if (Math.abs(h.score - want) > 1e-5) t.fail(`score of ${h.id} is ${h.score}, expected ${want}`)
    }
  }
  t.ok(sum / Q >= 0.95, `recall@10 = ${sum / Q}`)
})

t.test('after the switch: deletes, upserts and new uploads show at once', async (t) => {
  const { c, rows } = dataset()
  const { s } = await ready(rows, t)
  const q = Array.from(c.query())
  const first = await s.search({ vector: q, k: 10 })
  t.equal(first.exact, false)
  const top = first.results.map((h) => h.id)
  // delete the best three, move the 4th far away
  s.delete({ ids: top.slice(0, 3) })
  s.upload({ vectors: [{ id: top[3]!, vector: q.map((x) => -x), metadata: { moved: true } }] })
  // a brand-new vector equal to the query (not in the graph yet)
  s.upload({ vectors: [{ id: 'fresh', vector: q, metadata: { fresh: true } }] })
  const r = await s.search({ vector: q, k: 10 })
  t.equal(r.exact, false, 'still served by HNSW + the exact tail')
  t.equal(r.results[0]!.id, 'fresh', 'the unindexed tail is merged')
  t.ok(r.results[0]!.score > 0.99999)
  const ids = r.results.map((h) => h.id)
  for (const gone of top.slice(0, 4)) t.notOk(ids.includes(gone), `${gone} (deleted or moved) is not returned`)
  rows.delete(top[0]!)
  rows.delete(top[1]!)
  rows.delete(top[2]!)
  rows.set(
    top[3]!,
    q.map((x) => -x),
  )
  rows.set('fresh', q)
  t.ok(recall(ids, bruteForce(rows, q, 10)) >= 0.8)
  const far = await s.search({ vector: q.map((x) => -x), k: 1 })
  t.equal(far.results[0]!.id, top[3], 'the moved vector is found at its new place')
  t.same(far.results[0]!.metadata, { moved: true })
  t.equal(far.total, N + 1 - 3)
})

t.test('filters with HNSW: selective ones scan matches exactly, broad ones use the graph', async (t) => {
  const { c, rows } = dataset()
  const { s } = await ready(rows, t, (i) => ({ i, even: i % 2 === 0, rare: i % 300 === 0 }))
  const idx = (id: string) => Number(id.slice(1))
  let sum = 0
  for (let n = 0; n < 20; n++) {
    const q = Array.from(c.query())
    const rare = await s.search({ vector: q, k: 5, filter: { rare: true } })
    t.equal(rare.exact, true, 'few matches: exact scan over them')
    t.same(
      rare.results.map((h) => h.id),
      bruteForce(rows, q, 5, (id) => idx(id) % 300 === 0),
    )
    const even = await s.search({ vector: q, k: 10, filter: { even: true } })
    t.equal(even.exact, false, 'half match: HNSW with more candidates')
    t.ok(
      even.results.every((h) => h.metadata.even === true),
      'every result matches',
    )
    t.equal(even.results.length, 10)
    sum += recall(
      even.results.map((h) => h.id),
      bruteForce(rows, q, 10, (id) => idx(id) % 2 === 0),
    )
  }
  t.ok(sum / 20 >= 0.95, `filtered recall@10 = ${sum / 20}`)
  const none = await s.search({ vector: Array.from(c.query()), filter: { i: -1 } })
  t.same(none.results, [])
})

t.test('emptying or shrinking drops the index; a new dimension builds a new one', async (t) => {
  const { c, rows } = dataset()
  const { s, logs, engine } = await ready(rows, t)
  const small = clustered({ count: 800, dims: 24, seed: 3 })
  const vectors = Array.from({ length: 800 }, (_, i) => ({ id: `n${i}`, vector: row(small.data, 24, i) }))
  const r = s.upload({ vectors, replace: true })
  t.same([r.uploaded, r.total, r.dims], [800, 800, 24])
  t.match(
    logs.filter((l) => l.event === 'index.dropped'),
    [{ session_id: 'ready', reason: 'emptied' }],
  )
  t.equal(s.indexState, 'building', 'a new graph for the new dimension')
  const q = Array.from(small.query())
  const exact = await s.search({ vector: q, k: 5 })
  t.equal(exact.exact, true)
  await until(() => s.indexState === 'ready')
  const approx = await s.search({ vector: q, k: 5 })
  t.equal(approx.exact, false)
  t.ok(
    recall(
      approx.results.map((h) => h.id),
      exact.results.map((h) => h.id),
    ) >= 0.8,
  )
  s.delete({ ids: vectors.slice(0, 600).map((v) => v.id) })
  t.equal(s.indexState, 'none', 'at or below half the threshold the graph goes')
  t.match(logs.filter((l) => l.event === 'index.dropped').at(-1), { reason: 'shrunk' })
  t.equal((await s.search({ vector: q, k: 5 })).exact, true)
  t.equal(engine.stats().hnswIndexes, 0)
  void c
  for (const l of logs) {
    const text = JSON.stringify(l)
    t.notOk(/"(d|n)\d+"/.test(text), 'logs name no vector id')
    t.notOk(/vector|metadata/.test(Object.keys(l).join(' ')), 'logs carry no vectors or metadata')
  }
})

t.test('tombstones trigger a rebuild in the worker, searches keep working', async (t) => {
  const { c, rows } = dataset(1500, 11)
  const { s, logs } = await ready(rows, t)
  const other = clustered({ count: 1500, dims: DIMS, seed: 12 })
  for (let pass = 0; pass < 2; pass++) {
    const vectors = [...rows.keys()].map((id, i) => ({ id, vector: row(other.data, DIMS, (i + pass * 7) % 1500) }))
    for (let b = 0; b < vectors.length; b += 1000) s.upload({ vectors: vectors.slice(b, b + 1000) })
    for (const v of vectors) rows.set(v.id, v.vector)
  }
  await until(() => logs.some((l) => l.event === 'index.rebuilt'))
  t.match(
    logs.find((l) => l.event === 'index.rebuilt'),
    { session_id: 'ready', size: Number, ms: Number },
  )
  await until(() => s.indexState === 'ready')
  let sum = 0
  for (let n = 0; n < 20; n++) {
    const q = Array.from(other.query())
    const r = await s.search({ vector: q, k: 10 })
    sum += recall(
      r.results.map((h) => h.id),
      bruteForce(rows, q, 10),
    )
  }
  t.ok(sum / 20 >= 0.9, `recall after rebuild ${sum / 20}`)
  void c
})

t.test('dispose and close: budget freed, searches still answered exactly', async (t) => {
  const { rows, c } = dataset(1200, 5)
  const h = makeEngine({ tuning: LOW }, t)
  const a = h.session('a')
  const b = h.session('b')
  load(a, rows)
  load(b, rows)
  t.equal(h.engine.stats().hnswIndexes, 2)
  a.dispose()
  t.same(h.engine.stats(), { sessions: 1, vectors: 1200, bytes: 1200 * INDEXED, hnswIndexes: 1, building: 1 })
  t.match(
    h.logs.find((l) => l.event === 'index.dropped'),
    { session_id: 'a', reason: 'disposed' },
  )
  await until(() => b.indexState === 'ready')
  await h.engine.close()
  await h.engine.close()
  const q = Array.from(c.query())
  const r = await b.search({ vector: q, k: 10 })
  t.same(
    r.results.map((x) => x.id),
    bruteForce(rows, q, 10),
    'falls back to an exact scan',
  )
  t.equal(r.exact, true)
  t.notOk(
    h.logs.some((l) => l.event === 'index.failed'),
    'closing is not an index failure',
  )
})
