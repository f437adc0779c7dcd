import t from 'tap'
import { ProtocolError } from '../../src/protocol/errors.js'
import { b64, makeEngine } from './fixtures/engine.js'

const code = (c: string) => ({ code: c })

t.test('stores vectors, fixes dims, upserts by id', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  t.equal(s.dims, null)
  const r = s.upload({
    type: 'uploadVectors',
    id: 'r1',
    vectors: [
      { id: 'a', vector: [1, 0, 0] },
      { id: 'b', vector: [0, 2, 0], metadata: { x: 1 } },
    ],
  })
  t.same(r, { uploaded: 2, rejected: [], total: 2, dims: 3 })
  t.equal(s.count, 2)
  t.equal(s.bytes, 2 * 3 * 4)
  const again = s.upload({ vectors: [{ id: 'a', vector: [0, 0, 5], metadata: { y: 2 } }] })
  t.same(again, { uploaded: 1, rejected: [], total: 2, dims: 3 })
  const hit = await s.search({ vector: [0, 0, 1], k: 1 })
  t.equal(hit.results[0]!.id, 'a', 'the upsert replaced the vector')
  t.same(hit.results[0]!.metadata, { y: 2 }, 'and the metadata')
})

t.test('a later duplicate in one request wins', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  const r = s.upload({
    vectors: [
      { id: 'a', vector: [1, 0], metadata: { v: 1 } },
      { id: 'a', vector: [0, 1], metadata: { v: 2 } },
    ],
  })
  t.same(r, { uploaded: 2, rejected: [], total: 1, dims: 2 })
  const hit = await s.search({ vector: [0, 1], k: 5 })
  t.same(
    hit.results.map((h) => [h.id, h.metadata]),
    [['a', { v: 2 }]],
  )
  t.equal(hit.results[0]!.score, 1)
  // a rejected later duplicate leaves the earlier one in place
  const r2 = s.upload({
    vectors: [
      { id: 'b', vector: [1, 0] },
      { id: 'b', vector: [1, 0, 0] },
    ],
  })
  t.same(
    r2.rejected.map((x) => [x.id, x.code]),
    [['b', 'dimension_mismatch']],
  )
  t.equal(r2.total, 2)
})

t.test('request-level refusals change nothing', async (t) => {
  const { session } = makeEngine({ limits: { maxBatch: 3 } }, t)
  const s = session()
  s.upload({ vectors: [{ id: 'keep', vector: [1, 1] }] })
  t.throws(() => s.upload({ vectors: 'nope' }), code('bad_request'))
  t.throws(() => s.upload({}), code('bad_request'))
  t.throws(() => s.upload({ vectors: { 0: {} } }), code('bad_request'))
  t.throws(() => s.upload({ vectors: [], replace: 'yes' }), code('bad_request'))
  const four = [1, 2, 3, 4].map((i) => ({ id: `n${i}`, vector: [i, 1] }))
  t.throws(() => s.upload({ vectors: four, replace: true }), code('limit_exceeded'))
  const err = t.throws(() => s.upload({ vectors: four }), code('limit_exceeded'))
  t.ok(err instanceof ProtocolError, 'a ProtocolError')
  t.equal(s.count, 1, 'nothing changed, not even with replace')
  t.same(s.upload({ vectors: four.slice(0, 3) }).uploaded, 3, 'max_batch itself is fine')
})

