import t from 'tap'
import { compileFilter } from '../../src/vectors/index.js'
import { makeEngine } from './fixtures/engine.js'

const meta = {
  n: 5,
  f: 2.5,
  s: 'apple',
  b: true,
  z: null,
  arr: [1, 2, { x: 3 }],
  o: { a: 1, b: { c: 'deep' } },
  'dot.key': 'literal',
  empty: {},
}

const cases: [string, unknown, boolean][] = [
  // equality
  ['number eq', { n: 5 }, true],
  ['number eq 5.0', { n: 5.0 }, true],
  ['number ne', { n: 6 }, false],
  ['string eq', { s: 'apple' }, true],
  ['string vs number', { n: '5' }, false],
  ['bool eq', { b: true }, true],
  ['bool vs 1', { b: 1 }, false],
  ['null eq', { z: null }, true],
  ['null does not match missing', { nope: null }, false],
  ['array deep eq', { arr: [1, 2, { x: 3 }] }, true],
  ['array order matters', { arr: [2, 1, { x: 3 }] }, false],
  ['array is not "contains"', { arr: 1 }, false],
  ['object deep eq, any key order', { o: { b: { c: 'deep' }, a: 1 } }, true],
  ['object deep eq, extra key', { o: { a: 1, b: { c: 'deep' }, x: 0 } }, false],
  ['object deep eq, missing key', { o: { a: 1 } }, false],
  ['{} literal', { empty: {} }, true],
  ['{} literal vs object', { o: {} }, false],
  ['dotted path', { 'o.a': 1 }, true],
  ['dotted path deep', { 'o.b.c': 'deep' }, true],
  ['dotted path miss', { 'o.b.d': 'deep' }, false],
  ['dotted path through a non-object', { 's.length': 5 }, false],
  ['dotted path through an array', { 'arr.0': 1 }, false],
  ['dot always splits', { 'dot.key': 'literal' }, false],
  ['prototype keys are not fields', { constructor: { $ne: null } }, true],
  ['prototype keys are missing', { toString: { $gte: '' } }, false],
  ['several fields: AND', { n: 5, s: 'apple' }, true],
  ['several fields: AND fails', { n: 5, s: 'pear' }, false],
  ['empty filter matches all', {}, true],
  // $eq / $ne
  ['$eq', { n: { $eq: 5 } }, true],
  ['$eq literal object with $ keys', { o: { $eq: { a: 1, b: { c: 'deep' } } } }, true],
  ['$eq missing', { nope: { $eq: 1 } }, false],
  ['$ne', { n: { $ne: 4 } }, true],
  ['$ne equal', { n: { $ne: 5 } }, false],
  ['$ne missing matches', { nope: { $ne: 1 } }, true],
  ['$ne deep', { arr: { $ne: [1, 2, { x: 3 }] } }, false],
  ['$ne type mismatch', { n: { $ne: '5' } }, true],
  // ordering
  ['$gt', { n: { $gt: 4 } }, true],
  ['$gt equal', { n: { $gt: 5 } }, false],
  ['$gte', { n: { $gte: 5 } }, true],
  ['$lt', { f: { $lt: 3 } }, true],
  ['$lt no', { f: { $lt: 2.5 } }, false],
  ['$lte', { f: { $lte: 2.5 } }, true],
  ['$gt strings', { s: { $gt: 'appl' } }, true],
  ['$lt strings by code unit', { s: { $lt: 'Banana' } }, false],
  ['$gte strings', { s: { $gte: 'apple' } }, true],
  ['$gt string vs number', { s: { $gt: 1 } }, false],
  ['$lt number vs string', { n: { $lt: 'z' } }, false],
  ['$gt bool', { b: { $gt: false } }, false],
  ['$gt null', { z: { $gt: null } }, false],
  ['$lte missing', { nope: { $lte: 100 } }, false],
  ['range AND', { n: { $gt: 1, $lt: 10 } }, true],
  ['range AND fails', { n: { $gt: 1, $lt: 5 } }, false],
  // $in / $nin
  ['$in', { s: { $in: ['pear', 'apple'] } }, true],
  ['$in none', { s: { $in: ['pear'] } }, false],
  ['$in empty list', { s: { $in: [] } }, false],
  ['$in deep', { o: { $in: [1, { a: 1, b: { c: 'deep' } }] } }, true],
  ['$in type strict', { n: { $in: ['5'] } }, false],
  ['$in null', { z: { $in: [null] } }, true],
  ['$in missing', { nope: { $in: [null] } }, false],
  ['$nin', { s: { $nin: ['pear'] } }, true],
  ['$nin hit', { s: { $nin: ['apple'] } }, false],
  ['$nin missing matches', { nope: { $nin: [1] } }, true],
  ['$nin deep', { arr: { $nin: [[1, 2, { x: 3 }]] } }, false],
  // logic
  ['$and', { $and: [{ n: 5 }, { s: 'apple' }] }, true],
  ['$and fails', { $and: [{ n: 5 }, { s: 'pear' }] }, false],
  ['$or', { $or: [{ n: 6 }, { s: 'apple' }] }, true],
  ['$or fails', { $or: [{ n: 6 }, { s: 'pear' }] }, false],
  ['nested', { $or: [{ $and: [{ n: { $gte: 5 } }, { 'o.b.c': 'deep' }] }, { nope: 1 }], b: true }, true],
  ['$and with field', { $and: [{ n: 5 }], s: 'pear' }, false],
]

