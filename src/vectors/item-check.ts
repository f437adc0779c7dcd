// The checks of an upload's items (PROTOCOL.md §4.1) that need no session
// state: id, vector (decoded and normalized), metadata. They are the costly
// part of an upload (base64 decode, normalization, a JSON copy of every
// metadata object), so for a large request they run on the frame worker
// (dispatch/frame-worker.ts) and the result crosses to the main thread by
// structured clone, the vectors packed in one transferable Float32Array.
// Small requests run the same function inline. The dimension check sits
// between the vector and metadata checks in §4.1's order but depends on the
// session, so the plan (upload-plan.ts) does it and ranks the two kinds of
// rejection found here around it.
import { isPlainObject } from './json-equal.js'
import type { Metadata, VectorLimits } from './types.js'
import { checkId, readMetadata, readVector, Rejected, type Alloc, type RejectCode } from './validate.js'

export interface ItemRejection {
  readonly code: RejectCode
  readonly message: string
}

/** What the stateless checks found, per item, in request order. Plain data: it survives a structured clone. */
export interface CheckedItems {
  /** The item's id when it is an object with a string id, else null. */
  readonly ids: (string | null)[]
  /** A failed id or vector check (these outrank the dimension check). */
  readonly early: (ItemRejection | null)[]
  /** A failed metadata check (ranked after the dimension check). */
  readonly late: (ItemRejection | null)[]
  readonly meta: (Metadata | null)[]
  /** Item i's unit vector is units[starts[i], starts[i + 1]) (empty when it was rejected early). */
  readonly starts: Int32Array
  readonly units: Float32Array
}

export type ItemLimits = Pick<VectorLimits, 'maxDims' | 'maxMetadataBytes'>

const NOT_AN_ITEM: ItemRejection = { code: 'invalid_id', message: 'item must be an object with a string id' }

/** Values the item's vector can decode to, at most (so one array can hold every vector of the request). */
function roomFor(item: unknown, maxDims: number): number {
  if (!isPlainObject(item)) return 0
  const { vector, vector_b64: b64 } = item
  if (Array.isArray(vector)) return Math.min(vector.length, maxDims)
  // base64 is 4 characters per 3 bytes, 4 bytes per value.
  if (typeof b64 === 'string') return Math.min(Math.floor((b64.length * 3) / 16), maxDims)
  return 0
}

export function checkItems(items: readonly unknown[], limits: ItemLimits): CheckedItems {
  const n = items.length
  let room = 0
  for (const item of items) room += roomFor(item, limits.maxDims)
  const units = new Float32Array(room)
  const starts = new Int32Array(n + 1)
  const ids: (string | null)[] = new Array<string | null>(n)
  const early: (ItemRejection | null)[] = new Array<ItemRejection | null>(n).fill(null)
  const late: (ItemRejection | null)[] = new Array<ItemRejection | null>(n).fill(null)
  const meta: (Metadata | null)[] = new Array<Metadata | null>(n).fill(null)
  let used = 0
  // Vectors decode straight into `units`; a rejected item's values are overwritten by the next one.
  const alloc: Alloc = (length) => units.subarray(used, used + length)
  for (let i = 0; i < n; i++) {
    starts[i] = used
    const item = items[i]
    if (!isPlainObject(item) || typeof item.id !== 'string') {
      ids[i] = null
      early[i] = NOT_AN_ITEM
      continue
    }
    ids[i] = item.id
    const bad = checkId(item.id)
    const unit = bad ?? readVector(item, limits.maxDims, alloc)
    if (unit instanceof Rejected) {
      early[i] = { code: unit.code, message: unit.message }
      continue
    }
    used += unit.length
    const m = readMetadata(item.metadata, limits.maxMetadataBytes)
    if (m instanceof Rejected) late[i] = { code: m.code, message: m.message }
    else meta[i] = m
  }
  starts[n] = used
  return { ids, early, late, meta, starts, units }
}
