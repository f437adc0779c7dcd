import t from 'tap'
import { rng } from '../../bench/lib/rng.js'
import { b64, makeEngine } from './fixtures/engine.js'

const code = (c: string) => ({ code: c })

t.test('cosine scores, sorted highest first, k and threshold', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  s.upload({
    vectors: [
      { id: 'x', vector: [1, 0] },
      { id: 'y', vector: [0, 3] },
      { id: 'xy', vector: [2, 2] },
      { id: '-x', vector: [-1, 0] },
      { id: 'near-x', vector: [10, 1] },
      { id: 'far', vector: [-1, -5] },
      { id: 'mid', vector: [1, 0.5] },
    ],
  })
  const r = await s.search({ type: 'searchVectors', id: 'q', vector: [5, 0] })
  t.equal(r.total, 7)
  t.equal(r.exact, true)
  t.same(
    r.results.map((h) => h.id),
    ['x', 'near-x', 'mid', 'xy', 'y'],
    'default k is 5',
  )
  t.equal(r.results[0]!.score, 1)
  t.ok(Math.abs(r.results[1]!.score - 10 / Math.sqrt(101)) < 1e-6, 'cosine similarity')
  t.ok(Math.abs(r.results[3]!.score - Math.SQRT1_2) < 1e-6)
  for (let i = 1; i < r.results.length; i++) t.ok(r.results[i - 1]!.score >= r.results[i]!.score)
  const all = await s.search({ vector: [1, 0], k: 100 })
  t.equal(all.results.length, 7)
  t.equal(all.results[6]!.id, '-x')
  t.equal(all.results[6]!.score, -1)
  const th = await s.search({ vector: [1, 0], k: 100, threshold: Math.SQRT1_2 - 1e-7 })
  t.same(
    th.results.map((h) => h.id),
    ['x', 'near-x', 'mid', 'xy'],
    'threshold keeps score >= threshold',
  )
  t.same((await s.search({ vector: [1, 0], threshold: 1.5 })).results, [])
  t.same((await s.search({ vector: [1, 0], k: 2, threshold: -1 })).results.length, 2)
  t.same((await s.search({ vector: [1, 0], k: null, threshold: null, filter: null })).results.length, 5, 'null means absent')
})

t.test('k must be an integer from 1 to max_k', async (t) => {
  const { session } = makeEngine({ limits: { maxK: 10 } }, t)
  const s = session()
  s.upload({ vectors: [{ id: 'a', vector: [1, 0] }] })
  for (const k of [0, -1, 11, 1.5, '3', true, Number.NaN, []]) {
    await t.rejects(s.search({ vector: [1, 0], k }), code('bad_request'), `k=${JSON.stringify(k)}`)
  }
  t.equal((await s.search({ vector: [1, 0], k: 10 })).results.length, 1)
  t.equal((await s.search({ vector: [1, 0], k: 1 })).results.length, 1)
  for (const threshold of ['0.5', {}, Number.POSITIVE_INFINITY]) {
    await t.rejects(s.search({ vector: [1, 0], threshold }), code('bad_request'), `threshold=${String(threshold)}`)
  }
})

t.test('query vector checks', async (t) => {
  const { session } = makeEngine({ limits: { maxDims: 3 } }, t)
  const s = session()
  await t.rejects(s.search({ k: 1 }), code('bad_request'), 'no vector')
  await t.rejects(s.search({ vector: [0, 0] }), code('invalid_vector'))
  await t.rejects(s.search({ vector: [1, Number.NaN] }), code('invalid_vector'))
  await t.rejects(s.search({ vector: [] }), code('invalid_vector'))
  await t.rejects(s.search({ vector: 'x' }), code('invalid_vector'))
  await t.rejects(s.search({ vector: [1], vector_b64: b64([1]) }), code('invalid_vector'))
  await t.rejects(s.search({ vector_b64: 'a' }), code('invalid_vector'))
  await t.rejects(s.search({ vector: [1, 2, 3, 4] }), code('limit_exceeded'))
  await t.rejects(s.search({ vector: [1], filter: { $foo: 1 } }), code('bad_request'), 'filter is checked even on an empty session')
  t.same(await s.search({ vector: [1, 2] }), { results: [], total: 0, exact: true }, 'empty session: [] whatever the dims')
  s.upload({ vectors: [{ id: 'a', vector: [1, 2] }] })
  await t.rejects(s.search({ vector: [1, 2, 3] }), code('dimension_mismatch'))
  const r = await s.search({ vector_b64: b64([1, 2]) })
  t.equal(r.results[0]!.id, 'a')
  t.ok(Math.abs(r.results[0]!.score - 1) < 1e-6)
})

t.test('ids stay mapped to their vectors through deletes, upserts and compaction', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  const dims = 16
  // a distinct pseudo-random vector per (id, version)
  const vec = (i: number, gen = 0) => {
    const r = rng(i * 10 + gen + 1)
    return Array.from({ length: dims }, () => r() - 0.5)
  }
  const N = 3000
  for (let b = 0; b < N; b += 1000) {
    s.upload({ vectors: Array.from({ length: 1000 }, (_, k) => ({ id: `id${b + k}`, vector: vec(b + k), metadata: { i: b + k } })) })
  }
  // delete two thirds, upsert some of the rest with a shifted vector: dead slots now outnumber live ones
  const gone = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 !== 0)
  t.same(s.delete({ ids: gone.map((i) => `id${i}`) }), { deleted: gone.length, total: N / 3 })
  const upserted = [0, 3, 6, 99]
  s.upload({ vectors: upserted.map((i) => ({ id: `id${i}`, vector: vec(i, 1), metadata: { i, v: 2 } })) })
  for (const i of [0, 3, 9, 1500, 2997, 99]) {
    const gen = upserted.includes(i) ? 1 : 0
    const r = await s.search({ vector: vec(i, gen), k: 1 })
    t.equal(r.results[0]!.id, `id${i}`, `id${i} found by its own vector`)
    t.ok(r.results[0]!.score > 0.999999)
    t.same(r.results[0]!.metadata, gen ? { i, v: 2 } : { i })
  }
  const none = await s.search({ vector: vec(1, 0), k: 100, filter: { i: 1 } })
  t.same(none.results, [], 'a deleted id never comes back')
  t.equal(s.count, N / 3)
})

t.test('a search sees one consistent state while mutations run during it', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  const dims = 64
  const N = 1000
  const vectors = Array.from({ length: N }, (_, i) => ({ id: `v${i}`, vector: Array.from({ length: dims }, (_, j) => Math.sin(i * 13 + j)), metadata: { i } }))
  s.upload({ vectors })
  const q = vectors[17]!.vector
  const before = await s.search({ vector: q, k: 10 })
  const pending = s.search({ vector: q, k: 10 })
  // mutate before the search (which yields between slices) can finish
  s.delete({ ids: before.results.map((h) => h.id) })
  s.upload({ vectors: [{ id: 'v17', vector: q.map((x) => -x) }] })
  const during = await pending
  t.same(
    during.results.map((h) => h.id),
    before.results.map((h) => h.id),
    'the in-flight search saw the state it started on',
  )
  t.equal(during.total, N)
  const after = await s.search({ vector: q, k: 10 })
  t.notOk(
    after.results.some((h) => before.results.slice(1).some((b) => b.id === h.id)),
    'later searches see the deletes',
  )
})
