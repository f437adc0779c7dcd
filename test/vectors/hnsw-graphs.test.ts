// The HNSW worker's graph logic on the main thread, no worker: adding in
// slices with progress reports, deletes before and after a point is added,
// the tombstone rebuild and deletes during it, and a failing graph.
import t from 'tap'
import { clustered, row } from '../../bench/lib/data.js'
import { GraphSet, REBUILD_MIN_TOMBSTONES, rebuildDue } from '../../src/vectors/hnsw-graphs.js'
import type { FromWorker } from '../../src/vectors/hnsw-protocol.js'

const DIMS = 16

function unitRows(count: number, seed: number): Float32Array {
  const c = clustered({ count, dims: DIMS, seed })
  const out = new Float32Array(count * DIMS)
  for (let i = 0; i < count; i++) {
    const v = row(c.data, DIMS, i)
    const n = Math.hypot(...v)
    out.set(
      v.map((x) => x / n),
      i * DIMS,
    )
  }
  return out
}

function setup() {
  const sent: FromWorker[] = []
  const graphs = new GraphSet((msg) => void sent.push(msg))
  /** Works slice by slice until nothing is left; returns how many slices it took. */
  const drain = (): number => {
    let slices = 1
    while (graphs.work(Number.POSITIVE_INFINITY)) slices++
    return slices
  }
  let nextId = 1
  const search = (index: number, query: Float32Array, k: number): FromWorker => {
    const id = nextId++
    graphs.handle({ op: 'search', id, index, query, k, ef: 64 })
    return sent.splice(
      sent.findIndex((m) => m.op === 'result' && m.id === id),
      1,
    )[0]!
  }
  const add = (index: number, from: number, to: number, data: Float32Array): void => {
    const labels = Uint32Array.from({ length: to - from }, (_, i) => from + i)
    graphs.handle({ op: 'add', index, labels, vectors: data.slice(from * DIMS, to * DIMS) })
  }
  const del = (index: number, labels: number[]): void => graphs.handle({ op: 'del', index, labels: Uint32Array.from(labels) })
  return { graphs, sent, drain, search, add, del }
}

const query = (data: Float32Array, label: number): Float32Array => data.slice(label * DIMS, (label + 1) * DIMS)

t.test('rebuildDue: many tombstones, and more of them than live points', async (t) => {
  t.equal(rebuildDue(REBUILD_MIN_TOMBSTONES - 1, 0), false, 'too few to be worth a rebuild')
  t.equal(rebuildDue(REBUILD_MIN_TOMBSTONES, REBUILD_MIN_TOMBSTONES - 1), true)
  t.equal(rebuildDue(REBUILD_MIN_TOMBSTONES, REBUILD_MIN_TOMBSTONES), false, 'not while live points are as many')
  t.equal(rebuildDue(5000, 4999), true)
})

t.test('points are added in slices, each slice reports progress; searches find them', async (t) => {
  const { graphs, sent, add, search } = setup()
  const data = unitRows(600, 1)
  graphs.handle({ op: 'init', index: 7, dims: DIMS, m: 16, efConstruction: 100, capacity: 100 })
  t.equal(graphs.busy, false)
  add(7, 0, 600, data)
  t.equal(graphs.busy, true)
  t.equal(graphs.work(0), true, 'a deadline already passed does nothing: work remains')
  t.same(sent, [], 'and reports nothing')
  t.equal(graphs.work(Number.POSITIVE_INFINITY), false, 'done')
  t.same(sent, [{ op: 'progress', index: 7, upTo: 600, size: 600 }], 'the graph grew past its capacity of 100')
  t.equal(graphs.busy, false)
  const r = search(7, query(data, 123), 5)
  t.match(r, { op: 'result', labels: Array })
  t.equal((r as { labels: number[] }).labels[0], 123, 'a stored point is its own nearest neighbour')
  t.same(search(99, query(data, 1), 5), { op: 'result', id: 2, error: 'no such index' })
})

