// The store's guarantees under incremental compaction: snapshots stay valid,
// mutations in between stay synchronous and right, ids/metadata/rows/labels
// move together, and nothing changes for a reader until the swap.
import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { rng } from '../../bench/lib/rng.js'
import { waitUntil } from '../helpers/wait.js'
import { CHUNK_MASK, CHUNK_ROWS, CHUNK_SHIFT } from '../../src/vectors/segment.js'
import { isAlive, VectorStore, type StoreView } from '../../src/vectors/store.js'

const DIMS = 4
/** A distinct unit vector per integer (a vector "version"). */
const unit = (i: number): Float32Array => {
  const v = Float32Array.from([Math.cos(i), Math.sin(i), (i % 7) / 7, 1])
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}
const rowOf = (view: StoreView, slot: number): number[] => Array.from(view.chunks[slot >> CHUNK_SHIFT]!.subarray((slot & CHUNK_MASK) * DIMS, ((slot & CHUNK_MASK) + 1) * DIMS))
const visible = (view: StoreView): Map<string, number[]> => {
  const out = new Map<string, number[]>()
  for (let s = 0; s < view.end; s++) if (isAlive(view, s)) out.set(view.ids[s]!, rowOf(view, s))
  return out
}
const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, j) => x === b[j])

function filled(n: number): VectorStore {
  const st = new VectorStore()
  st.reserve(DIMS, n)
  st.begin()
  for (let i = 0; i < n; i++) st.put(`id${i}`, unit(i), { i })
  return st
}

t.test('compaction copies in slices; nothing changes for readers until the swap', async (t) => {
  const st = filled(3000)
  st.startLabels(1)
  const before = st.view()
  st.begin()
  for (let i = 0; i < 3000; i++) if (i % 4 !== 0) st.remove(`id${i}`)
  t.same(st.takeDeadLabels().length, 2250)
  t.equal(st.dead, 2250)
  t.equal(st.maybeCompact(), true, 'dead (2250) >= live (750): starts')
  t.equal(st.maybeCompact(), false, 'one at a time')
  t.match(st.compaction, { running: true, cursor: 0, end: 3000 })
  const during = st.view()
  let steps = 0
  while (!st.compactStep(100)) {
    steps++
    const v = st.view()
    if (v.end !== 3000 || v.chunks !== during.chunks || v.ids !== during.ids) t.fail('the current segment changed before the swap')
  }
  t.equal(steps, 29, '3000 slots, 100 a step, the 30th swaps')
  t.equal(st.compaction.running, false)
  const view = st.view()
  t.equal(view.end, 750, 'dead rows are gone')
  t.equal(st.dead, 0)
  const seen = visible(view)
  t.equal(seen.size, 750)
  let bad = 0
  for (let i = 0; i < 3000; i += 4) if (!same(seen.get(`id${i}`)!, unit(i))) bad++
  t.equal(bad, 0, 'rows moved with their ids')
  let badMeta = 0
  for (let s = 0; s < view.end; s++) if ((view.meta[s] as { i: number }).i !== Number(view.ids[s]!.slice(2))) badMeta++
  t.equal(badMeta, 0, 'metadata moved with its row')
  t.same(view.ids.slice(0, 3), ['id0', 'id4', 'id8'], 'slot order (insertion order) is kept')
  // label i was given to id i (slot order); live labels follow their rows, dead ones lead nowhere
  let badLabels = 0
  for (let label = 0; label < 3000; label++) {
    const slot = st.liveSlotOf(label)
    if (label % 4 === 0 ? view.ids[slot] !== `id${label}` : slot !== -1) badLabels++
  }
  t.equal(badLabels, 0, 'labels follow their rows')
  t.equal(view.labels!.gen, 1)
  t.equal(view.labels!.next, 3000)
  // the views taken before the deletes and during the copy still see their states
  t.equal(visible(before).size, 3000)
  t.equal(visible(during).size, 750)
  t.ok(same(visible(before).get('id1')!, unit(1)))
  // and the store goes on: an upsert, a delete, a new label
  st.reserve(DIMS, 2)
  st.begin()
  st.put('id0', unit(-1), { i: 0, v: 2 })
  st.put('new', unit(9999), {})
  st.remove('id4')
  t.equal(st.count, 750)
  t.same(
    st.takeDeadLabels().sort((a, b) => a - b),
    [0, 4],
  )
  t.equal(st.view().ids[st.view().end - 1], 'new')
  t.equal(st.view().ids[st.liveSlotOf(3001)], 'new')
  t.ok(same(rowOf(st.view(), st.liveSlotOf(3000)), unit(-1)))
})

