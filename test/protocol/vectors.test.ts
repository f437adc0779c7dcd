// Every vector error path of PROTOCOL.md §4 over a real socket: the typed
// reply, and proof that nothing stored was lost or changed.
import t, { type Test } from 'tap'
import { encodeBase64 } from '@rag-session-host/client/shared'
import { startHost } from '../helpers/host.js'
import { Wire, generateIdentity } from '../helpers/wire.js'

const b64 = (xs: number[]): string => encodeBase64(new Uint8Array(new Float32Array(xs).buffer))

async function seeded(t: Test, overrides = {}) {
  const host = await startHost(t, overrides)
  const wire = await Wire.open(host.wsUrl, host.hostPublicKey)
  await wire.init({ sessionId: 'vec', identity: generateIdentity() })
  const up = await wire.request('uploadVectors', {
    vectors: [
      { id: 'a', vector: [1, 0, 0], metadata: { tag: 'x', n: 1, nested: { deep: [1, { two: 2 }] } } },
      { id: 'b', vector_b64: b64([0, 1, 0]), metadata: null },
      { id: 'c', vector: [0, 0, 1] },
    ],
  })
  t.same([up.ok, up.uploaded, up.total, up.dims, up.rejected], [true, 3, 3, 3, []])
  return { host, wire }
}

async function unchanged(t: Test, wire: Wire): Promise<void> {
  const all = await wire.request('searchVectors', { vector: [1, 1, 1], k: 10 })
  t.equal(all.total, 3, 'still 3 vectors')
  t.same(all.results.map((r: any) => r.id).sort(), ['a', 'b', 'c'])
  const a = all.results.find((r: any) => r.id === 'a')
  t.same(a.metadata, { tag: 'x', n: 1, nested: { deep: [1, { two: 2 }] } }, 'metadata intact')
  t.same(all.results.find((r: any) => r.id === 'b').metadata, {}, 'null metadata comes back as {}')
}

t.test('request-level refusals change nothing', async (t) => {
  const { wire } = await seeded(t, { maxBatch: 4 })
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['vectors not an array', 'uploadVectors', { vectors: { id: 'z' } }, 'bad_request'],
    ['vectors missing', 'uploadVectors', {}, 'bad_request'],
    [
      'more than max_batch, even with replace',
      'uploadVectors',
      { replace: true, vectors: Array.from({ length: 5 }, (_, i) => ({ id: `n${i}`, vector: [1, 1, 1] })) },
      'limit_exceeded',
    ],
    ['k = 0', 'searchVectors', { vector: [1, 0, 0], k: 0 }, 'bad_request'],
    ['k above max_k', 'searchVectors', { vector: [1, 0, 0], k: 101 }, 'bad_request'],
    ['k fractional', 'searchVectors', { vector: [1, 0, 0], k: 1.5 }, 'bad_request'],
    ['search dimension differs', 'searchVectors', { vector: [1, 0] }, 'dimension_mismatch'],
    ['unknown filter operator', 'searchVectors', { vector: [1, 0, 0], filter: { tag: { $regex: 'x' } } }, 'bad_request'],
    ['empty $and', 'searchVectors', { vector: [1, 0, 0], filter: { $and: [] } }, 'bad_request'],
    ['empty $or', 'searchVectors', { vector: [1, 0, 0], filter: { $or: [] } }, 'bad_request'],
    ['$in not a list', 'searchVectors', { vector: [1, 0, 0], filter: { tag: { $in: 'x' } } }, 'bad_request'],
    ['ids not an array', 'deleteVectors', { ids: 'a' }, 'bad_request'],
  ]
  for (const [name, op, fields, code] of cases) {
    const r = await wire.request(op, fields)
    t.equal(r.type, `${op}Response`, name)
    t.equal(r.ok, false, name)
    t.equal(r.error.code, code, name)
    t.equal(r.error.retryable, false, name)
  }
  await unchanged(t, wire)
})

t.test('per-vector rejections are listed in order; the rest is stored', async (t) => {
  const { wire } = await seeded(t, { maxDims: 3, maxMetadataBytes: 64 })
  const r = await wire.request('uploadVectors', {
    vectors: [
      { id: 'ok-1', vector: [1, 2, 3] },
      'not an object',
      { vector: [1, 2, 3] },
      { id: '', vector: [1, 2, 3] },
      { id: 'x'.repeat(257), vector: [1, 2, 3] },
      { id: 'short', vector: [1, 2] },
      { id: 'zeros', vector: [0, 0, 0] },
      { id: 'empty', vector: [] },
      { id: 'strings', vector: ['1', 2, 3] },
      { id: 'bad-b64', vector_b64: '***' },
      { id: 'big-meta', vector: [1, 1, 1], metadata: { s: 'y'.repeat(100) } },
      { id: 'array-meta', vector: [1, 1, 1], metadata: [1, 2] },
      { id: 'too-many-dims', vector: [1, 2, 3, 4] },
      { id: 'ok-2', vector_b64: b64([3, 2, 1]), metadata: { fine: true } },
    ],
  })
  t.equal(r.ok, true)
  t.equal(r.uploaded, 2)
  t.equal(r.total, 5)
  t.same(
    r.rejected.map((x: any) => [x.id, x.code]),
    [
      [null, 'invalid_id'],
      [null, 'invalid_id'],
      ['', 'invalid_id'],
      ['x'.repeat(257), 'invalid_id'],
      ['short', 'dimension_mismatch'],
      ['zeros', 'invalid_vector'],
      ['empty', 'invalid_vector'],
      ['strings', 'invalid_vector'],
      ['bad-b64', 'invalid_vector'],
      ['big-meta', 'invalid_metadata'],
      ['array-meta', 'invalid_metadata'],
      ['too-many-dims', 'limit_exceeded'],
    ],
  )
  for (const x of r.rejected) t.type(x.message, 'string')
})

