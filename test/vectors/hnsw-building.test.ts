// Searches while the HNSW graph is still being built: the part of the graph
// that is built plus an exact scan of the tail (labels at or above the
// watermark), merged. The merge itself is driven with a real GraphSet on the
// main thread holding exactly the labels below a chosen watermark, against
// the real store; the rule for when the graph serves, SessionIndex's coverage
// and whole searches are driven through a real worker. Data: clustered
// vectors, with a few planted close to the query so the true top k is
// unambiguous (well above anything else) and sits where each case wants it.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { clustered, row } from '../../bench/lib/data.js'
import { gaussian, rng } from '../../bench/lib/rng.js'
import { approximateSearch, graphServes, hits, type GraphSearch } from '../../src/vectors/approximate-search.js'
import { exactScan } from '../../src/vectors/exact-scan.js'
import { compileFilter } from '../../src/vectors/filter.js'
import { GraphSet } from '../../src/vectors/hnsw-graphs.js'
import { SessionIndex } from '../../src/vectors/hnsw-index.js'
import { HnswPool } from '../../src/vectors/hnsw-pool.js'
import type { FromWorker } from '../../src/vectors/hnsw-protocol.js'
import { VectorStore, type StoreView } from '../../src/vectors/store.js'
import type { IndexTuning } from '../../src/vectors/types.js'
import { waitUntil } from '../helpers/wait.js'
import { startedWorkers } from '../helpers/workers.js'
import { bruteForce, makeEngine, until } from './fixtures/engine.js'

const DIMS = 32
const N = 3000
/** The watermark of the partial graph: labels 0..1499 are in it, 1500..2999 are the tail. */
const W = 1500
const TUNING: IndexTuning = { exactSearchMaxVectors: 500, hnswM: 16, hnswEfConstruction: 100, hnswEfSearch: 64 }

const normalized = (v: ArrayLike<number>): Float32Array => {
  const n = Math.hypot(...Array.from(v))
  return Float32Array.from(v, (x) => x / n)
}

/** The query, and `count` vectors close to it, the j-th at a distance growing with j (so their order is known). */
function planted(q: Float32Array, count: number, seed: number, start = 0.02, step = 0.01): Float32Array[] {
  const g = gaussian(rng(seed))
  return Array.from({ length: count }, (_, j) => {
    const eps = start + step * j
    const noise = normalized(Array.from({ length: q.length }, () => g()))
    return normalized(q.map((x, i) => x + eps * noise[i]!))
  })
}

/**
 * A store of N clustered unit vectors `d0..` (metadata { i, even }), some rows
 * replaced by planted ones (`at[j]` holds planted vector j), labelled as a new
 * generation: labels are slots 0..N-1.
 */
function dataset(seed: number, at: number[], plantSeed = seed + 100) {
  const c = clustered({ count: N, dims: DIMS, seed })
  const q = normalized(c.query())
  const near = planted(q, at.length, plantSeed)
  const rows = Array.from({ length: N }, (_, i) => normalized(row(c.data, DIMS, i)))
  at.forEach((i, j) => (rows[i] = near[j]!))
  const store = new VectorStore()
  store.reserve(DIMS, N)
  store.begin()
  rows.forEach((v, i) => store.put(`d${i}`, v, { i, even: i % 2 === 0 }))
  store.startLabels(1)
  return { store, q, rows, near, c }
}

/** A real graph (hnswlib, via GraphSet on this thread) holding labels [0, upTo), reporting `watermark`. */
function partialGraph(store: VectorStore, upTo: number, watermark = upTo) {
  const sent: FromWorker[] = []
  const graphs = new GraphSet((msg) => void sent.push(msg))
  graphs.handle({ op: 'init', index: 1, dims: DIMS, m: 16, efConstruction: 100, capacity: N })
  const labels: number[] = []
  for (let label = 0; label < upTo; label++) if (store.liveSlotOf(label) >= 0) labels.push(label)
  const vectors = new Float32Array(labels.length * DIMS)
  labels.forEach((label, i) => store.copyRow(store.liveSlotOf(label), vectors, i * DIMS))
  graphs.handle({ op: 'add', index: 1, labels: Uint32Array.from(labels), vectors })
  while (graphs.work(Number.POSITIVE_INFINITY));
  let id = 0
  const asked: number[] = []
  const graph: GraphSearch = {
    watermark,
    search(query, k, ef) {
      asked.push(k)
      graphs.handle({ op: 'search', id: ++id, index: 1, query, k, ef })
      const reply = sent.splice(
        sent.findIndex((m) => m.op === 'result' && m.id === id),
        1,
      )[0]!
      if (!('labels' in reply)) return Promise.reject(new Error('error' in reply ? reply.error : 'no reply'))
      return Promise.resolve({ labels: reply.labels, scores: reply.scores })
    },
  }
  const del = (labels: number[]): void => graphs.handle({ op: 'del', index: 1, labels: Uint32Array.from(labels) })
  const drop = (): void => graphs.handle({ op: 'drop', index: 1 })
  return { graph, del, drop, asked }
}