t.test('a view held across the swap keeps its snapshot; the copy does not wait for it', async (t) => {
  const st = filled(2500)
  const before = visible(st.view())
  const held = st.view()
  st.begin()
  for (let i = 0; i < 1300; i++) st.remove(`id${i}`)
  t.equal(st.maybeCompact(), true, 'no waiting for readers: the copy never touches what they see')
  st.reserve(DIMS, 5)
  st.begin()
  for (let i = 0; i < 5; i++) st.put(`id${i}`, unit(-i - 1), { fresh: true })
  t.equal(st.compactStep(Number.POSITIVE_INFINITY), true)
  const snap = visible(held)
  t.equal(snap.size, 2500, 'the held view still sees all 2500')
  let ok = true
  for (const [id, v] of before) if (!same(snap.get(id)!, v)) ok = false
  t.ok(ok, 'with their old values')
  t.same(held.meta[0], { i: 0 })
  const now = visible(st.view())
  t.equal(now.size, 1205)
  t.equal(st.view().end, 1205)
  t.ok(same(now.get('id0')!, unit(-1)))
  t.same(st.view().meta[st.view().end - 1], { fresh: true })
  t.equal(st.maybeCompact(), false)
})

t.test('the scheduled slices finish a compaction on their own; emptying the store cancels one', async (t) => {
  const st = filled(5000)
  st.begin()
  for (let i = 0; i < 3000; i++) st.remove(`id${i}`)
  t.equal(st.maybeCompact(), true)
  await waitUntil(() => !st.compaction.running, { what: 'the scheduled slices to finish the compaction' })
  t.equal(st.view().end, 2000)
  t.ok(same(visible(st.view()).get('id4999')!, unit(4999)))

  const st2 = filled(5000)
  st2.begin()
  for (let i = 0; i < 3000; i++) st2.remove(`id${i}`)
  t.equal(st2.maybeCompact(), true)
  st2.compactStep(1000)
  st2.begin()
  t.equal(st2.clear(), 2000)
  t.equal(st2.compaction.running, false, 'clear cancels it')
  await turn()
  await turn()
  st2.reserve(DIMS, 3)
  st2.begin()
  for (let i = 0; i < 3; i++) st2.put(`n${i}`, unit(i + 100), {})
  t.same([...visible(st2.view()).keys()], ['n0', 'n1', 'n2'], 'a cancelled slice leaves the new data alone')

  const st3 = filled(3000)
  st3.begin()
  for (let i = 0; i < 2000; i++) st3.remove(`id${i}`)
  t.equal(st3.maybeCompact(), true)
  st3.compactStep(2500)
  st3.begin()
  for (let i = 2000; i < 3000; i++) st3.remove(`id${i}`)
  t.equal(st3.count, 0)
  t.equal(st3.compaction.running, false, 'deleting the last vector cancels it too')
  t.equal(st3.dims, null)
})