t.test('a label deleted before its turn is skipped, one deleted after is gone from results', async (t) => {
  const { graphs, sent, add, del, drain, search } = setup()
  const data = unitRows(300, 2)
  graphs.handle({ op: 'init', index: 1, dims: DIMS, m: 16, efConstruction: 100, capacity: 400 })
  add(1, 0, 300, data)
  del(1, [250]) // not added yet
  drain()
  t.match(sent.at(-1), { op: 'progress', upTo: 300, size: 299 }, 'progress still passes the skipped label')
  del(1, [10])
  const labels = (search(1, query(data, 10), 10) as { labels: number[] }).labels
  t.notOk(labels.includes(10), 'a deleted point is not returned')
  t.notOk((search(1, query(data, 250), 10) as { labels: number[] }).labels.includes(250))
  t.equal(graphs.busy, false, 'two tombstones start no rebuild')
})

t.test('tombstones past the limit rebuild the graph slice by slice; deletes during it hold', async (t) => {
  const { graphs, sent, add, del, drain, search } = setup()
  const n = 3000
  const data = unitRows(n, 3)
  graphs.handle({ op: 'init', index: 4, dims: DIMS, m: 16, efConstruction: 100, capacity: n })
  add(4, 0, n, data)
  drain()
  sent.length = 0
  const gone = Array.from({ length: 1600 }, (_, i) => i) // 0..1599
  del(4, gone.slice(0, 1400))
  t.equal(graphs.busy, false, '1400 tombstones, 1600 live: no rebuild yet')
  del(4, gone.slice(1400))
  t.equal(graphs.busy, true, '1600 tombstones, 1400 live: a rebuild starts')
  del(4, [1600, 2999]) // deleted while the rebuild has yet to copy them: they must stay gone
  const late = unitRows(1, 9)
  graphs.handle({ op: 'add', index: 4, labels: Uint32Array.from([n]), vectors: late.slice() }) // arrives during the rebuild: copied too
  drain()
  const rebuilt = sent.filter((m) => m.op === 'rebuilt')
  t.match(rebuilt, [{ op: 'rebuilt', index: 4, size: 1399, ms: Number }])
  t.equal(graphs.busy, false)
  for (const label of [1599, 1600, 2999]) {
    const found = (search(4, query(data, label), 20) as { labels: number[] }).labels
    t.notOk(found.includes(label), `deleted label ${label} is not in the rebuilt graph`)
  }
  t.equal((search(4, query(data, 2000), 1) as { labels: number[] }).labels[0], 2000, 'live points are')
  t.equal((search(4, late, 1) as { labels: number[] }).labels[0], n, 'the point added during the rebuild is')
  // The rebuilt graph starts counting tombstones again.
  del(4, [1601, 1602])
  t.equal(graphs.busy, false)
})

t.test('a graph that throws reports failed and is gone; the others go on', async (t) => {
  const { graphs, sent, add, drain, search } = setup()
  const data = unitRows(50, 4)
  graphs.handle({ op: 'init', index: 1, dims: DIMS, m: 16, efConstruction: 100, capacity: 64 })
  graphs.handle({ op: 'init', index: 2, dims: DIMS, m: 16, efConstruction: 100, capacity: 64 })
  add(1, 0, 50, data)
  // Vectors shorter than the graph's dimension: hnswlib refuses the first point.
  graphs.handle({ op: 'add', index: 2, labels: Uint32Array.from([0, 1]), vectors: new Float32Array(DIMS) })
  drain()
  t.match(
    sent.filter((m) => m.op === 'failed'),
    [{ op: 'failed', index: 2, message: String }],
  )
  t.equal(graphs.size, 1)
  t.match(search(2, query(data, 0), 1), { error: 'no such index' })
  t.equal((search(1, query(data, 7), 1) as { labels: number[] }).labels[0], 7)
  graphs.handle({ op: 'drop', index: 1 })
  t.equal(graphs.size, 0)
})