interface Ask {
  k: number
  threshold?: number
  filter?: unknown
}

/** The merged search and the exact scan of the same view; the merged one must not fall back. */
async function both(view: StoreView, graph: GraphSearch, q: Float32Array, ask: Ask) {
  const predicate = ask.filter === undefined ? undefined : compileFilter(ask.filter)
  const merged = await approximateSearch(view, graph, { q, k: ask.k, threshold: ask.threshold, predicate }, TUNING)
  const top = await exactScan(view, q, ask.k, { threshold: ask.threshold, predicate })
  return { merged: merged!, exact: { results: hits(view, top), total: view.count, exact: true } }
}

const ids = (r: { results: { id: string }[] }): string[] => r.results.map((h) => h.id)

t.test('graphServes: once ready, or once the graph covers exactSearchMaxVectors live vectors', async (t) => {
  t.equal(graphServes({ ready: false, coveredLive: 0 }, TUNING), false, 'right after the start (watermark 0): exact')
  t.equal(graphServes({ ready: false, coveredLive: 499 }, TUNING), false)
  t.equal(graphServes({ ready: false, coveredLive: 500 }, TUNING), true, 'the graph holds as many as a session needs to get one')
  t.equal(graphServes({ ready: true, coveredLive: 0 }, TUNING), true, 'ready: unchanged, always')
  const zero = { ...TUNING, exactSearchMaxVectors: 0 }
  t.equal(graphServes({ ready: false, coveredLive: 0 }, zero), false, 'an empty graph never serves')
  t.equal(graphServes({ ready: false, coveredLive: 1 }, zero), true)
})

t.test('during a build: the k best of graph and tail, nearest planted in the tail', async (t) => {
  const at = Array.from({ length: 10 }, (_, j) => W + 100 + j * 97) // all in the tail
  const { store, q } = dataset(1, at)
  const { graph, asked } = partialGraph(store, W)
  const view = store.view()
  const { merged, exact } = await both(view, graph, q, { k: 10 })
  t.equal(merged.exact, false, 'answered by graph + tail')
  t.same(asked, [10], 'the graph was asked')
  t.same(
    ids(merged),
    at.map((i) => `d${i}`),
    'the planted ones, in order',
  )
  t.same(merged.results, exact.results, 'same ids, scores, metadata as an exact scan')
  t.equal(merged.total, N)
})

t.test('during a build: nearest planted in the graph part, and interleaved between graph and tail', async (t) => {
  const inGraph = Array.from({ length: 10 }, (_, j) => 50 + j * 131) // all below W
  const a = dataset(2, inGraph)
  const { merged, exact } = await both(a.store.view(), partialGraph(a.store, W).graph, a.q, { k: 10 })
  t.equal(merged.exact, false)
  t.same(
    ids(merged),
    inGraph.map((i) => `d${i}`),
    'found by the graph',
  )
  t.same(merged.results, exact.results)

  // planted j in the graph for even j, in the tail for odd j: the order interleaves
  const mixed = Array.from({ length: 12 }, (_, j) => (j % 2 === 0 ? 10 + j * 100 : W + 10 + j * 100))
  const b = dataset(3, mixed)
  const r = await both(b.store.view(), partialGraph(b.store, W).graph, b.q, { k: 12 })
  t.equal(r.merged.exact, false)
  t.same(
    ids(r.merged),
    mixed.map((i) => `d${i}`),
  )
  t.same(r.merged.results, r.exact.results)
  // k larger than the planted: the rest of the answer comes from both parts too
  const wide = await both(b.store.view(), partialGraph(b.store, W).graph, b.q, { k: 20 })
  t.same(wide.merged.results.slice(0, 12), wide.exact.results.slice(0, 12), 'the planted 12 first, as exact')
  t.equal(wide.merged.results.length, 20)
})

