// One session's vectors: the four operations of contract section 4 on top of
// the store (authoritative, main thread) and an optional HNSW generation.
// Mutations are synchronous and validate everything before changing anything.
import type { Logger } from 'pino'
import { ProtocolError, badRequest, limitExceeded } from '../protocol/errors.js'
import type { Rejection, SearchHit } from '@rag-session-host/client/shared'
import { exactScan, matchScan, rowScore } from './exact-scan.js'
import { compileFilter, type Predicate } from './filter.js'
import type { HnswPool } from './hnsw-pool.js'
import { SessionIndex } from './hnsw-index.js'
import { isPlainObject } from './json-equal.js'
import { Slicer } from './slicer.js'
import { isAlive, VectorStore, type StoreView } from './store.js'
import { TopK } from './topk.js'
import type { ClearResult, DeleteResult, IndexTuning, Metadata, SearchResult, UploadResult, VectorLimits } from './types.js'
import { checkId, optional, readK, readMetadata, readThreshold, readVector, Rejected, Scratch } from './validate.js'

/** With a filter, scan the matches exactly when there are at most this many per k... */
const FILTER_EXACT_PER_K = 50
/** ...ask HNSW for this many times the candidates the filter's selectivity suggests... */
const FILTER_OVERSAMPLE = 2
/** ...and never more candidates than this (past it an exact scan of the matches is cheaper). */
const MAX_CANDIDATES = 2048

export type IndexState = 'none' | 'building' | 'ready'

/** Unit vectors of the upload in progress (uploads are synchronous, so one for all sessions). Kept up to 8 MB. */
const scratch = new Scratch(2 << 20)

export interface SessionVectors {
  upload(request: Record<string, unknown>): UploadResult
  search(request: Record<string, unknown>): Promise<SearchResult>
  delete(request: Record<string, unknown>): DeleteResult
  clear(): ClearResult
  readonly count: number
  readonly dims: number | null
  readonly bytes: number
  /** True while searches are exhaustive (no HNSW graph ready). */
  readonly exactOnly: boolean
  readonly indexState: IndexState
  /** True while the store compacts in the background (slices between turns of the event loop). */
  readonly compacting: boolean
  dispose(): void
}

/** What a session needs from its engine. */
export interface EngineContext {
  readonly limits: VectorLimits
  readonly tuning: IndexTuning
  readonly logger: Logger
  readonly pool: HnswPool
  /** Stored bytes of all sessions, and the host-wide cap. */
  readonly usedBytes: number
  readonly maxVectorBytes: number
  adjustBytes(delta: number): void
  forget(session: SessionVectors): void
}

interface Accepted {
  id: string
  unit: Float32Array
  meta: Metadata
}

export class SessionVectorsImpl implements SessionVectors {
  readonly sessionId: string
  readonly #ctx: EngineContext
  readonly #store = new VectorStore()
  #index: SessionIndex | null = null
  /** Vector count when the last index failed: don't retry until the data doubles. */
  #failedAt = 0
  #disposed = false

  constructor(sessionId: string, ctx: EngineContext) {
    this.sessionId = sessionId
    this.#ctx = ctx
  }

  get count(): number {
    return this.#store.count
  }

  get dims(): number | null {
    return this.#store.dims
  }

  get bytes(): number {
    return this.#store.bytes
  }

  get indexState(): IndexState {
    const idx = this.#index
    return !idx ? 'none' : idx.ready ? 'ready' : 'building'
  }

  get compacting(): boolean {
    return this.#store.compaction.running
  }

  get exactOnly(): boolean {
    return this.indexState !== 'ready' || this.#store.count <= this.#ctx.tuning.exactSearchMaxVectors
  }

  upload(request: Record<string, unknown>): UploadResult {
    this.#live()
    const { limits } = this.#ctx
    const items = request.vectors
    if (!Array.isArray(items)) throw badRequest('vectors must be an array')
    if (items.length > limits.maxBatch) throw limitExceeded(`more than ${limits.maxBatch} vectors in one request`)
    const replace = optional(request.replace) ?? false
    if (typeof replace !== 'boolean') throw badRequest('replace must be a boolean')

    try {
      return this.#upload(items, replace)
    } finally {
      scratch.reset()
    }
  }