t.test('per-vector rejections, in request order, with the rest stored', async (t) => {
  const { session } = makeEngine({ limits: { maxDims: 4, maxMetadataBytes: 20 } }, t)
  const s = session()
  const long = 'x'.repeat(257)
  const r = s.upload({
    vectors: [
      { id: 'ok1', vector: [1, 2, 3] },
      'not an object',
      null,
      [1, 2],
      { vector: [1, 2, 3] },
      { id: 7, vector: [1, 2, 3] },
      { id: '', vector: [1, 2, 3] },
      { id: long, vector: [1, 2, 3] },
      { id: 'nan', vector: [1, Number.NaN, 3] },
      { id: 'inf', vector: [1, Number.POSITIVE_INFINITY, 3] },
      { id: 'ninf', vector: [1, Number.NEGATIVE_INFINITY, 3] },
      { id: 'f32overflow', vector: [1, 1e300, 3] },
      { id: 'empty', vector: [] },
      { id: 'zeros', vector: [0, 0, 0] },
      { id: 'tiny', vector: [1e-50, 0, 0] },
      { id: 'strs', vector: ['1', 2, 3] },
      { id: 'notarray', vector: 'abc' },
      { id: 'none' },
      { id: 'both', vector: [1, 2, 3], vector_b64: b64([1, 2, 3]) },
      { id: 'badb64', vector_b64: 'AAAA*AAA' },
      { id: 'unpadded', vector_b64: b64([1, 2, 3]).replace(/=+$/, '') + 'A' },
      { id: 'odd-bytes', vector_b64: Buffer.from([1, 2, 3, 4, 5, 6]).toString('base64') },
      { id: 'toolong', vector: [1, 2, 3, 4, 5] },
      { id: 'toolong64', vector_b64: b64([1, 2, 3, 4, 5]) },
      { id: 'dims', vector: [1, 2] },
      { id: 'dims+meta', vector: [1, 2], metadata: [1] },
      { id: 'zeros+meta', vector: [0, 0, 0], metadata: 'x' },
      { id: 'metaarray', vector: [1, 2, 3], metadata: [1] },
      { id: 'metastring', vector: [1, 2, 3], metadata: 'x' },
      { id: 'metabig', vector: [1, 2, 3], metadata: { s: 'é'.repeat(8) } },
      { id: 'metaok', vector: [1, 2, 3], metadata: { s: 'é'.repeat(5) } },
      { id: 'b64ok', vector_b64: b64([3, 2, 1]) },
    ],
  })
  t.same(
    r.rejected.map((x) => [x.id, x.code]),
    [
      [null, 'invalid_id'],
      [null, 'invalid_id'],
      [null, 'invalid_id'],
      [null, 'invalid_id'],
      [null, 'invalid_id'],
      ['', 'invalid_id'],
      [long, 'invalid_id'],
      ['nan', 'invalid_vector'],
      ['inf', 'invalid_vector'],
      ['ninf', 'invalid_vector'],
      ['f32overflow', 'invalid_vector'],
      ['empty', 'invalid_vector'],
      ['zeros', 'invalid_vector'],
      ['tiny', 'invalid_vector'],
      ['strs', 'invalid_vector'],
      ['notarray', 'invalid_vector'],
      ['none', 'invalid_vector'],
      ['both', 'invalid_vector'],
      ['badb64', 'invalid_vector'],
      ['unpadded', 'invalid_vector'],
      ['odd-bytes', 'invalid_vector'],
      ['toolong', 'limit_exceeded'],
      ['toolong64', 'limit_exceeded'],
      ['dims', 'dimension_mismatch'],
      ['dims+meta', 'dimension_mismatch'],
      ['zeros+meta', 'invalid_vector'],
      ['metaarray', 'invalid_metadata'],
      ['metastring', 'invalid_metadata'],
      ['metabig', 'invalid_metadata'],
    ],
  )
  for (const x of r.rejected) t.type(x.message, 'string')
  t.equal(r.uploaded, 3)
  t.equal(r.total, 3)
  t.equal(r.dims, 3)
  const all = await s.search({ vector: [1, 1, 1], k: 10 })
  t.same(all.results.map((h) => h.id).sort(), ['b64ok', 'metaok', 'ok1'])
  t.equal(s.upload({ vectors: [{ id: 'id256', vector: [1, 0, 0], metadata: null }] }).uploaded, 1, 'null metadata is fine')
  t.equal(s.upload({ vectors: [{ id: 'x'.repeat(256), vector: [1, 0, 0] }] }).uploaded, 1, '256-char id is fine')
})

t.test('vector_b64 is strict standard base64 of little-endian float32 values', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  const one = b64([1]) // 4 bytes: two pad characters
  const two = b64([1, -2]) // 8 bytes: one pad character
  t.match(one, /[^=]==$/)
  t.match(two, /[^=]=$/)
  t.same(await s.search({ vector_b64: one }), { results: [], total: 0, exact: true })
  t.same(await s.search({ vector_b64: two }), { results: [], total: 0, exact: true })
  const bad = [
    one.slice(0, -3) + String.fromCharCode(one.charCodeAt(one.length - 3) + 1) + '==', // leftover bits set
    two.slice(0, -2) + String.fromCharCode(two.charCodeAt(two.length - 2) + 1) + '=',
    b64([1, 2, 3]).replace(/\+/g, '-').replace(/\//g, '_').replace(/A/, '-'), // base64url alphabet
    ' ' + one.slice(1),
    one.slice(0, 2) + '=' + one.slice(3),
    'A===',
    '====',
    one + 'AAAA',
  ]
  for (const v of bad) await t.rejects(s.search({ vector_b64: v }), code('invalid_vector'), JSON.stringify(v))
  await t.rejects(s.search({ vector_b64: '' }), code('invalid_vector'), 'empty')
  const r = s.upload({
    vectors: [
      { id: 'a', vector_b64: two },
      { id: 'b', vector_b64: b64([3, 4]) },
    ],
  })
  t.same([r.uploaded, r.dims], [2, 2])
  const hit = await s.search({ vector: [3, 4], k: 1 })
  t.equal(hit.results[0]!.id, 'b')
  t.ok(Math.abs(hit.results[0]!.score - 1) < 1e-6)
  const neg = await s.search({ vector: [1, -2], k: 1 })
  t.equal(neg.results[0]!.id, 'a', 'values decoded little-endian, sign and all')
})