t.test('graph candidates past the reported watermark are left to the tail scan: each vector once', async (t) => {
  // The worker added up to 2000 but has reported only 1500: planted in 1500..1999 are in both the graph and the tail.
  const at = [1510, 1600, 1700, 1800, 1990, 20, 300]
  const { store, q } = dataset(4, at)
  const { graph } = partialGraph(store, 2000, W)
  const { merged, exact } = await both(store.view(), graph, q, { k: 7 })
  t.same(
    ids(merged),
    at.map((i) => `d${i}`),
  )
  t.equal(new Set(ids(merged)).size, 7, 'no duplicates')
  t.same(merged.results, exact.results)
})

t.test('during a build with a filter, and with a threshold', async (t) => {
  const at = [100, 101, 702, 703, W + 4, W + 5, W + 306, W + 307, 1200, W + 1001] // even and odd, both parts
  const { store, q } = dataset(5, at)
  const { graph, asked } = partialGraph(store, W)
  const view = store.view()
  const even = await both(view, graph, q, { k: 5, filter: { even: true } })
  t.equal(even.merged.exact, false, 'half the rows match: graph with more candidates, plus the matching tail')
  t.equal(asked[0], 20, '2 x k x total / matches candidates')
  t.same(ids(even.merged), ['d100', 'd702', `d${W + 4}`, `d${W + 306}`, 'd1200'])
  t.same(even.merged.results, even.exact.results)

  const rare = await both(view, graph, q, { k: 5, filter: { i: { $in: at.slice(0, 6) } } })
  t.equal(rare.merged.exact, true, 'few matches: an exact scan of them, as after the build')
  t.same(rare.merged.results, rare.exact.results)

  // a threshold between the 5th and 6th planted scores (from ~0.9998 down to ~0.994)
  const scores = (await both(view, graph, q, { k: 10 })).exact.results.map((h) => h.score)
  const threshold = (scores[4]! + scores[5]!) / 2
  const cut = await both(view, graph, q, { k: 20, threshold })
  t.equal(cut.merged.exact, false)
  t.same(
    ids(cut.merged),
    at.slice(0, 5).map((i) => `d${i}`),
    'the threshold keeps the first five planted, from both parts',
  )
  t.same(cut.merged.results, cut.exact.results)
  const none = await both(view, graph, q, { k: 20, threshold: 0.99999 })
  t.same(none.merged.results, [], 'nothing reaches it')
  t.equal(none.merged.exact, false, 'eligible candidates were plenty: no fallback')

  const odd = await both(view, graph, q, { k: 3, threshold, filter: { even: false } })
  t.equal(odd.merged.exact, false)
  t.same(ids(odd.merged), ['d101', 'd703'], 'filter and threshold: the odd planted above it (j = 1, 3)')
  t.same(odd.merged.results, odd.exact.results)
})

t.test('deletes and upserts during a build: a deleted vector never comes back, an upserted one once, as it is now', async (t) => {
  const at = [10, 20, 30, W + 10, W + 20, W + 30]
  const { store, q } = dataset(6, at)
  const { graph, del } = partialGraph(store, W)
  const before = store.view()
  const mutate = (fn: () => void): void => {
    store.reserve(DIMS, 2) // room for upserts, as an upload reserves it
    store.begin()
    fn()
  }
  // a tail vector deleted; a graph vector deleted and its tombstone sent (as SessionIndex does); another
  // graph vector deleted whose tombstone has not reached the graph yet
  mutate(() => {
    store.remove(`d${W + 10}`)
    store.remove('d10')
    store.remove('d20')
  })
  const dead = store.takeDeadLabels()
  t.same(
    dead.sort((a, b) => a - b),
    [10, 20, W + 10],
  )
  del([10])
  const afterDelete = store.view()
  const r1 = await both(afterDelete, graph, q, { k: 3 })
  t.equal(r1.merged.exact, false)
  t.same(ids(r1.merged), ['d30', `d${W + 20}`, `d${W + 30}`], 'the deleted ones are gone, the graph still returning d20 or not')
  t.same(r1.merged.results, r1.exact.results)
  t.equal(r1.merged.total, N - 3)
  // A search on the view from before the deletes still sees d20 (the graph still holds it) and
  // W+10 (the tail). Not d10: its tombstone already reached the graph, and below the watermark
  // only the graph answers (the same race as after the build; the answer says exact: false).
  const old = await both(before, graph, q, { k: 6 })
  t.same(ids(old.merged).slice(0, 5), ['d20', 'd30', `d${W + 10}`, `d${W + 20}`, `d${W + 30}`], 'a view from before keeps its state')
  t.same(
    ids(old.exact),
    at.map((i) => `d${i}`),
  )

  // upserts: d30 (graph part) moves to the query's very place, W+20 (tail) moves far away
  mutate(() => {
    store.put('d30', q, { moved: true })
    store.put(
      `d${W + 20}`,
      q.map((x) => -x),
      { away: true },
    )
  })
  t.equal(store.takeDeadLabels().length, 2)
  const r2 = await both(store.view(), graph, q, { k: 4 })
  t.equal(r2.merged.results[0]!.id, 'd30', 'the upserted vector, at its new value (now in the tail)')
  t.ok(r2.merged.results[0]!.score > 0.99999)
  t.same(r2.merged.results[0]!.metadata, { moved: true })
  t.equal(ids(r2.merged).filter((id) => id === 'd30').length, 1, 'once: its old label, still in the graph, is dead in the view')
  t.notOk(ids(r2.merged).includes(`d${W + 20}`), 'moved away')
  t.same(r2.merged.results, r2.exact.results)
  const far = await both(
    store.view(),
    graph,
    q.map((x) => -x),
    { k: 1 },
  )
  t.same(ids(far.merged), [`d${W + 20}`])
  t.same(far.merged.results[0]!.metadata, { away: true })
})