t.test('the poll between points: a search is answered mid-slice, and an index dropped there is not touched again', async (t) => {
  const { graphs, sent, add } = setup()
  const data = unitRows(400, 3)
  graphs.handle({ op: 'init', index: 1, dims: DIMS, m: 16, efConstruction: 100, capacity: 500 })
  graphs.handle({ op: 'init', index: 2, dims: DIMS, m: 16, efConstruction: 100, capacity: 500 })
  add(1, 0, 400, data)
  add(2, 0, 400, data)
  let polls = 0
  // Mid-slice (the 50th point): a search of index 1 arrives; at the 100th, index 2 is dropped.
  const poll = (): void => {
    polls++
    if (polls === 50) graphs.handle({ op: 'search', id: 77, index: 1, query: query(data, 3), k: 3, ef: 64 })
    if (polls === 100) graphs.handle({ op: 'drop', index: 2 })
  }
  t.equal(graphs.work(Number.POSITIVE_INFINITY, poll), false, 'one slice did all the work')
  const result = sent.find((m) => m.op === 'result')
  t.match(result, { op: 'result', id: 77, labels: Array }, 'answered inside the slice, from the points added so far')
  t.ok(sent.indexOf(result!) < sent.findIndex((m) => m.op === 'progress'), 'before the slice reported its progress')
  t.same(
    sent.filter((m) => m.op === 'progress'),
    [{ op: 'progress', index: 1, upTo: 400, size: 400 }],
    'index 1 finished; the dropped index 2 reports nothing and got no point after its drop',
  )
  t.ok(polls >= 400, 'polled before every point')
  t.equal(graphs.size, 1)
})

t.test('points: the stored vectors back, bit for bit, by label; deleted, unknown and never-added labels are not found', async (t) => {
  const { graphs, sent, drain, add, del } = setup()
  const data = unitRows(300, 9)
  graphs.handle({ op: 'init', index: 1, dims: DIMS, m: 16, efConstruction: 50, capacity: 300 })
  add(1, 0, 300, data)
  drain()
  del(1, [7])
  graphs.handle({ op: 'points', id: 41, index: 1, labels: Uint32Array.from([0, 299, 7, 5000, 150]) })
  const reply = sent.find((m) => m.op === 'points' && m.id === 41)
  if (reply?.op !== 'points') throw new Error('no points reply')
  t.same([...reply.found], [1, 1, 0, 0, 1])
  t.same(reply.vectors.subarray(0, DIMS), data.subarray(0, DIMS), 'label 0, exactly as added')
  t.same(reply.vectors.subarray(DIMS, 2 * DIMS), data.subarray(299 * DIMS, 300 * DIMS))
  t.same(reply.vectors.subarray(4 * DIMS, 5 * DIMS), data.subarray(150 * DIMS, 151 * DIMS))
  t.ok(
    reply.vectors.subarray(2 * DIMS, 4 * DIMS).every((x) => x === 0),
    'rows not found are zeros',
  )
  graphs.handle({ op: 'points', id: 42, index: 9, labels: Uint32Array.from([0]) })
  t.match(
    sent.find((m) => m.op === 'result' && m.id === 42),
    { error: 'no such index' },
  )
})

t.test('search: candidates best first, scored 1 - inner-product distance', async (t) => {
  const { graphs, drain, add, search } = setup()
  const data = unitRows(200, 10)
  graphs.handle({ op: 'init', index: 1, dims: DIMS, m: 16, efConstruction: 50, capacity: 200 })
  add(1, 0, 200, data)
  drain()
  const q = data.slice(42 * DIMS, 43 * DIMS)
  const r = search(1, q, 5)
  if (r.op !== 'result' || !('scores' in r)) throw new Error('no search reply')
  t.equal(r.labels[0], 42, 'the query point itself first')
  t.ok(Math.abs(r.scores[0]! - 1) < 1e-6, 'scoring 1 against itself')
  t.ok(
    r.scores.every((s, i) => i === 0 || s <= r.scores[i - 1]!),
    'best first',
  )
})