t.test('the first accepted vector fixes dims, also after replace, clear and deleting the last', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  const r = s.upload({
    vectors: [
      { id: 'bad', vector: [0, 0] },
      { id: 'm', vector: [1, 1], metadata: [] },
      { id: 'a', vector: [1, 2, 3] },
      { id: 'b', vector: [1, 2] },
    ],
  })
  t.equal(r.dims, 3, 'rejected items do not fix the dimension')
  t.same(
    r.rejected.map((x) => x.code),
    ['invalid_vector', 'invalid_metadata', 'dimension_mismatch'],
  )
  t.equal(s.delete({ ids: ['a'] }).total, 0)
  t.equal(s.dims, null, 'deleting the last frees the dimension')
  t.equal(s.upload({ vectors: [{ id: 'c', vector: [1, 2] }] }).dims, 2)
  t.same(s.clear(), { deleted: 1 })
  t.equal(s.dims, null)
  t.equal(s.upload({ vectors: [{ id: 'd', vector: [1, 2, 3, 4] }] }).dims, 4)
  const rep = s.upload({ vectors: [{ id: 'e', vector: [1] }], replace: true })
  t.same(rep, { uploaded: 1, rejected: [], total: 1, dims: 1 })
  await t.rejects(s.search({ vector: [1, 2, 3, 4] }), code('dimension_mismatch'))
})

t.test('replace empties the session even when every vector is rejected', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  s.upload({
    vectors: [
      { id: 'a', vector: [1, 0] },
      { id: 'b', vector: [0, 1] },
    ],
  })
  const r = s.upload({ vectors: [{ id: 'x', vector: [0, 0] }], replace: true })
  t.same(r, { uploaded: 0, rejected: [{ id: 'x', code: 'invalid_vector', message: r.rejected[0]!.message }], total: 0, dims: null })
  t.equal(s.count, 0)
  s.upload({ vectors: [{ id: 'a', vector: [1, 0] }] })
  t.same(s.upload({ vectors: [], replace: true }), { uploaded: 0, rejected: [], total: 0, dims: null })
  s.upload({ vectors: [{ id: 'a', vector: [1, 0] }] })
  const r2 = s.upload({ vectors: [{ id: 'z', vector: [1, 2, 3] }], replace: true })
  t.same([r2.total, r2.dims], [1, 3], 'replace allows a new dimension')
  t.equal(s.upload({ vectors: [], replace: false }).total, 1)
  t.equal(s.upload({ vectors: [], replace: null }).total, 1, 'null replace means absent')
})

t.test('metadata comes back structurally equal; absent or null as {}', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  const meta = { s: 'x', n: 1.5, neg: -0.25, b: false, z: null, arr: [1, 'two', { three: [3] }], o: { deep: { er: true } }, '': 'empty key', 'a.b': 1 }
  s.upload({
    vectors: [
      { id: 'm', vector: [1, 0], metadata: meta },
      { id: 'n', vector: [0, 1] },
      { id: 'u', vector: [1, 1], metadata: null },
    ],
  })
  meta.s = 'changed after upload'
  const r = await s.search({ vector: [1, 0], k: 3 })
  const byId = Object.fromEntries(r.results.map((h) => [h.id, h.metadata]))
  t.same(byId.m, { s: 'x', n: 1.5, neg: -0.25, b: false, z: null, arr: [1, 'two', { three: [3] }], o: { deep: { er: true } }, '': 'empty key', 'a.b': 1 })
  t.strictSame(byId.n, {})
  t.strictSame(byId.u, {})
})

