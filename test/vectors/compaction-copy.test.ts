// Compaction by itself, on segments, with no store, no worker and no event
// loop turns (except for runInSlices): when it is due, what a step copies,
// rows killed after they were copied, labels carried over and given anew, and
// the segment it hands over.
import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { Compaction, COMPACT_MIN_DEAD, compactionDue, runInSlices } from '../../src/vectors/compaction.js'
import { Segment } from '../../src/vectors/segment.js'

const DIMS = 3
const rowFor = (i: number): Float32Array => Float32Array.from([i, -i, i / 2])

/** `n` rows id0..id(n-1), every row i with i % 3 !== 0 killed at epoch 1. */
function segment(n: number, labelled = false): Segment {
  const seg = new Segment(DIMS, 16)
  seg.reserve(n)
  for (let i = 0; i < n; i++) seg.append(`id${i}`, rowFor(i), { i })
  if (labelled) seg.labelLive(5, n)
  for (let i = 0; i < n; i++) if (i % 3 !== 0) seg.diedAt[i] = 1
  return seg
}

t.test('compactionDue: dead slots many, at least the live ones, and past a failed try', async (t) => {
  t.equal(compactionDue(COMPACT_MIN_DEAD - 1, 0, 0), false, 'too few dead slots')
  t.equal(compactionDue(COMPACT_MIN_DEAD, COMPACT_MIN_DEAD, 0), true, 'as many dead as live')
  t.equal(compactionDue(COMPACT_MIN_DEAD, COMPACT_MIN_DEAD + 1, 0), false, 'more live than dead')
  t.equal(compactionDue(3000, 100, 4000), false, 'a failed compaction waits for the dead slots to double')
  t.equal(compactionDue(4000, 100, 4000), true)
})

t.test('steps copy the live rows in slot order and tell where each id went; `from` is untouched', async (t) => {
  const from = segment(100)
  const fromIds = from.ids
  const c = new Compaction(from, 34)
  const moved: [string, number][] = []
  const record = (id: string, slot: number): void => void moved.push([id, slot])
  t.equal(c.copy(10, record), false, '10 of 100 slots handled')
  t.same(moved, [
    ['id0', 0],
    ['id3', 1],
    ['id6', 2],
    ['id9', 3],
  ])
  t.equal(c.cursor, 10)
  t.equal(c.copy(1000, record), true, 'caught up')
  t.equal(c.cursor, 100)
  t.equal(moved.length, 34)
  t.same(
    Array.from(c.origin.subarray(0, 34)),
    Array.from({ length: 34 }, (_, i) => i * 3),
    'origin maps each copy to its original',
  )
  t.equal(from.end, 100)
  t.equal(from.ids, fromIds)
  const to = c.result()
  t.equal(to.end, 34)
  let bad = 0
  for (let s = 0; s < to.end; s++) {
    const i = s * 3
    if (to.ids[s] !== `id${i}` || (to.meta[s] as { i: number }).i !== i || !to.isLive(s)) bad++
    if (Array.from(to.row(s)).join() !== Array.from(rowFor(i)).join()) bad++
  }
  t.equal(bad, 0, 'ids, metadata and rows moved together')
  t.equal(to.labels, null, 'no labels in, none out')
})

t.test('a row killed after it was copied dies in the copy too, and is counted', async (t) => {
  const from = segment(30)
  const c = new Compaction(from, 10)
  c.copy(15, () => {}) // id0, id3, ..., id12 copied (slots 0..4)
  t.equal(c.kill(2, 7), 6, 'copy slot 2 came from slot 6')
  t.equal(c.to.diedAt[2], 7)
  t.equal(c.dead, 1)
  c.copy(100, () => {})
  const to = c.result()
  t.equal(to.isLive(2), false)
  t.equal(to.end, 10)
})

t.test('labels follow their rows; new labels during the copy are taken over; labels can go', async (t) => {
  const from = segment(60, true) // labels 0..59 given in slot order, then 2/3 of the rows died
  const c = new Compaction(from, 20)
  c.copy(30, () => {})
  // A new generation while copying: labels 0..19 for the live rows, in slot order.
  from.labelLive(6, 20)
  c.relabel()
  c.copy(1000, () => {})
  const to = c.result()
  t.equal(to.labels!.gen, 6)
  t.equal(to.labels!.next, 20)
  let bad = 0
  for (let label = 0; label < 20; label++) {
    const slot = to.labels!.slotOf(label)
    if (to.ids[slot] !== `id${label * 3}` || to.slotLabel[slot] !== label) bad++
  }
  t.equal(bad, 0, 'each label leads to its row in the copy')

  const plain = segment(60, true)
  const d = new Compaction(plain, 20)
  d.copy(30, () => {})
  plain.dropLabels()
  d.dropLabels()
  d.copy(1000, () => {})
  const out = d.result()
  t.equal(out.labels, null)
  t.same(Array.from(new Set(out.slotLabel.subarray(0, out.end))), [-1], 'no slot keeps a label')
})

t.test('runInSlices runs steps on later turns until done, and stops when cancelled', async (t) => {
  let steps = 0
  let current = true
  runInSlices(
    () => current,
    () => ++steps >= 5,
  )
  t.equal(steps, 0, 'nothing runs before the next turn')
  while (steps < 5) await turn()
  await turn()
  t.equal(steps, 5, 'stopped once a step said done')

  let cancelledSteps = 0
  current = false
  runInSlices(
    () => current,
    () => (cancelledSteps++, false),
  )
  await turn()
  await turn()
  t.equal(cancelledSteps, 0, 'a cancelled run does no step')
})
