// Exhaustive search over a store view. Scores are dot products of unit vectors
// (= cosine). The kernel scores 8 rows per pass over the query, which measured
// ~2x faster than one row at a time on V8 (the query value is loaded once for 8
// multiply-adds). Long scans yield every SLICE_MS (slicer.ts). RowRuns feeds
// the same kernel rows picked one by one (the HNSW tail, approximate-search.ts).
// Rows the store has released (only the graph holds them) are read back from
// the worker first (released-rows.ts).
import { READ_BATCH, releasedRows } from './released-rows.js'
import { Slicer } from './slicer.js'
import { CHUNK_MASK, CHUNK_ROWS, CHUNK_SHIFT } from './segment.js'
import { isAlive, type StoreView } from './store.js'
import { TopK } from './topk.js'
import type { Metadata } from './types.js'

/** Rows scored between two looks at the clock (~0.1 ms at 384 dims); also the longest run RowRuns scores at once. */
export const BLOCK = 256

export interface ScanOptions {
  threshold?: number | undefined
  /** Only rows whose metadata passes are scored. */
  predicate?: ((meta: Metadata) => boolean) | undefined
  /** Only rows marked here are scored (from matchScan). */
  allowed?: Uint8Array | undefined
}

export function clampScore(s: number): number {
  return s > 1 ? 1 : s < -1 ? -1 : s
}

/**
 * dot(row at `offset`, q), summed in the order scoreRows sums each of its 8
 * rows (one accumulator, j ascending), so a row scores the same to the last
 * bit whichever path scores it: a block of an exact scan, a lone row, a run of
 * the HNSW tail or a graph candidate. Unrolled, it measured as fast as four
 * accumulators here (the loads dominate).
 */
function dot(data: Float32Array, offset: number, q: Float32Array, d: number): number {
  let s = 0
  let j = 0
  for (; j + 3 < d; j += 4) {
    const p = offset + j
    s += data[p]! * q[j]!
    s += data[p + 1]! * q[j + 1]!
    s += data[p + 2]! * q[j + 2]!
    s += data[p + 3]! * q[j + 3]!
  }
  for (; j < d; j++) s += data[offset + j]! * q[j]!
  return s
}

/** out[i - from] = dot(row i, q) for rows from..to-1 of one chunk (`from`, `to` relative to it). */
export function scoreRows(data: Float32Array, q: Float32Array, d: number, from: number, to: number, out: Float64Array): void {
  let i = from
  for (; i + 7 < to; i += 8) {
    const o0 = i * d
    const o1 = o0 + d
    const o2 = o1 + d
    const o3 = o2 + d
    const o4 = o3 + d
    const o5 = o4 + d
    const o6 = o5 + d
    const o7 = o6 + d
    let s0 = 0
    let s1 = 0
    let s2 = 0
    let s3 = 0
    let s4 = 0
    let s5 = 0
    let s6 = 0
    let s7 = 0
    for (let j = 0; j < d; j++) {
      const x = q[j]!
      s0 += data[o0 + j]! * x
      s1 += data[o1 + j]! * x
      s2 += data[o2 + j]! * x
      s3 += data[o3 + j]! * x
      s4 += data[o4 + j]! * x
      s5 += data[o5 + j]! * x
      s6 += data[o6 + j]! * x
      s7 += data[o7 + j]! * x
    }
    const b = i - from
    out[b] = s0
    out[b + 1] = s1
    out[b + 2] = s2
    out[b + 3] = s3
    out[b + 4] = s4
    out[b + 5] = s5
    out[b + 6] = s6
    out[b + 7] = s7
  }
  for (; i < to; i++) out[i - from] = dot(data, i * d, q, d)
}

/** Score of one stored row against q. */
export function rowScore(view: StoreView, slot: number, q: Float32Array): number {
  return clampScore(dot(view.chunks[slot >> CHUNK_SHIFT]!, (slot & CHUNK_MASK) * view.dims, q, view.dims))
}