t.test('an allocation failure during a step abandons the copy and leaves the store right', async (t) => {
  const st = filled(4096)
  st.startLabels(7)
  st.begin()
  for (let i = 0; i < 4096; i += 2) st.remove(`id${i}`)
  st.takeDeadLabels()
  t.equal(st.maybeCompact(), true)
  st.compactStep(2000) // ~1000 rows copied into the first chunk of the copy
  const Real = globalThis.Float32Array
  class Failing extends Real {
    constructor(...args: unknown[]) {
      if (args[0] === CHUNK_ROWS * DIMS) throw new RangeError('Array buffer allocation failed')
      super(...(args as [number]))
    }
  }
  globalThis.Float32Array = Failing
  let done: boolean
  try {
    done = st.compactStep(Number.POSITIVE_INFINITY)
  } finally {
    globalThis.Float32Array = Real
  }
  t.equal(done, true)
  t.equal(st.compaction.running, false, 'given up')
  t.equal(st.view().end, 4096, 'the current segment stayed')
  // every id (copied or not before the failure) still maps to its row
  st.reserve(DIMS, 10)
  st.begin()
  for (let i = 1; i < 20; i += 2) st.put(`id${i}`, unit(-i), { i, v: 2 })
  for (let i = 21; i < 40; i += 2) st.remove(`id${i}`)
  t.same(
    st.takeDeadLabels().sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, k) => 2 * k + 1),
  )
  const seen = visible(st.view())
  t.equal(seen.size, 2048 - 10)
  let bad = 0
  for (let i = 1; i < 4096; i += 2) {
    const want = i < 20 ? unit(-i) : i < 40 ? undefined : unit(i)
    const got = seen.get(`id${i}`)
    if (want ? !got || !same(got, want) : got) bad++
  }
  t.equal(bad, 0)
  t.equal(st.maybeCompact(), false, 'no retry before the dead slots double')
  st.reserve(DIMS, 2100)
  st.begin()
  for (let i = 41; i < 4096; i += 2) st.put(`id${i}`, unit(i + 0.5), { i })
  t.equal(st.maybeCompact(), true, 'then it tries again')
  t.equal(st.compactStep(Number.POSITIVE_INFINITY), true)
  t.equal(st.view().end, st.count)
})