t.test('the worker failing mid-search during a build: null, so the caller scans exactly', async (t) => {
  const { store, q } = dataset(7, [W + 1])
  const { graph, drop } = partialGraph(store, W)
  drop()
  t.equal(await approximateSearch(store.view(), graph, { q, k: 5, threshold: undefined, predicate: undefined }, TUNING), null)
})

// ---- through a real worker ----

const silent = pino({ level: 'silent' })

/** Clustered rows with ten planted close to the query, half early (the first labels the worker adds), half late. */
function plantedRows(count: number, dims: number, seed: number) {
  const c = clustered({ count, dims, seed })
  const q = normalized(c.query())
  const at = [5, 17, 40, 70, 99, count - 300, count - 200, count - 150, count - 90, count - 3]
  const near = planted(q, at.length, seed + 1)
  const rows = new Map<string, number[]>()
  for (let i = 0; i < count; i++) rows.set(`d${i}`, row(c.data, dims, i))
  at.forEach((i, j) => rows.set(`d${i}`, Array.from(near[j]!)))
  return { q: Array.from(q), at: at.map((i) => `d${i}`), rows }
}

t.test('SessionIndex: coverage grows from 0 with the watermark; it serves from the threshold on, merged answers are right', async (t) => {
  const pool = new HnswPool()
  t.teardown(() => pool.close())
  const dims = 64
  const count = 6000
  const { q, at, rows } = plantedRows(count, dims, 8)
  const store = new VectorStore()
  store.reserve(dims, count)
  store.begin()
  for (const [id, v] of rows) store.put(id, normalized(v), {})
  const tuning = { ...TUNING, exactSearchMaxVectors: 1000, hnswEfConstruction: 200 }
  const idx = new SessionIndex(store, pool, tuning, silent, 'cover', () => t.fail('the index failed'))
  t.equal(idx.coveredLive, 0, 'nothing covered right after the start')
  t.equal(idx.watermark, 0)
  t.equal(idx.serves, false, 'so searches are exact')
  await waitUntil(() => idx.serves, { what: 'the graph to cover the threshold', timeoutMs: 30_000, intervalMs: 1 })
  t.equal(idx.ready, false, 'serving while still building')
  t.ok(idx.coveredLive >= 1000 && idx.coveredLive <= idx.watermark, `covered ${idx.coveredLive}, watermark ${idx.watermark}`)
  const view = store.view()
  const tailBefore = view.labels!.next - idx.watermark
  const merged = await approximateSearch(view, idx, { q: normalized(q), k: 10, threshold: undefined, predicate: undefined }, tuning)
  t.ok(tailBefore > 0, `the tail was ${tailBefore} labels`)
  t.equal(merged?.exact, false)
  t.same(ids(merged!), at, 'the planted ten, found in the graph and in the tail')
  t.same(merged!.results, hits(view, await exactScan(view, normalized(q), 10)))

  // deleting a covered vector lowers the coverage at once, one in the tail does not
  await until(() => idx.ready)
  t.equal(idx.coveredLive, count)
  store.reserve(dims, 1)
  store.begin()
  store.remove('d5')
  store.put('d17', normalized(q), {})
  idx.sync()
  t.equal(idx.coveredLive, count - 2, 'a delete and an upsert of covered vectors')
  await until(() => idx.coveredLive === count - 1, 'the upserted vector to be covered again')
  t.equal(idx.serves, true)
  idx.drop('disposed')
  t.equal(idx.serves, false, 'a dropped index serves nothing')
})