t.test('each operator, matching and not', async (t) => {
  for (const [name, filter, expected] of cases) t.equal(compileFilter(filter)(meta), expected, name)
})

t.test('malformed filters are bad_request', async (t) => {
  const bad: [string, unknown][] = [
    ['not an object', [1]],
    ['string', 'n'],
    ['null', null],
    ['unknown top-level operator', { $not: { n: 1 } }],
    ['unknown field operator', { n: { $regex: 'a' } }],
    ['$exists is not in the language', { n: { $exists: true } }],
    ['mixed operator and plain keys', { o: { $eq: 1, a: 1 } }],
    ['empty $and', { $and: [] }],
    ['empty $or', { $or: [] }],
    ['$and not a list', { $and: { n: 1 } }],
    ['$or item not an object', { $or: [1] }],
    ['$or item an array', { $or: [[{ n: 1 }]] }],
    ['$in not a list', { n: { $in: 5 } }],
    ['$nin not a list', { n: { $nin: 'abc' } }],
    ['$and as field operator', { n: { $and: [{ n: 1 }] } }],
    ['unknown operator deep inside', { $or: [{ n: 1 }, { $and: [{ s: { $like: 'a' } }] }] }],
    ['too deep', JSON.parse('{"$and":['.repeat(40) + '{"n":1}' + ']}'.repeat(40)) as unknown],
  ]
  for (const [name, filter] of bad) t.throws(() => compileFilter(filter), { code: 'bad_request' }, name)
})

t.test('filters through search: k best among matches, bad filters refused before scanning', async (t) => {
  const { session } = makeEngine({}, t)
  const s = session()
  s.upload({
    vectors: Array.from({ length: 50 }, (_, i) => ({
      id: `v${i}`,
      vector: [Math.cos(i / 10), Math.sin(i / 10)],
      metadata: i % 5 === 0 ? { group: 'a', i } : { group: 'b', i, tags: ['x'] },
    })),
  })
  const r = await s.search({ vector: [1, 0], k: 3, filter: { group: 'a' } })
  t.same(
    r.results.map((h) => h.id),
    ['v0', 'v5', 'v10'],
  )
  t.equal(r.total, 50)
  const r2 = await s.search({ vector: [Math.cos(2), Math.sin(2)], k: 3, filter: { tags: ['x'], i: { $gte: 20 } } })
  t.same(
    r2.results.map((h) => h.id),
    ['v21', 'v22', 'v23'],
  )
  const none = await s.search({ vector: [1, 0], filter: { group: 'c' } })
  t.same(none.results, [])
  await t.rejects(s.search({ vector: [1, 0], filter: { group: { $like: 'a' } } }), { code: 'bad_request' })
  await t.rejects(s.search({ vector: [1, 0], filter: 'group' }), { code: 'bad_request' })
})
