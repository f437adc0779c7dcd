// Pass 1 of an upload (PROTOCOL.md §4.1): every item is judged, in request
// order, against the state the request will produce (after a replace the
// session starts empty), the session's limits and the host-wide byte budget.
// Nothing is changed here; the session applies the accepted items afterwards.
// The per-item checks that need no state ran before (item-check.ts).
import type { Rejection } from '@rag-session-host/client/shared'
import type { CheckedItems } from './item-check.js'
import type { Metadata, VectorLimits } from './types.js'

export interface Accepted {
  id: string
  unit: Float32Array
  meta: Metadata
}

/** The session's vectors before the request. */
export interface UploadBase {
  readonly dims: number | null
  readonly count: number
  has(id: string): boolean
}

export interface UploadBudget {
  readonly limits: VectorLimits
  /** Stored bytes of every other session, and the host-wide cap. */
  readonly othersBytes: number
  readonly maxVectorBytes: number
  /** Bytes charged for a session of `count` vectors of `dims` values (budget.ts). */
  readonly costOf: (count: number, dims: number) => number
}

export interface UploadPlan {
  accepted: Accepted[]
  rejected: Rejection[]
  /** The dimension after the request: fixed by the first accepted vector if the session starts empty. */
  dims: number | null
}

/** `checked` holds the stateless checks of every item (item-check.ts); the unit vectors of `accepted` are views into it. */
export function planUpload(checked: CheckedItems, replace: boolean, base: UploadBase, budget: UploadBudget): UploadPlan {
  const { limits } = budget
  const { ids, early, late, meta, starts, units } = checked
  const rejected: Rejection[] = []
  const accepted: Accepted[] = []
  const takenIds = new Set<string>()
  let dims = replace ? null : base.dims
  let count = replace ? 0 : base.count
  for (let i = 0; i < ids.length; i++) {
    // In §4.1's order: id and vector, dimension, metadata; then the limits.
    const first = early[i]
    if (first) {
      rejected.push({ id: ids[i] ?? null, code: first.code, message: first.message })
      continue
    }
    const id = ids[i]! // an item that passed the id check has one
    const length = starts[i + 1]! - starts[i]!
    if (dims !== null && length !== dims) {
      rejected.push({ id, code: 'dimension_mismatch', message: `vector has ${length} values, the session's vectors have ${dims}` })
      continue
    }
    const second = late[i]
    if (second) {
      rejected.push({ id, code: second.code, message: second.message })
      continue
    }
    const isNew = !takenIds.has(id) && (replace || !base.has(id))
    if (isNew) {
      if (count + 1 > limits.maxVectorsPerSession) {
        rejected.push({ id, code: 'limit_exceeded', message: `session holds ${limits.maxVectorsPerSession} vectors already` })
        continue
      }
      if (budget.othersBytes + budget.costOf(count + 1, length) > budget.maxVectorBytes) {
        rejected.push({ id, code: 'limit_exceeded', message: 'host vector memory budget exhausted' })
        continue
      }
      count++
      takenIds.add(id)
    }
    dims ??= length
    accepted.push({ id, unit: units.subarray(starts[i], starts[i + 1]), meta: meta[i]! })
  }
  return { accepted, rejected, dims }
}