t.test('through the session: exact at the start of a build, then graph + tail while building, right throughout', async (t) => {
  const { session, engine } = makeEngine({ tuning: { exactSearchMaxVectors: 500, hnswEfConstruction: 100, hnswEfSearch: 64 } }, t)
  const dims = 48
  const count = 4000
  const { q, at, rows } = plantedRows(count, dims, 9)
  const s = session('during')
  const all = [...rows].map(([id, vector]) => ({ id, vector, metadata: { n: Number(id.slice(1)) } }))
  for (let b = 0; b < all.length; b += 1000) s.upload({ vectors: all.slice(b, b + 1000) })
  t.equal(s.indexState, 'building')
  const first = await s.search({ vector: q, k: 10 })
  t.equal(first.exact, true, 'right after the build starts nothing is covered: exact')
  t.same(ids(first), at)
  const seen = { exact: 1, mergedBuilding: 0, ready: 0, wrong: 0, backToExact: 0 }
  while (seen.ready < 5) {
    const building = s.indexState === 'building'
    const r = await s.search({ vector: q, k: 10 })
    if (ids(r).join() !== at.join() || r.total !== count) seen.wrong++
    if (r.exact) {
      seen.exact++
      if (seen.mergedBuilding + seen.ready > 0) seen.backToExact++
    } else if (building && s.indexState === 'building') seen.mergedBuilding++
    else if (!building) seen.ready++
    await sleep(1) // leave the worker time to build (back-to-back searches slow it down a lot)
  }
  t.equal(seen.wrong, 0, `every answer was the planted ten (${JSON.stringify(seen)})`)
  t.ok(seen.mergedBuilding > 0, 'answered by graph + tail while building')
  t.equal(seen.backToExact, 0, 'never back to exact once the graph served')
  t.same(engine.stats().building, 0)

  // filtered and with a threshold, during the build of another session
  const s2 = session('filtered')
  for (let b = 0; b < all.length; b += 1000) s2.upload({ vectors: all.slice(b, b + 1000).map((v) => ({ ...v, metadata: { keep: v.metadata.n % 3 !== 0 } })) })
  const want = bruteForce(rows, q, 5, (id) => Number(id.slice(1)) % 3 !== 0).join()
  const filtered = { exact: 0, merged: 0, wrong: 0 }
  while (s2.indexState === 'building') {
    const r = await s2.search({ vector: q, k: 5, threshold: 0.9, filter: { keep: true } })
    filtered[r.exact ? 'exact' : 'merged']++
    if (ids(r).join() !== want || r.results.some((h) => h.metadata.keep !== true || h.score < 0.9)) filtered.wrong++
    await sleep(1)
  }
  t.equal(filtered.wrong, 0, `filtered and thresholded answers were the planted that match (${JSON.stringify(filtered)})`)
  t.ok(filtered.merged > 0, 'some answered by graph + tail while building')
})

t.test('the worker exiting under a search during a build: that search and the next answer exactly and right', async (t) => {
  const workers = startedWorkers(t, 'hnsw')
  const { session } = makeEngine({ tuning: { exactSearchMaxVectors: 500, hnswEfConstruction: 200, hnswEfSearch: 64 } }, t)
  const { q, at, rows } = plantedRows(6000, 64, 10)
  const s = session('dies')
  const all = [...rows].map(([id, vector]) => ({ id, vector }))
  for (let b = 0; b < all.length; b += 1000) s.upload({ vectors: all.slice(b, b + 1000) })
  let served = false
  while (!served && s.indexState === 'building') served = !(await s.search({ vector: q, k: 10 })).exact
  t.ok(served && s.indexState === 'building', 'the graph served during the build')
  const exited = new Promise<number>((resolve) => workers[0]!.once('exit', resolve))
  workers[0]!.ref()
  workers[0]!.postMessage({ op: 'stop' }) // before the search: the worker exits without answering it
  const r = await s.search({ vector: q, k: 10 })
  t.equal(r.exact, true, 'the search in flight fell back to the exact scan')
  t.same(ids(r), at)
  t.equal(await exited, 0)
  t.equal(s.indexState, 'none')
  const again = await s.search({ vector: q, k: 10 })
  t.same([again.exact, ids(again)], [true, at])
})
