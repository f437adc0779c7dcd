// Incremental compaction seen through the session API: search answers are the
// same before, during and after it, searches in flight see the state they
// started on, and the HNSW label mapping survives the swap (store.test.ts
// checks the store itself against a model).
import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { clustered, row } from '../../bench/lib/data.js'
import { rng } from '../../bench/lib/rng.js'
import { recall } from '../../bench/lib/stats.js'
import type { SessionVectors } from '../../src/vectors/index.js'
import { bruteForce, makeEngine, until, cosine } from './fixtures/engine.js'

const EXACT_ONLY = { exactSearchMaxVectors: 1_000_000_000 }
const LOW = { exactSearchMaxVectors: 500, hnswEfConstruction: 100, hnswEfSearch: 64 }

function upload(s: SessionVectors, rows: Map<string, number[]>, ids: string[], meta: (id: string) => Record<string, unknown> = (id) => ({ n: Number(id.slice(1)) })): void {
  for (let b = 0; b < ids.length; b += 1000) {
    const vectors = ids.slice(b, b + 1000).map((id) => ({ id, vector: rows.get(id)!, metadata: meta(id) }))
    if (s.upload({ vectors }).rejected.length > 0) throw new Error('test data rejected')
  }
}

t.test('exact answers (ids, scores, metadata) are identical while a compaction runs and after it', async (t) => {
  const { session } = makeEngine({ tuning: EXACT_ONLY }, t)
  const s = session()
  const dims = 16
  const c = clustered({ count: 4000, dims, seed: 21 })
  const rows = new Map<string, number[]>()
  for (let i = 0; i < 4000; i++) rows.set(`d${i}`, row(c.data, dims, i))
  upload(s, rows, [...rows.keys()])
  const gone = [...rows.keys()].filter((_, i) => i % 8 !== 0 && i % 3 !== 0)
  t.same(s.delete({ ids: gone }), { deleted: gone.length, total: 4000 - gone.length })
  for (const id of gone) rows.delete(id)
  t.equal(s.compacting, true, 'dead slots outnumber live ones: a compaction started, it runs later')
  const queries = Array.from({ length: 30 }, () => Array.from(c.query()))
  const ask = (q: number[], i: number) => s.search({ vector: q, k: 10, ...(i % 2 ? { filter: { n: { $gte: 1000 } } } : {}) })
  // each search takes its snapshot when called, so these read the segment being compacted
  const during = await Promise.all(queries.map(ask))
  await until(() => !s.compacting)
  const after = await Promise.all(queries.map(ask))
  t.same(after, during, 'same ids, scores and metadata')
  let wrong = 0
  queries.forEach((q, i) => {
    const truth = bruteForce(rows, q, 10, i % 2 ? (id) => Number(id.slice(1)) >= 1000 : undefined)
    if (after[i]!.results.map((h) => h.id).join() !== truth.join()) wrong++
    if (after[i]!.total !== rows.size) wrong++
  })
  t.equal(wrong, 0, 'and they are the true top 10')
  const one = after[0]!.results[0]!
  t.same(one.metadata, { n: Number(one.id.slice(1)) })
})

t.test('searches in flight across compactions and mutations answer from the state they started on', async (t) => {
  const { session } = makeEngine({ tuning: EXACT_ONLY }, t)
  const s = session()
  const dims = 8
  const r = rng(5)
  const vec = (): number[] => Array.from({ length: dims }, () => r() - 0.5)
  const rows = new Map<string, number[]>()
  const pending: { p: ReturnType<SessionVectors['search']>; truth: string[]; q: number[]; total: number; snapshot: Map<string, number[]> }[] = []
  let startedWhileCompacting = 0
  let compactions = 0
  for (let round = 0; round < 400; round++) {
    const x = r()
    if (x < 0.55) {
      const vectors = Array.from({ length: 50 + Math.floor(r() * 300) }, () => ({ id: `k${Math.floor(r() * 3000)}`, vector: vec() }))
      const wasCompacting = s.compacting
      s.upload({ vectors })
      for (const v of vectors) rows.set(v.id, v.vector)
      if (!wasCompacting && s.compacting) compactions++
    } else if (x < 0.7) {
      const ids = Array.from({ length: 50 + Math.floor(r() * 300) }, () => `k${Math.floor(r() * 3000)}`)
      const wasCompacting = s.compacting
      s.delete({ ids })
      for (const id of ids) rows.delete(id)
      if (!wasCompacting && s.compacting) compactions++
    } else if (x < 0.9) {
      const q = vec()
      if (s.compacting) startedWhileCompacting++
      const snapshot = new Map(rows)
      pending.push({ p: s.search({ vector: q, k: 5 }), truth: bruteForce(rows, q, 5), q, total: rows.size, snapshot })
    } else {
      await turn() // compaction slices (and searches) run
    }
  }
  let wrong = 0
  for (const { p, truth, q, total, snapshot } of pending) {
    const res = await p
    if (res.total !== total || res.results.map((h) => h.id).join() !== truth.join()) wrong++
    for (const h of res.results) if (Math.abs(h.score - cosine(snapshot.get(h.id)!, q)) > 1e-5) wrong++
  }
  t.equal(wrong, 0, `all ${pending.length} searches answered from their snapshot`)
  t.ok(compactions >= 3, `compactions: ${compactions}`)
  t.ok(startedWhileCompacting >= 10, `searches started during a compaction: ${startedWhileCompacting}`)
})

