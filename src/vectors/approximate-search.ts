// A search answered by the HNSW graph (PROTOCOL.md §4.2, `exact: false`): the
// graph's candidates are rescored exactly from the store snapshot and merged
// with an exact scan of the labels the graph does not hold yet. Whenever that
// cannot promise the k best (a selective filter, too few live candidates, the
// worker gone), it answers exactly or returns null to ask for an exact scan.
import type { SearchHit } from '@rag-session-host/client/shared'
import { exactScan, matchScan, rowScore } from './exact-scan.js'
import type { Predicate } from './filter.js'
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

/** What the search needs of the index generation whose labels `view` carries. */
export interface GraphSearch {
  /** Labels below this were in the graph when last reported. */
  readonly watermark: number
  search(query: Float32Array, k: number, ef: number): Promise<number[]>
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
  const watermark = Math.min(graph.watermark, labels.next)
  let found: number[]
  try {
    found = await graph.search(q, want, Math.max(tuning.hnswEfSearch, want))
  } catch {
    return null // worker gone or index dropped meanwhile: the caller scans exactly
  }
  const min = threshold ?? Number.NEGATIVE_INFINITY
  const top = new TopK(k)
  const seen = new Set<number>()
  let eligible = 0
  const consider = (label: number): void => {
    if (label >= labels.next) return // newer than this view
    const slot = labels.toSlot[label]!
    if (slot < 0 || slot >= view.end || !isAlive(view, slot) || seen.has(slot)) return
    if (allowed && allowed[slot] !== 1) return
    seen.add(slot)
    eligible++
    const s = rowScore(view, slot, q)
    if (s >= min) top.push(s, slot)
  }
  for (const label of found) consider(label)
  const slicer = new Slicer()
  for (let label = watermark; label < labels.next; label++) {
    consider(label)
    if ((label & 1023) === 0) await slicer.pause()
  }
  // Fewer eligible candidates than k (say, many fresh tombstones or a
  // selective filter): only an exhaustive scan can promise the k best.
  if (eligible < Math.min(k, matches)) return null
  return { results: hits(view, top), total: view.count, exact: false }
}

/** The hits of `top`, best first, with their ids and metadata from `view`. */
export function hits(view: StoreView, top: TopK): SearchHit[] {
  return top.sorted().map(({ score, slot }) => ({ id: view.ids[slot]!, score, metadata: view.meta[slot]! }))
}