t.test('session and host-wide limits reject per vector, never crash', async (t) => {
  const perSession = await seeded(t, { maxVectorsPerSession: 4 })
  const r = await perSession.wire.request('uploadVectors', {
    vectors: [
      { id: 'd', vector: [1, 1, 0] },
      { id: 'e', vector: [0, 1, 1] },
    ],
  })
  t.same([r.uploaded, r.total], [1, 4])
  t.same(
    r.rejected.map((x: any) => [x.id, x.code]),
    [['e', 'limit_exceeded']],
  )
  const upsert = await perSession.wire.request('uploadVectors', { vectors: [{ id: 'a', vector: [1, 0, 0], metadata: { v: 2 } }] })
  t.same([upsert.uploaded, upsert.total, upsert.rejected], [1, 4, []], 'an upsert of an existing id fits a full session')

  // Host-wide budget: 3 dims x 4 bytes x 4 vectors = 48 bytes.
  const host = await startHost(t, { maxVectorBytes: 48 })
  const w1 = await Wire.open(host.wsUrl, host.hostPublicKey)
  const w2 = await Wire.open(host.wsUrl, host.hostPublicKey)
  await w1.init({ sessionId: 'one', identity: generateIdentity() })
  await w2.init({ sessionId: 'two', identity: generateIdentity() })
  t.equal((await w1.request('uploadVectors', { vectors: [1, 2, 3].map((i) => ({ id: `v${i}`, vector: [i, 1, 1] })) })).uploaded, 3)
  const over = await w2.request('uploadVectors', {
    vectors: [
      { id: 'p', vector: [1, 1, 1] },
      { id: 'q', vector: [2, 1, 1] },
    ],
  })
  t.same([over.uploaded, over.rejected.map((x: any) => x.code)], [1, ['limit_exceeded']])
  t.equal((await w1.request('sessionInfo')).vector_bytes, 36)
  t.equal((await w1.request('clearVectors')).deleted, 3)
  t.equal((await w2.request('uploadVectors', { vectors: [{ id: 'q', vector: [2, 1, 1] }] })).uploaded, 1, 'budget freed by the clear')
})

t.test('replace, delete and clear counts; dims refixed after emptying', async (t) => {
  const { wire } = await seeded(t)
  const del = await wire.request('deleteVectors', { ids: ['a', 'a', 'nope'] })
  t.same([del.deleted, del.total], [1, 2], 'distinct ids that existed')
  const rep = await wire.request('uploadVectors', { replace: true, vectors: [{ id: 'bad', vector: [0, 0, 0] }] })
  t.same([rep.uploaded, rep.total, rep.dims], [0, 0, null], 'replace empties even when every vector is rejected')
  const two = await wire.request('uploadVectors', { vectors: [{ id: 'n', vector: [1, 2] }] })
  t.same([two.uploaded, two.dims], [1, 2], 'the next accepted vector fixes a new dimension')
  const info = await wire.request('sessionInfo')
  t.same([info.vectors, info.dims, info.vector_bytes], [1, 2, 8])
  t.equal((await wire.request('clearVectors')).deleted, 1)
  const empty = await wire.request('searchVectors', { vector: [5, 5, 5, 5] })
  t.same([empty.ok, empty.results, empty.total], [true, [], 0], 'no vectors: results [] whatever the dimension')
})

t.test('search: cosine order, threshold, filter, exact flag', async (t) => {
  const { wire } = await seeded(t)
  const r = await wire.request('searchVectors', { vector_b64: b64([1, 0.5, 0]), k: 3 })
  t.same(
    r.results.map((x: any) => x.id),
    ['a', 'b', 'c'],
  )
  t.ok(Math.abs(r.results[0].score - 1 / Math.sqrt(1.25)) < 1e-6, 'cosine similarity')
  t.equal(r.exact, true)
  const th = await wire.request('searchVectors', { vector: [1, 0.5, 0], threshold: 0.5 })
  t.same(
    th.results.map((x: any) => x.id),
    ['a'],
  )
  const f = await wire.request('searchVectors', { vector: [0, 0, 1], filter: { $or: [{ tag: 'x' }, { 'nested.deep': [1, { two: 2 }] }] } })
  t.same(
    f.results.map((x: any) => x.id),
    ['a'],
  )
  const ne = await wire.request('searchVectors', { vector: [0, 0, 1], filter: { tag: { $ne: 'x' } } })
  t.same(
    ne.results.map((x: any) => x.id),
    ['c', 'b'],
    'missing fields match $ne',
  )
})
