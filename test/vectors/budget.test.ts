// What MAX_VECTOR_BYTES charges (budget.ts): the float32 values once, plus a
// graph's own bytes per point past the exact threshold, plus the second copy
// when the host keeps both. Judged before an upload changes anything.
import t from 'tap'
import { graphBytesPerPoint, sessionCost } from '../../src/vectors/budget.js'
import { makeEngine } from './fixtures/engine.js'

const tuning = { exactSearchMaxVectors: 1000, hnswM: 16 }

t.test('the cost model', async (t) => {
  // Level 0: 33 links + the label = 140; level, pointer, map entry = 44; upper levels ~5.
  t.equal(graphBytesPerPoint(16), 140 + 44 + 5)
  t.ok(graphBytesPerPoint(32) > graphBytesPerPoint(16), 'more links, more bytes')
  t.equal(sessionCost(tuning, true, 1000, 384), 1000 * 384 * 4, 'at the threshold: the values only')
  t.equal(sessionCost(tuning, true, 1001, 384), 1001 * (384 * 4 + 189), 'past it: and the graph')
  t.equal(sessionCost(tuning, false, 1001, 384), 1001 * (2 * 384 * 4 + 189), 'two copies: and the second copy')
  t.equal(sessionCost(tuning, true, 0, 384), 0)
})

t.test('an upload that takes a session past the threshold is charged for its graph, and refused past the budget', async (t) => {
  const dims = 8
  const perValue = dims * 4
  const perIndexed = perValue + graphBytesPerPoint(16)
  // Room for 600 indexed vectors: the 600th fits, the 601st does not, though its values alone would.
  const { session, engine } = makeEngine({ tuning: { exactSearchMaxVectors: 500 }, maxVectorBytes: 600 * perIndexed + perValue, singleCopy: true }, t)
  const s = session()
  const vectors = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: `v${from + i}`, vector: Array.from({ length: dims }, (_, j) => Math.cos(from + i + j)) }))
  t.equal(s.upload({ vectors: vectors(0, 500) }).rejected.length, 0)
  t.equal(s.bytes, 500 * perValue, 'at the threshold: the values only')
  const up = s.upload({ vectors: vectors(500, 200) })
  t.equal(up.uploaded, 100)
  t.match(
    up.rejected,
    Array.from({ length: 100 }, () => ({ code: 'limit_exceeded', message: 'host vector memory budget exhausted' })),
  )
  t.equal(s.bytes, 600 * perIndexed, 'past it: every vector with its graph bytes')
  t.equal(engine.stats().bytes, s.bytes, 'the host-wide count agrees')
  s.delete({ ids: vectors(0, 200).map((v) => v.id) })
  t.equal(s.bytes, 400 * perValue, 'back at or below the threshold: the values only')
  t.equal(engine.stats().bytes, s.bytes)
  s.dispose()
  t.equal(engine.stats().bytes, 0)
})
