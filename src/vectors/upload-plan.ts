// Pass 1 of an upload (PROTOCOL.md §4.1): every item is judged, in request
// order, against the state the request will produce (after a replace the
// session starts empty), the session's limits and the host-wide byte budget.
// Nothing is changed here; the session applies the accepted items afterwards.
import type { Rejection } from '@rag-session-host/client/shared'
import { isPlainObject } from './json-equal.js'
import type { Metadata, VectorLimits } from './types.js'
import { checkId, readMetadata, readVector, Rejected, type Alloc } from './validate.js'

export interface Accepted {
  id: string
  unit: Float32Array
  meta: Metadata
}

/** The session's vectors before the request. */
export interface UploadBase {
  readonly dims: number | null
  readonly count: number
  readonly bytes: number
  has(id: string): boolean
}

export interface UploadBudget {
  readonly limits: VectorLimits
  /** Stored bytes of every other session, and the host-wide cap. */
  readonly othersBytes: number
  readonly maxVectorBytes: number
}

export interface UploadPlan {
  accepted: Accepted[]
  rejected: Rejection[]
  /** The dimension after the request: fixed by the first accepted vector if the session starts empty. */
  dims: number | null
}

/** `alloc` gives the arrays the unit vectors go into (uploads pass a reused scratch). */
export function planUpload(items: readonly unknown[], replace: boolean, base: UploadBase, budget: UploadBudget, alloc: Alloc): UploadPlan {
  const { limits } = budget
  const rejected: Rejection[] = []
  const accepted: Accepted[] = []
  const takenIds = new Set<string>()
  let dims = replace ? null : base.dims
  let count = replace ? 0 : base.count
  let sessionBytes = replace ? 0 : base.bytes
  for (const item of items) {
    if (!isPlainObject(item) || typeof item.id !== 'string') {
      rejected.push({ id: null, code: 'invalid_id', message: 'item must be an object with a string id' })
      continue
    }
    const id = item.id
    const verdict = judge(item, dims, limits, alloc)
    if (verdict instanceof Rejected) {
      rejected.push({ id, code: verdict.code, message: verdict.message })
      continue
    }
    const isNew = !takenIds.has(id) && (replace || !base.has(id))
    if (isNew) {
      if (count + 1 > limits.maxVectorsPerSession) {
        rejected.push({ id, code: 'limit_exceeded', message: `session holds ${limits.maxVectorsPerSession} vectors already` })
        continue
      }
      const cost = verdict.unit.length * 4
      if (budget.othersBytes + sessionBytes + cost > budget.maxVectorBytes) {
        rejected.push({ id, code: 'limit_exceeded', message: 'host vector memory budget exhausted' })
        continue
      }
      count++
      sessionBytes += cost
      takenIds.add(id)
    }
    dims ??= verdict.unit.length
    accepted.push({ id, unit: verdict.unit, meta: verdict.meta })
  }
  return { accepted, rejected, dims }
}

/** Per-item checks in the order of §4.1: id, vector, dimension, metadata. */
function judge(item: Record<string, unknown>, dims: number | null, limits: VectorLimits, alloc: Alloc): Rejected | { unit: Float32Array; meta: Metadata } {
  const bad = checkId(item.id)
  if (bad) return bad
  const unit = readVector(item, limits.maxDims, alloc)
  if (unit instanceof Rejected) return unit
  if (dims !== null && unit.length !== dims) {
    return new Rejected('dimension_mismatch', `vector has ${unit.length} values, the session's vectors have ${dims}`)
  }
  const meta = readMetadata(item.metadata, limits.maxMetadataBytes)
  if (meta instanceof Rejected) return meta
  return { unit, meta }
}
