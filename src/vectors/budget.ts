// What a session's vectors cost in memory, as MAX_VECTOR_BYTES and
// sessionInfo's `vector_bytes` count them: the float32 values once, wherever
// they are held (the store or, for released rows, the graph), plus, for a
// session big enough to have a graph, what hnswlib keeps per point besides
// the vector, and the second copy of the vector when the host keeps both
// (singleCopy off, engine.ts). A function of the count, so an upload is judged
// before anything changes and the charge never moves while a graph builds.
import type { IndexTuning } from './types.js'

/**
 * hnswlib's bytes per point besides its vector, at M: level-0 links (2M
 * neighbours and a count, 4 bytes each) and the label (8) in its level-0
 * block; the level (4), the upper-level pointer (8) and an entry of the label
 * map (~32); upper levels, 1/(M - 1) of them a point on average, of M
 * neighbours and a count each.
 */
export function graphBytesPerPoint(m: number): number {
  const level0 = (2 * m + 1) * 4 + 8
  const upper = Math.ceil(((m + 1) * 4) / Math.max(1, m - 1))
  return level0 + 4 + 8 + 32 + upper
}

/**
 * Bytes charged for a session of `count` vectors of `dims` values. At or
 * below `exactSearchMaxVectors` a session has no graph; `singleCopy`: the
 * graph holds the only copy of the vectors it covers.
 */
export function sessionCost(tuning: Pick<IndexTuning, 'exactSearchMaxVectors' | 'hnswM'>, singleCopy: boolean, count: number, dims: number): number {
  const values = count * dims * 4
  if (count <= tuning.exactSearchMaxVectors) return values
  const perPoint = graphBytesPerPoint(tuning.hnswM) + (singleCopy ? 0 : dims * 4)
  return values + count * perPoint
}
