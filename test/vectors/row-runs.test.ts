// The pieces the HNSW tail scan is made of: RowRuns (rows picked one by one,
// scored in runs through the 8-row kernel of the exact scan) and TopK keeping
// the same k best whatever the order rows arrive in.
import t from 'tap'
import { rng } from '../../bench/lib/rng.js'
import { exactScan, rowScore, RowRuns } from '../../src/vectors/exact-scan.js'
import { CHUNK_ROWS } from '../../src/vectors/segment.js'
import { VectorStore } from '../../src/vectors/store.js'
import { TopK } from '../../src/vectors/topk.js'

const DIMS = 13 // not a multiple of 4 or 8: the kernel's remainders run too

function store(n: number, seed: number): VectorStore {
  const r = rng(seed)
  const st = new VectorStore()
  st.reserve(DIMS, n)
  st.begin()
  for (let i = 0; i < n; i++) {
    const v = Float32Array.from({ length: DIMS }, () => r() - 0.5)
    const norm = Math.hypot(...v)
    st.put(
      `v${i}`,
      v.map((x) => x / norm),
      { i },
    )
  }
  return st
}

const pairs = (top: TopK) => top.sorted().map(({ score, slot }) => [slot, score])

t.test('RowRuns scores exactly the rows it is given, bit for bit as rowScore and the exact scan do', async (t) => {
  const st = store(3 * CHUNK_ROWS + 100, 1)
  const view = st.view()
  const q = Float32Array.from({ length: DIMS }, (_, j) => Math.sin(j + 1))
  const r = rng(2)
  // runs that cross chunk boundaries (1024, 2048), runs longer than a block, lone rows, gaps, and a few out of order
  const slots: number[] = []
  for (let s = 1000; s < 1100; s++) slots.push(s)
  for (let s = 1500; s < 2100; s++) if (r() < 0.9) slots.push(s)
  slots.push(5, 3000, 7, 2999, 6)
  for (let s = 3100; s < view.end; s++) slots.push(s)
  for (const [k, min] of [
    [10, Number.NEGATIVE_INFINITY],
    [200, Number.NEGATIVE_INFINITY],
    [2000, 0.2],
  ] as const) {
    const top = new TopK(k)
    const runs = new RowRuns(view, q, top, min)
    for (const s of slots) runs.add(s)
    runs.flush()
    runs.flush() // nothing left: a no-op
    const want = new TopK(k)
    for (const s of slots) {
      const score = rowScore(view, s, q)
      if (score >= min) want.push(score, s)
    }
    t.same(pairs(top), pairs(want), `k=${k}, min=${min}: the same rows with the same scores`)
  }
  // and over every row, the same as the exact scan (whose blocks run the same kernel)
  const all = new TopK(50)
  const runs = new RowRuns(view, q, all, Number.NEGATIVE_INFINITY)
  for (let s = 0; s < view.end; s++) runs.add(s)
  runs.flush()
  t.same(pairs(all), pairs(await exactScan(view, q, 50)))
})

t.test('TopK keeps the k best (higher score, then lower slot) whatever the order of pushes', async (t) => {
  const scores = [0.5, 0.9, 0.5, 0.7, 0.9, 0.5, 0.1, 0.7]
  const want = [
    { score: 0.9, slot: 1 },
    { score: 0.9, slot: 4 },
    { score: 0.7, slot: 3 },
    { score: 0.7, slot: 7 },
    { score: 0.5, slot: 0 },
  ]
  const r = rng(3)
  for (let n = 0; n < 20; n++) {
    const order = scores.map((_, i) => i).sort(() => r() - 0.5)
    const top = new TopK(5)
    for (const i of order) top.push(scores[i]!, i)
    t.same(top.sorted(), want, `order ${order.join(',')}`)
  }
})