  #upload(items: unknown[], replace: boolean): UploadResult {
    const { limits } = this.#ctx
    // Pass 1: decide every item against the state the request will produce.
    const store = this.#store
    const rejected: Rejection[] = []
    const accepted: Accepted[] = []
    const takenIds = new Set<string>()
    let dims = replace ? null : store.dims
    let count = replace ? 0 : store.count
    let sessionBytes = replace ? 0 : store.bytes
    const othersBytes = this.#ctx.usedBytes - store.bytes
    for (const item of items) {
      if (!isPlainObject(item) || typeof item.id !== 'string') {
        rejected.push({ id: null, code: 'invalid_id', message: 'item must be an object with a string id' })
        continue
      }
      const id = item.id
      const verdict = this.#judge(item, dims)
      if (verdict instanceof Rejected) {
        rejected.push({ id, code: verdict.code, message: verdict.message })
        continue
      }
      const isNew = !takenIds.has(id) && (replace || !store.has(id))
      if (isNew) {
        if (count + 1 > limits.maxVectorsPerSession) {
          rejected.push({ id, code: 'limit_exceeded', message: `session holds ${limits.maxVectorsPerSession} vectors already` })
          continue
        }
        const cost = verdict.unit.length * 4
        if (othersBytes + sessionBytes + cost > this.#ctx.maxVectorBytes) {
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

    // Pass 2: apply. Growing the arrays is the only step that can fail, so it
    // comes first (after a replace the store is empty and allocates just this batch).
    const before = store.bytes
    if (!replace && accepted.length > 0) store.reserve(dims!, accepted.length)
    store.begin()
    if (replace) store.clear()
    if (replace && accepted.length > 0) store.reserve(dims!, accepted.length)
    for (const a of accepted) store.put(a.id, a.unit, a.meta)
    this.#settle(before)
    return { uploaded: accepted.length, rejected, total: store.count, dims: store.dims }
  }

  async search(request: Record<string, unknown>): Promise<SearchResult> {
    this.#live()
    const { limits, tuning } = this.#ctx
    const k = readK(request.k, limits.maxK)
    const threshold = readThreshold(request.threshold)
    const filter = optional(request.filter)
    const predicate = filter === undefined ? undefined : compileFilter(filter)
    if (optional(request.vector) === undefined && optional(request.vector_b64) === undefined) {
      throw badRequest('searchVectors needs vector or vector_b64')
    }
    const q = readVector(request, limits.maxDims)
    if (q instanceof Rejected) throw new ProtocolError(q.code, q.message)

    // A snapshot: it stays valid across the awaits below whatever mutations or
    // compaction steps run meanwhile (store.ts).
    const view = this.#store.view()
    if (view.count === 0) return { results: [], total: 0, exact: true }
    if (q.length !== view.dims) {
      throw new ProtocolError('dimension_mismatch', `query has ${q.length} values, the session's vectors have ${view.dims}`)
    }
    const idx = this.#index
    if (idx?.ready && view.labels?.gen === idx.gen && view.count > tuning.exactSearchMaxVectors) {
      const hit = await this.#approximate(view, idx, q, k, threshold, predicate)
      if (hit) return hit
    }
    const top = await exactScan(view, q, k, { threshold, predicate })
    return { results: hits(view, top), total: view.count, exact: true }
  }

  delete(request: Record<string, unknown>): DeleteResult {
    this.#live()
    const ids = request.ids
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw badRequest('ids must be an array of strings')
    const store = this.#store
    const before = store.bytes
    store.begin()
    let deleted = 0
    for (const id of new Set(ids)) if (store.remove(id)) deleted++
    this.#settle(before)
    return { deleted, total: store.count }
  }

  clear(): ClearResult {
    this.#live()
    const before = this.#store.bytes
    this.#store.begin()
    const deleted = this.#store.clear()
    this.#settle(before)
    return { deleted }
  }

  dispose(): void {
    if (this.#disposed) return
    this.#disposed = true
    this.#index?.drop('disposed')
    this.#index = null
    this.#ctx.adjustBytes(-this.#store.bytes)
    this.#store.clear()
    this.#ctx.forget(this)
  }

  // ---- internals ----

  #live(): void {
    if (this.#disposed) throw new Error('session vectors were disposed')
  }

  /** Per-item checks in contract order: vector, dimension, metadata. */
  #judge(item: Record<string, unknown>, dims: number | null): Rejected | { unit: Float32Array; meta: Metadata } {
    const { limits } = this.#ctx
    const bad = checkId(item.id)
    if (bad) return bad
    const unit = readVector(item, limits.maxDims, scratch.take)
    if (unit instanceof Rejected) return unit
    if (dims !== null && unit.length !== dims) {
      return new Rejected('dimension_mismatch', `vector has ${unit.length} values, the session's vectors have ${dims}`)
    }
    const meta = readMetadata(item.metadata, limits.maxMetadataBytes)
    if (meta instanceof Rejected) return meta
    return { unit, meta }
  }

  /** After a mutation: budget, compaction, and the index lifecycle. */
  #settle(bytesBefore: number): void {
    const store = this.#store
    const { tuning } = this.#ctx
    this.#ctx.adjustBytes(store.bytes - bytesBefore)
    store.maybeCompact() // starts an incremental compaction when due; it runs on later turns
    if (store.count === 0) this.#failedAt = 0
    let idx = this.#index
    if (idx?.closed) idx = this.#index = null
    if (idx && store.labelGen !== idx.gen) {
      // The store was emptied (clear, replace, last delete): the graph is stale, its dimension may be too.
      idx.drop('emptied')
      idx = this.#index = null
    } else if (idx && store.count <= Math.floor(tuning.exactSearchMaxVectors / 2)) {
      idx.drop('shrunk')
      idx = this.#index = null
    } else if (idx?.bloated) {
      idx.drop('relabel')
      idx = this.#index = null
    }
    if (!idx && store.count > tuning.exactSearchMaxVectors && (this.#failedAt === 0 || store.count >= 2 * this.#failedAt)) {
      idx = this.#startIndex()
    }
    idx?.sync()
  }

  #startIndex(): SessionIndex | null {
    const store = this.#store
    const { tuning, pool, logger } = this.#ctx
    const countAtStart = store.count
    try {
      const idx: SessionIndex = new SessionIndex(store, pool, tuning, logger, this.sessionId, () => {
        this.#failedAt = Math.max(1, countAtStart)
        if (this.#index === idx) this.#index = null
      })
      this.#index = idx
      return idx
    } catch (err) {
      // e.g. the worker could not start: stay exact, the mutation itself stands.
      store.dropLabels()
      this.#failedAt = Math.max(1, countAtStart)
      const reason = err instanceof Error ? err.message : 'index start failed'
      logger.warn({ event: 'index.failed', session_id: this.sessionId, reason }, 'vector index failed; searching exactly')
      return null
    }
  }

  /**
   * HNSW candidates, rescored exactly from the store, merged with an exact scan
   * of what the graph does not hold yet. Returns null to ask for an exact scan.
   */
  async #approximate(
    view: StoreView,
    idx: SessionIndex,
    q: Float32Array,
    k: number,
    threshold: number | undefined,
    predicate: Predicate | undefined,
  ): Promise<SearchResult | null> {
    const { tuning } = this.#ctx
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
    const watermark = Math.min(idx.watermark, labels.next)
    let found: number[]
    try {
      found = await idx.search(q, want, Math.max(tuning.hnswEfSearch, want))
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
}

function hits(view: StoreView, top: TopK): SearchHit[] {
  return top.sorted().map(({ score, slot }) => ({ id: view.ids[slot]!, score, metadata: view.meta[slot]! }))
}