/** The k best visible rows of the view. */
export async function exactScan(view: StoreView, q: Float32Array, k: number, opts: ScanOptions = {}): Promise<TopK> {
  const top = new TopK(k)
  const slicer = new Slicer()
  const min = opts.threshold ?? Number.NEGATIVE_INFINITY
  const { chunks, dims: d, end } = view
  const { predicate, allowed } = opts
  const scores = new Float64Array(Math.max(BLOCK, READ_BATCH))
  if (view.released > 0) {
    // The rows only the graph holds, read back in batches (released-rows.ts), scored by the same kernel.
    const keep = allowed ? (slot: number) => allowed[slot] === 1 : predicate ? (slot: number) => predicate(view.meta[slot]!) : undefined
    for await (const r of releasedRows(view, keep)) {
      scoreRows(r.rows, q, d, 0, r.slots.length, scores)
      for (let i = 0; i < r.slots.length; i++) {
        if (r.found[i] !== 1) continue
        const s = clampScore(scores[i]!)
        if (s >= min && s > top.floor) top.push(s, r.slots[i]!)
      }
    }
  }
  // From the first row held here; a block ends at a multiple of BLOCK, so it never straddles two chunks.
  for (let from = view.released, to = 0; from < end; from = to) {
    to = Math.min(end, (from | (BLOCK - 1)) + 1)
    // BLOCK divides CHUNK_ROWS, so a block never straddles two chunks.
    const chunk = chunks[from >> CHUNK_SHIFT]!
    const base = from & ~CHUNK_MASK
    if (!predicate && !allowed) {
      scoreRows(chunk, q, d, from - base, to - base, scores)
      for (let i = from; i < to; i++) {
        if (!isAlive(view, i)) continue
        const s = clampScore(scores[i - from]!)
        if (s >= min && s > top.floor) top.push(s, i)
      }
    } else {
      for (let i = from; i < to; i++) {
        if (allowed ? allowed[i] !== 1 : !isAlive(view, i) || !predicate!(view.meta[i]!)) continue
        const s = clampScore(dot(chunk, (i - base) * d, q, d))
        if (s >= min && s > top.floor) top.push(s, i)
      }
    }
    await slicer.pause()
  }
  return top
}

if (CHUNK_ROWS % BLOCK !== 0) throw new Error('BLOCK must divide CHUNK_ROWS')

/**
 * Scores rows named one slot at a time into `top` (those scoring at least
 * `min`), batching each run of consecutive slots (one chunk, at most BLOCK
 * rows) through scoreRows. The caller checks liveness and filters, and calls
 * flush() at the end (and may before yielding: a run holds no more than a slot
 * range, which a view never changes). Slots given out of order or with gaps
 * only make shorter runs.
 */
export class RowRuns {
  readonly #view: StoreView
  readonly #q: Float32Array
  readonly #top: TopK
  readonly #min: number
  readonly #scores = new Float64Array(BLOCK)
  #from = 0
  #to = 0

  constructor(view: StoreView, q: Float32Array, top: TopK, min: number) {
    this.#view = view
    this.#q = q
    this.#top = top
    this.#min = min
  }

  add(slot: number): void {
    // (slot & CHUNK_MASK) === 0 starts a chunk: a run never straddles two.
    if (slot === this.#to && slot - this.#from < BLOCK && (slot & CHUNK_MASK) !== 0) {
      this.#to = slot + 1
      return
    }
    this.flush()
    this.#from = slot
    this.#to = slot + 1
  }

  flush(): void {
    const from = this.#from
    const to = this.#to
    if (from === to) return
    this.#from = this.#to = 0
    const view = this.#view
    const base = from & ~CHUNK_MASK
    const scores = this.#scores
    scoreRows(view.chunks[from >> CHUNK_SHIFT]!, this.#q, view.dims, from - base, to - base, scores)
    const top = this.#top
    const min = this.#min
    for (let i = from; i < to; i++) {
      const s = clampScore(scores[i - from]!)
      if (s >= min && s >= top.floor) top.push(s, i)
    }
  }
}

/** Marks the visible rows whose metadata passes; returns the marks and their count. */
export async function matchScan(view: StoreView, predicate: (meta: Metadata) => boolean): Promise<{ allowed: Uint8Array; count: number }> {
  const allowed = new Uint8Array(view.end)
  const slicer = new Slicer()
  let count = 0
  for (let from = 0; from < view.end; from += BLOCK * 4) {
    const to = Math.min(view.end, from + BLOCK * 4)
    for (let i = from; i < to; i++) {
      if (isAlive(view, i) && predicate(view.meta[i]!)) {
        allowed[i] = 1
        count++
      }
    }
    await slicer.pause()
  }
  return { allowed, count }
}