t.test('mutations interleaved with incremental compactions match a model (ids, rows, metadata, labels, snapshots)', async (t) => {
  const r = rng(20261121)
  const pick = (n: number): number => Math.floor(r() * n)
  const st = new VectorStore()
  const model = new Map<string, number>() // id -> live version
  let version = 0
  let gen = 0
  const labelOf = new Map<number, number>() // version -> label (current generation)
  const versionOfLabel = new Map<number, number>()
  let deadLabels: number[] = []
  const held: { view: StoreView; expect: Map<string, number> }[] = []
  const stats = { compactions: 0, swaps: 0, mutationsDuring: 0, stepsDuring: 0, heldChecked: 0, fullChecks: 0 }
  const failures: string[] = []
  const fail = (msg: string): void => void (failures.length < 10 && failures.push(msg))

  const died = (v: number): void => {
    const label = labelOf.get(v)
    if (label !== undefined) deadLabels.push(label)
  }
  const check = (where: string): void => {
    stats.fullChecks++
    const view = st.view()
    if (st.count !== model.size || view.count !== model.size) fail(`${where}: count ${st.count} != ${model.size}`)
    const seen = new Map<string, number>()
    for (let s = 0; s < view.end; s++) {
      if (!isAlive(view, s)) continue
      const id = view.ids[s]!
      const v = (view.meta[s] as { v: number }).v
      if (seen.has(id)) fail(`${where}: ${id} visible twice`)
      seen.set(id, v)
      if (model.get(id) !== v) fail(`${where}: ${id} has version ${v}, expected ${model.get(id)}`)
      if (!same(rowOf(view, s), unit(v))) fail(`${where}: row of ${id} is wrong`)
    }
    if (seen.size !== model.size) fail(`${where}: ${seen.size} visible, expected ${model.size}`)
    if (st.dead !== view.end - view.count) fail(`${where}: dead ${st.dead} != ${view.end - view.count} dead slots`)
    // labels: a live version's label leads to its row, a dead one's nowhere
    for (const [label, v] of versionOfLabel) {
      const slot = st.liveSlotOf(label)
      const alive = model.get(`k${v % 10_000_000}`) === v
      if (alive !== slot >= 0) fail(`${where}: label ${label} (version ${v}) alive=${alive} but slot ${slot}`)
      else if (alive && (view.meta[slot] as { v: number }).v !== v) fail(`${where}: label ${label} leads to the wrong row`)
    }
    const taken = st.takeDeadLabels().sort((a, b) => a - b)
    deadLabels.sort((a, b) => a - b)
    if (taken.join() !== deadLabels.join()) fail(`${where}: dead labels ${taken.length} != ${deadLabels.length}`)
    deadLabels = []
  }
  const checkHeld = (h: { view: StoreView; expect: Map<string, number> }): void => {
    stats.heldChecked++
    const seen = new Map<string, number>()
    for (let s = 0; s < h.view.end; s++) {
      if (!isAlive(h.view, s)) continue
      const v = (h.view.meta[s] as { v: number }).v
      seen.set(h.view.ids[s]!, v)
      if (!same(rowOf(h.view, s), unit(v))) fail('held view: row changed')
    }
    if (seen.size !== h.expect.size || [...h.expect].some(([id, v]) => seen.get(id) !== v)) fail('held view: snapshot changed')
  }

  // ids k0..k1499; a version number v belongs to id k(v % 10_000_000), so ids are recoverable from versions
  const idOf = (v: number): string => `k${v % 10_000_000}`
  const nextVersion = (n: number): number => ++version * 10_000_000 + n

  for (let op = 0; op < 30_000; op++) {
    const running = st.compaction.running
    const x = r()
    if (x < 0.4) {
      const batch = 1 + pick(30)
      st.reserve(DIMS, batch)
      st.begin()
      for (let b = 0; b < batch; b++) {
        const n = pick(1500)
        const v = nextVersion(n)
        const old = model.get(idOf(v))
        if (old !== undefined) died(old)
        st.put(idOf(v), unit(v), { v })
        model.set(idOf(v), v)
        if (st.labelGen !== null) {
          labelOf.set(v, st.labelNext - 1)
          versionOfLabel.set(st.labelNext - 1, v)
        }
      }
    } else if (x < 0.5) {
      st.begin()
      for (let b = 1 + pick(20); b > 0; b--) {
        const id = `k${pick(1500)}`
        const old = model.get(id)
        const removed = st.remove(id)
        if (removed !== (old !== undefined)) fail(`remove(${id}) returned ${removed}`)
        if (old === undefined) continue
        died(old)
        model.delete(id)
      }
      if (model.size === 0) {
        // emptied: labels, dead labels and any compaction are gone
        labelOf.clear()
        versionOfLabel.clear()
        deadLabels = []
      }
    } else if (x < 0.8) {
      if (running) stats.stepsDuring++
      if (st.compactStep(1 + pick(400)) && running) stats.swaps++
    } else if (x < 0.805 && st.count > 0) {
      st.startLabels(++gen)
      labelOf.clear()
      versionOfLabel.clear()
      deadLabels = []
      const view = st.view()
      for (let label = 0; label < view.labels!.next; label++) {
        const v = (view.meta[view.labels!.toSlot[label]!] as { v: number }).v
        labelOf.set(v, label)
        versionOfLabel.set(label, v)
      }
    } else if (x < 0.808) {
      st.dropLabels()
      labelOf.clear()
      versionOfLabel.clear()
      deadLabels = []
    } else if (x < 0.83) {
      held.push({ view: st.view(), expect: new Map(model) })
      if (held.length > 40) checkHeld(held.splice(pick(held.length), 1)[0]!)
    } else if (x < 0.832) {
      // let the scheduled slices run (they finish small compactions at once)
      await turn()
      if (running && !st.compaction.running) stats.swaps++
    }
    if (x < 0.5 && running) stats.mutationsDuring++
    if (x < 0.5 && st.maybeCompact()) stats.compactions++
    if (op % 97 === 0 || (running && !st.compaction.running)) check(`op ${op}`)
    if (failures.length >= 10) break
  }
  st.compactStep(Number.POSITIVE_INFINITY)
  check('end')
  for (const h of held) checkHeld(h)
  t.same(failures, [], 'no divergence from the model')
  t.ok(stats.compactions >= 10, `compactions started: ${stats.compactions}`)
  t.ok(stats.swaps >= 10, `compactions finished: ${stats.swaps}`)
  t.ok(stats.mutationsDuring >= 1000, `mutations during a compaction: ${stats.mutationsDuring}`)
  t.ok(stats.heldChecked >= 100, `held snapshots checked: ${stats.heldChecked}`)
})
