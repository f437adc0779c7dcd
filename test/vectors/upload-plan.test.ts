// Pass 1 of an upload by itself: what is accepted and rejected, in order,
// against the state the request will produce, before anything is stored.
import t from 'tap'
import { checkItems } from '../../src/vectors/item-check.js'
import { planUpload as planChecked, type UploadBase } from '../../src/vectors/upload-plan.js'
import { LIMITS } from './fixtures/engine.js'

const base = (ids: string[], dims: number | null): UploadBase => ({
  dims,
  count: ids.length,
  has: (id) => ids.includes(id),
})
const budget = (over: Partial<{ maxVectorsPerSession: number; othersBytes: number; maxVectorBytes: number }> = {}) => ({
  limits: { ...LIMITS, maxVectorsPerSession: over.maxVectorsPerSession ?? LIMITS.maxVectorsPerSession },
  othersBytes: over.othersBytes ?? 0,
  maxVectorBytes: over.maxVectorBytes ?? 1 << 30,
  costOf: (count: number, dims: number) => count * dims * 4,
})
/** The stateless checks (item-check.ts), then the plan, as an upload runs them. */
const planUpload = (items: unknown[], replace: boolean, b: UploadBase, bud: ReturnType<typeof budget>) => planChecked(checkItems(items, bud.limits), replace, b, bud)
const codes = (plan: ReturnType<typeof planUpload>) => plan.rejected.map((r) => [r.id, r.code])

t.test('the first accepted vector fixes the dimension of an empty session', async (t) => {
  const plan = planUpload(
    [
      { id: 'a', vector: [0, 0] },
      { id: 'b', vector: [3, 4] },
      { id: 'c', vector: [1, 2, 3] },
    ],
    false,
    base([], null),
    budget(),
  )
  t.equal(plan.dims, 2)
  t.same(
    plan.accepted.map((a) => a.id),
    ['b'],
  )
  t.same(Array.from(plan.accepted[0]!.unit), [0.6000000238418579, 0.800000011920929], 'stored as unit float32')
  t.same(codes(plan), [
    ['a', 'invalid_vector'],
    ['c', 'dimension_mismatch'],
  ])
})

t.test('replace plans against an empty session: a new dimension, the full session budget', async (t) => {
  const before = base(['x', 'y'], 3)
  const items = [
    { id: 'x', vector: [1, 0] },
    { id: 'z', vector: [0, 1] },
  ]
  const kept = planUpload(items, false, before, budget({ maxVectorsPerSession: 2 }))
  t.same(codes(kept), [
    ['x', 'dimension_mismatch'],
    ['z', 'dimension_mismatch'],
  ])
  const replaced = planUpload(items, true, before, budget({ maxVectorsPerSession: 2 }))
  t.same(replaced.rejected, [])
  t.equal(replaced.dims, 2)
})

t.test('limits count new ids once; upserts and repeats of an accepted id fit a full session', async (t) => {
  const before = base(['a'], 2)
  const items = [
    { id: 'a', vector: [1, 1] }, // upsert: no new room needed
    { id: 'b', vector: [1, 2] }, // new: the session is now full
    { id: 'b', vector: [2, 1] }, // same id again: still fits
    { id: 'c', vector: [1, 3] }, // new: over the limit
  ]
  const plan = planUpload(items, false, before, budget({ maxVectorsPerSession: 2 }))
  t.same(
    plan.accepted.map((a) => a.id),
    ['a', 'b', 'b'],
  )
  t.same(codes(plan), [['c', 'limit_exceeded']])
  t.match(plan.rejected[0]!.message, /holds 2 vectors/)
})

t.test('the host-wide budget counts the other sessions and this one', async (t) => {
  // 8 bytes a vector at 2 dims; 16 used by others, 8 by this session, cap 40: room for two more.
  const plan = planUpload(
    ['n1', 'n2', 'n3'].map((id) => ({ id, vector: [1, 2] })),
    false,
    base(['a'], 2),
    budget({ othersBytes: 16, maxVectorBytes: 40 }),
  )
  t.same(
    plan.accepted.map((a) => a.id),
    ['n1', 'n2'],
  )
  t.same(codes(plan), [['n3', 'limit_exceeded']])
  t.match(plan.rejected[0]!.message, /budget/)
})

t.test('items that are not objects with a string id are rejected with id null, in order', async (t) => {
  const plan = planUpload([null, 'x', { id: 7, vector: [1] }, { id: 'ok', vector: [1] }, { id: '', vector: [1] }], false, base([], null), budget())
  t.same(codes(plan), [
    [null, 'invalid_id'],
    [null, 'invalid_id'],
    [null, 'invalid_id'],
    ['', 'invalid_id'],
  ])
  t.same(
    plan.accepted.map((a) => a.id),
    ['ok'],
  )
})