t.test('HNSW: label -> row mapping stays right through a compaction (deletes, upserts, new vectors)', async (t) => {
  const { session } = makeEngine({ tuning: LOW }, t)
  const s = session('hnsw')
  const dims = 48
  const c = clustered({ count: 3000, dims, seed: 31 })
  const rows = new Map<string, number[]>()
  for (let i = 0; i < 3000; i++) rows.set(`d${i}`, row(c.data, dims, i))
  upload(s, rows, [...rows.keys()])
  await until(() => s.indexState === 'ready')
  const other = clustered({ count: 300, dims, seed: 32 })
  // delete 1700, move 200 of the rest elsewhere (upserts), add 100 new ones
  const ids = [...rows.keys()]
  const gone = ids.filter((_, i) => i % 16 < 9)
  s.delete({ ids: gone })
  for (const id of gone) rows.delete(id)
  t.equal(s.compacting, true)
  const moved = [...rows.keys()].slice(0, 200)
  moved.forEach((id, i) => rows.set(id, row(other.data, dims, i)))
  for (let i = 200; i < 300; i++) rows.set(`new${i}`, row(other.data, dims, i))
  upload(s, rows, [...moved, ...Array.from({ length: 100 }, (_, i) => `new${i + 200}`)], (id) => ({ id }))
  const queries = [...Array.from({ length: 20 }, () => Array.from(c.query())), ...Array.from({ length: 20 }, () => Array.from(other.query()))]
  const check = async (label: string): Promise<void> => {
    let sum = 0
    let wrong = 0
    let approx = 0
    const results = await Promise.all(queries.map((q) => s.search({ vector: q, k: 10 })))
    results.forEach((res, i) => {
      const q = queries[i]!
      if (!res.exact) approx++
      if (res.total !== rows.size) wrong++
      for (const h of res.results) {
        const v = rows.get(h.id)
        if (!v || Math.abs(h.score - cosine(v, q)) > 1e-5) wrong++ // a deleted id, or a label leading to the wrong row
        const n = Number(h.id.slice(1))
        if (!h.id.startsWith('new') && !moved.includes(h.id) && (h.metadata as { n: number }).n !== n) wrong++
      }
      sum += recall(
        res.results.map((h) => h.id),
        bruteForce(rows, q, 10),
      )
    })
    t.equal(wrong, 0, `${label}: only live ids, with their current vectors and metadata`)
    t.ok(approx >= queries.length / 2, `${label}: served by HNSW (${approx}/${queries.length})`)
    t.ok(sum / queries.length >= 0.9, `${label}: recall@10 ${sum / queries.length}`)
  }
  await check('during the compaction')
  await until(() => !s.compacting)
  await check('after the swap')
  await until(() => s.indexState === 'ready')
  // new deaths after the swap reach the worker under the right labels
  const more = [...rows.keys()].filter((_, i) => i % 5 === 0)
  s.delete({ ids: more })
  for (const id of more) rows.delete(id)
  await check('after more deletes')
})

t.test('HNSW: a compaction during the graph build leaves a right graph', async (t) => {
  const { session, engine } = makeEngine({ tuning: LOW }, t)
  const s = session('build')
  const dims = 48
  const c = clustered({ count: 4000, dims, seed: 41 })
  const rows = new Map<string, number[]>()
  for (let i = 0; i < 4000; i++) rows.set(`d${i}`, row(c.data, dims, i))
  upload(s, rows, [...rows.keys()].slice(0, 3000))
  t.equal(s.indexState, 'building')
  const gone = [...rows.keys()].filter((_, i) => i < 3000 && i % 3 !== 0)
  s.delete({ ids: gone })
  for (const id of gone) rows.delete(id)
  t.equal(s.compacting, true)
  await turn()
  upload(
    s,
    rows,
    [...rows.keys()].filter((id) => Number(id.slice(1)) >= 3000),
  )
  await until(() => s.indexState === 'ready' && !s.compacting)
  t.equal(s.count, rows.size)
  t.equal(engine.stats().vectors, rows.size)
  let sum = 0
  let wrong = 0
  for (let i = 0; i < 40; i++) {
    const q = Array.from(c.query())
    const res = await s.search({ vector: q, k: 10 })
    if (res.exact) wrong++
    for (const h of res.results) {
      const v = rows.get(h.id)
      if (!v || Math.abs(h.score - cosine(v, q)) > 1e-5) wrong++
    }
    sum += recall(
      res.results.map((h) => h.id),
      bruteForce(rows, q, 10),
    )
  }
  t.equal(wrong, 0, 'HNSW answers with live ids and right scores')
  t.ok(sum / 40 >= 0.95, `recall@10 ${sum / 40}`)
})
