// A search answered by the HNSW graph (PROTOCOL.md §4.2, `exact: false`): the
// graph's candidates are rescored exactly from the store snapshot (or, for a
// row only the graph holds, scored by hnswlib in float32) and merged with an
// exact scan of the labels the graph does not hold yet (the tail, at
// or above the watermark). That works the same while the graph is still being
// built (graphServes says from when), only with a longer tail. Whenever it
// cannot promise the k best (a selective filter, too few live candidates, the
// worker gone), it answers exactly or returns null to ask for an exact scan.
import type { SearchHit } from '@rag-session-host/client/shared'
import { clampScore, exactScan, matchScan, rowScore, RowRuns } from './exact-scan.js'
import type { Predicate } from './filter.js'
import type { Candidates } from './hnsw-pool.js'
import { Slicer } from './slicer.js'
import { isAlive, type StoreView } from './store.js'
import { TopK } from './topk.js'
import type { IndexTuning, SearchResult } from './types.js'

/** With a filter, scan the matches exactly when there are at most this many per k... */
const FILTER_EXACT_PER_K = 50
/** ...ask HNSW for this many times the candidates the filter's selectivity suggests... */
const FILTER_OVERSAMPLE = 2
/** ...and never more candidates than this (past it an exact scan of the matches is cheaper). */
const MAX_CANDIDATES = 2048

/** Tail labels looked at between two looks at the clock (a run of them is at most BLOCK rows of kernel work). */
const TAIL_STEP = 256

/** What the search needs of the index generation whose labels `view` carries. */
export interface GraphSearch {
  /** Labels below this were in the graph when last reported. */
  readonly watermark: number
  search(query: Float32Array, k: number, ef: number): Promise<Candidates>
}

/** What graphServes needs of a generation (hnsw-index.ts). */
export interface GraphCoverage {
  /** The graph has held every live vector once: it serves from then on, whatever the tail. */
  readonly ready: boolean
  /** Live vectors the graph holds (live labels below the watermark). */
  readonly coveredLive: number
}

/**
 * Whether searches go to the graph (plus an exact scan of the tail) rather
 * than to an exact scan of the whole session. Once ready, always. While the
 * generation is building, once the graph holds at least
 * `exactSearchMaxVectors` live vectors (and at least one): the tail scan then
 * skips at least as many rows as a session needs before it gets a graph at
 * all, far more main-thread work than the graph's part costs (a round trip
 * that the tail scan overlaps, and rescoring the k or so candidates), and the
 * saving grows with every point the worker adds. Right after the build starts
 * the watermark is 0 and the graph holds nothing: the search stays an exact
 * scan (`exact: true`), not a graph round trip for nothing. A share of the
 * session (say half) would instead keep the first half of a long build on
 * full scans, which is the cost this avoids.
 */
export function graphServes(idx: GraphCoverage, tuning: IndexTuning): boolean {
  return idx.ready || idx.coveredLive >= Math.max(1, tuning.exactSearchMaxVectors)
}

export interface SearchQuery {
  readonly q: Float32Array
  readonly k: number
  readonly threshold: number | undefined
  readonly predicate: Predicate | undefined
}

/** `view` must carry labels (of the graph's generation). Returns null to ask for an exact scan. */
export async function approximateSearch(view: StoreView, graph: GraphSearch, query: SearchQuery, tuning: IndexTuning): Promise<SearchResult | null> {
  const { q, k, threshold, predicate } = query
  let allowed: Uint8Array | undefined
  let matches = view.count
  if (predicate) {
    ;({ allowed, count: matches } = await matchScan(view, predicate))
    if (matches === 0) return { results: [], total: view.count, exact: true }
  }
  const want = predicate ? Math.ceil(k * (view.count / matches) * FILTER_OVERSAMPLE) : k
  if (predicate && (matches <= Math.max(tuning.exactSearchMaxVectors, FILTER_EXACT_PER_K * k) || want > MAX_CANDIDATES)) {
    const top = await exactScan(view, q, k, { threshold, allowed })
    return { results: hits(view, top), total: view.count, exact: true }
  }
  const labels = view.labels!
  const toSlot = labels.toSlot
  // Read once: the graph holds at least the labels below it for the whole
  // search (it only grows), the tail scan covers every label from it on.
  const watermark = Math.min(graph.watermark, labels.next)
  // The worker is asked first and the tail scanned while it answers (during a
  // build it may be in the middle of a slice of adds).
  const pending = candidates(graph, q, want, Math.max(tuning.hnswEfSearch, want))
  const min = threshold ?? Number.NEGATIVE_INFINITY
  const top = new TopK(k)
  let eligible = 0
  // The tail, exactly. Labels are issued in slot order, so its live labels are
  // mostly runs of consecutive slots: RowRuns scores them 8 rows per pass.
  const runs = new RowRuns(view, q, top, min)
  const slicer = new Slicer()
  for (let label = watermark; label < labels.next; label++) {
    const slot = toSlot[label]!
    if (slot >= 0 && slot < view.end && isAlive(view, slot) && (!allowed || allowed[slot] === 1)) {
      eligible++
      runs.add(slot)
    }
    if (label % TAIL_STEP === TAIL_STEP - 1) await slicer.pause()
  }
  runs.flush()
  const found = await pending
  if (found === null) return null // worker gone or index dropped meanwhile: the caller scans exactly
  for (let i = 0; i < found.labels.length; i++) {
    const label = found.labels[i]!
    // At or above the watermark read above: the tail scan has scored it (or
    // it is newer than the view). So no slot is considered twice.
    if (label >= watermark) continue
    const slot = toSlot[label]!
    if (slot < 0 || slot >= view.end || !isAlive(view, slot)) continue
    if (allowed && allowed[slot] !== 1) continue
    eligible++
    // Rescored from the row where the store still has it (the exact scan's
    // score, to the bit); else hnswlib's own float32 score: the graph holds the
    // only copy of a released row (store.ts).
    const s = slot >= view.released ? rowScore(view, slot, q) : clampScore(found.scores[i]!)
    if (s >= min) top.push(s, slot)
  }
  // Fewer eligible candidates than k (say, many fresh tombstones or a
  // selective filter): only an exhaustive scan can promise the k best.
  if (eligible < Math.min(k, matches)) return null
  return { results: hits(view, top), total: view.count, exact: false }
}

/** The graph's candidates, or null if the worker failed: settled at once, so a failure is never an unhandled rejection while the tail is scanned. */
async function candidates(graph: GraphSearch, q: Float32Array, want: number, ef: number): Promise<Candidates | null> {
  try {
    return await graph.search(q, want, ef)
  } catch {
    return null
  }
}

/** The hits of `top`, best first, with their ids and metadata from `view`. */
export function hits(view: StoreView, top: TopK): SearchHit[] {
  return top.sorted().map(({ score, slot }) => ({ id: view.ids[slot]!, score, metadata: view.meta[slot]! }))
}
