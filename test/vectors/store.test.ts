// The store's snapshot guarantee under compaction, both ways it compacts.
import t from 'tap'
import { CHUNK_MASK, CHUNK_SHIFT, isAlive, VectorStore, type StoreView } from '../../src/vectors/store.js'

const DIMS = 4
const unit = (i: number): Float32Array => {
  const v = Float32Array.from([Math.cos(i), Math.sin(i), (i % 7) / 7, 1])
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}
const rowOf = (view: StoreView, slot: number): number[] =>
  Array.from(view.chunks[slot >> CHUNK_SHIFT]!.subarray((slot & CHUNK_MASK) * DIMS, ((slot & CHUNK_MASK) + 1) * DIMS))
const visible = (view: StoreView): Map<string, number[]> => {
  const out = new Map<string, number[]>()
  for (let s = 0; s < view.end; s++) if (isAlive(view, s)) out.set(view.ids[s]!, rowOf(view, s))
  return out
}
const close = (a: number[], b: ArrayLike<number>) => a.every((x, j) => Math.abs(x - b[j]!) < 1e-7)

function filled(n: number): VectorStore {
  const st = new VectorStore()
  st.reserve(DIMS, n)
  st.begin()
  for (let i = 0; i < n; i++) st.put(`id${i}`, unit(i), { i })
  return st
}

t.test('in place when nobody reads: rows, ids, metadata and labels move together', async (t) => {
  const st = filled(3000)
  st.startLabels(1)
  st.begin()
  for (let i = 0; i < 3000; i++) if (i % 4 !== 0) st.remove(`id${i}`)
  st.takeDeadLabels()
  t.equal(st.maybeCompact(), 'in-place')
  const view = st.view()
  t.equal(view.end, 750, 'dead rows are gone')
  const seen = visible(view)
  t.equal(seen.size, 750)
  for (let i = 0; i < 3000; i += 4) {
    if (!close(seen.get(`id${i}`)!, unit(i))) t.fail(`row of id${i} moved wrong`)
  }
  let badMeta = 0
  for (let s = 0; s < view.end; s++) if ((view.meta[s] as { i: number }).i !== Number(view.ids[s]!.slice(2))) badMeta++
  t.equal(badMeta, 0, 'metadata moved with its row')
  // label i was given to id i (slot order); live labels follow their rows, dead ones lead nowhere
  let badLabels = 0
  for (let label = 0; label < 3000; label++) {
    const slot = st.liveSlotOf(label)
    if (label % 4 === 0 ? view.ids[slot] !== `id${label}` : slot !== -1) badLabels++
  }
  t.equal(badLabels, 0, 'labels follow their rows')
  st.reserve(DIMS, 1)
  st.begin()
  st.put('new', unit(9999), {})
  t.equal(st.count, 751)
  t.equal(st.view().ids[750], 'new')
})

t.test('with a reader, compaction waits, then copies; the reader keeps its snapshot', async (t) => {
  const st = filled(2500)
  const before = visible(st.view())
  const held = st.acquire()
  st.begin()
  for (let i = 0; i < 1900; i++) st.remove(`id${i}`)
  t.equal(st.maybeCompact(), null, 'dead (1900) < 4x live (600): waits for the reader')
  st.begin()
  for (let i = 1900; i < 2300; i++) st.remove(`id${i}`)
  t.equal(st.maybeCompact(), 'copy', 'dead (2300) >= 4x live (200): copy to fresh chunks')
  st.reserve(DIMS, 5)
  st.begin()
  for (let i = 0; i < 5; i++) st.put(`id${i}`, unit(-i - 1), { fresh: true })
  const snap = visible(held)
  t.equal(snap.size, 2500, 'the held view still sees all 2500')
  let same = true
  for (const [id, v] of before) if (!close(snap.get(id)!, v)) same = false
  t.ok(same, 'with their old values')
  t.equal(held.meta[0] && (held.meta[0] as { i: number }).i, 0)
  st.release()
  const now = visible(st.view())
  t.equal(now.size, 205)
  t.ok(close(now.get('id0')!, unit(-1)))
  t.equal(st.maybeCompact(), null)
})
