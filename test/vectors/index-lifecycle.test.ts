// The index lifecycle policy with no worker: when a session starts, keeps and
// drops an HNSW generation, and how long it waits after a failed one. The
// same decisions through a real engine and worker are in hnsw.test.ts and
// hnsw-worker-death.test.ts.
import t from 'tap'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { workerStartChannel } from '../../src/util/worker-rpc.js'
import { decideIndex, labelsBloated, type IndexFacts } from '../../src/vectors/index-lifecycle.js'
import { makeEngine } from './fixtures/engine.js'

const MAX = 1000
const facts = (f: Partial<IndexFacts>): IndexFacts => ({ indexGen: null, labelGen: null, labelNext: 0, count: 0, exactSearchMaxVectors: MAX, failedAt: 0, holdsRows: false, ...f })

t.test('no index: one starts only above the threshold', async (t) => {
  t.same(decideIndex(facts({ count: MAX })), { drop: null, start: false }, 'at the threshold: exact only')
  t.same(decideIndex(facts({ count: MAX + 1 })), { drop: null, start: true })
})

t.test("an open index is kept while its labels are the store's and the data is big enough", async (t) => {
  const open = { indexGen: 3, labelGen: 3, labelNext: 1500, count: 1200 }
  t.same(decideIndex(facts(open)), { drop: null, start: false })
  t.same(decideIndex(facts({ ...open, count: MAX / 2 + 1 })), { drop: null, start: false }, 'above half the threshold it stays')
})

t.test('emptied, shrunk and relabel drops; a new generation follows when the data is big', async (t) => {
  t.same(decideIndex(facts({ indexGen: 3, labelGen: null, count: 0 })), { drop: 'emptied', start: false }, 'store emptied')
  t.same(decideIndex(facts({ indexGen: 3, labelGen: null, count: 1500 })), { drop: 'emptied', start: true }, 'replaced by a big batch: a new graph')
  t.same(decideIndex(facts({ indexGen: 3, labelGen: 3, labelNext: 2000, count: MAX / 2 })), { drop: 'shrunk', start: false }, 'at half the threshold')
  const bloated = { indexGen: 3, labelGen: 3, labelNext: 8 * 2000 + 1_000_001, count: 2000 }
  t.same(decideIndex(facts(bloated)), { drop: 'relabel', start: true }, 'too many labels issued: relabelled at once')
})

t.test('labelsBloated: labels issued against live vectors', async (t) => {
  t.equal(labelsBloated(8 * 10 + 1_000_000, 10), false)
  t.equal(labelsBloated(8 * 10 + 1_000_001, 10), true)
})

t.test('after a failure the next generation waits until the data has doubled', async (t) => {
  t.same(decideIndex(facts({ count: 1999, failedAt: 1000 })), { drop: null, start: false })
  t.same(decideIndex(facts({ count: 2000, failedAt: 1000 })), { drop: null, start: true })
  t.same(decideIndex(facts({ count: 1001, failedAt: 0 })), { drop: null, start: true }, 'no failure: no wait')
})

t.test('a session at or below the threshold never starts a worker', async (t) => {
  let starts = 0
  const onStart = (): void => void starts++
  subscribe(workerStartChannel.name, onStart)
  t.teardown(() => void unsubscribe(workerStartChannel.name, onStart))
  const { session, engine } = makeEngine({ tuning: { exactSearchMaxVectors: 50 } }, t)
  const s = session()
  const vectors = Array.from({ length: 50 }, (_, i) => ({ id: `v${i}`, vector: [1, i, 2] }))
  t.equal(s.upload({ vectors }).uploaded, 50)
  t.equal(s.indexState, 'none')
  t.equal(engine.stats().hnswIndexes, 0)
  t.equal((await s.search({ vector: [1, 1, 2] })).exact, true)
  s.delete({ ids: ['v1', 'v2'] })
  t.equal(starts, 0, 'no worker thread was started')
})