t.test('metadata size counts UTF-8 bytes of the JSON text', async (t) => {
  const { session } = makeEngine({ limits: { maxMetadataBytes: 16 } }, t)
  const s = session()
  // {"k":"aaaaaaaaa"} is 17 bytes; {"k":"aaaaaaaa"} is 16
  const r = s.upload({
    vectors: [
      { id: 'a', vector: [1], metadata: { k: 'a'.repeat(8) } },
      { id: 'b', vector: [1], metadata: { k: 'a'.repeat(9) } },
      { id: 'c', vector: [1], metadata: { k: '€'.repeat(3) } },
    ],
  })
  // {"k":"€€€"} = 8 + 9 bytes = 17
  t.same(
    r.rejected.map((x) => [x.id, x.code]),
    [
      ['b', 'invalid_metadata'],
      ['c', 'invalid_metadata'],
    ],
  )
})

t.test('session limit: new ids are refused past max_vectors_per_session, upserts still work', async (t) => {
  const { session } = makeEngine({ limits: { maxVectorsPerSession: 3 } }, t)
  const s = session()
  const r = s.upload({ vectors: [1, 2, 3, 4, 5].map((i) => ({ id: `v${i}`, vector: [i, 1] })) })
  t.same(
    r.rejected.map((x) => [x.id, x.code]),
    [
      ['v4', 'limit_exceeded'],
      ['v5', 'limit_exceeded'],
    ],
  )
  t.equal(r.total, 3)
  const up = s.upload({
    vectors: [
      { id: 'v1', vector: [0, 1] },
      { id: 'v9', vector: [1, 0] },
    ],
  })
  t.same(
    up.rejected.map((x) => x.id),
    ['v9'],
  )
  t.equal(up.uploaded, 1)
  s.delete({ ids: ['v2'] })
  t.equal(s.upload({ vectors: [{ id: 'v9', vector: [1, 0] }] }).uploaded, 1, 'room again after a delete')
  const rep = s.upload({ vectors: [1, 2, 3, 4].map((i) => ({ id: `w${i}`, vector: [i, 1] })), replace: true })
  t.same(
    rep.rejected.map((x) => x.id),
    ['w4'],
    'replace frees the room first',
  )
})

t.test('host-wide byte budget across sessions; dispose releases it', async (t) => {
  // room for 5 vectors of 4 dims (16 bytes each)
  const { engine, session } = makeEngine({ maxVectorBytes: 80 }, t)
  const a = session('a')
  const b = session('b')
  const v = (i: number) => ({ id: `v${i}`, vector: [i, 1, 1, 1] })
  t.equal(a.upload({ vectors: [v(1), v(2), v(3)] }).uploaded, 3)
  const rb = b.upload({ vectors: [v(1), v(2), v(3)] })
  t.same(rb.rejected, [{ id: 'v3', code: 'limit_exceeded', message: rb.rejected[0]!.message }])
  t.same(engine.stats().bytes, 80)
  t.equal(b.upload({ vectors: [{ id: 'v1', vector: [9, 9, 9, 9] }] }).uploaded, 1, 'an upsert needs no new room')
  t.equal(a.upload({ vectors: [{ id: 'x', vector: [1, 1] }], replace: true }).uploaded, 1, 'replace frees the old bytes first')
  t.equal(engine.stats().bytes, 32 + 8)
  t.equal(b.upload({ vectors: [v(3), v(4), v(5), v(6), v(7)] }).uploaded, 2)
  a.dispose()
  a.dispose()
  t.same(engine.stats(), { sessions: 1, vectors: 4, bytes: 64, hnswIndexes: 0, building: 0 })
  t.equal(b.upload({ vectors: [v(6)] }).uploaded, 1, 'dispose gave the room back')
  t.throws(() => a.upload({ vectors: [] }), 'a disposed session refuses work')
  b.clear()
  t.equal(engine.stats().bytes, 0)
})

t.test('delete counts distinct ids that existed; clear counts what it removed', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  s.upload({ vectors: ['a', 'b', 'c'].map((id, i) => ({ id, vector: [i + 1, 1] })) })
  t.same(s.delete({ ids: ['a', 'a', 'zz', 'b'] }), { deleted: 2, total: 1 })
  t.same(s.delete({ ids: [] }), { deleted: 0, total: 1 })
  t.throws(() => s.delete({ ids: 'c' }), code('bad_request'))
  t.throws(() => s.delete({}), code('bad_request'))
  t.throws(() => s.delete({ ids: ['c', 5] }), code('bad_request'))
  t.equal(s.count, 1, 'a refused delete removes nothing')
  t.same(s.clear(), { deleted: 1 })
  t.same(s.clear(), { deleted: 0 })
})
