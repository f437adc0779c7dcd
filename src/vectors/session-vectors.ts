// One session's vectors: the four operations of PROTOCOL.md §4.1-4.3 on top of
// the store (authoritative, main thread), the upload plan, and the session's
// HNSW generation (index-lifecycle.ts). Mutations are synchronous and
// validate everything before changing anything.
import { ProtocolError, badRequest, limitExceeded } from '../protocol/errors.js'
import { approximateSearch, hits, type SearchQuery } from './approximate-search.js'
import { exactScan } from './exact-scan.js'
import { compileFilter } from './filter.js'
import { IndexLifecycle, type IndexState, type LifecycleContext } from './index-lifecycle.js'
import { sessionCost } from './budget.js'
import { RowsUnavailable } from './released-rows.js'
import { VectorStore, type StoreView } from './store.js'
import type { ClearResult, DeleteResult, Metadata, SearchResult, UploadResult, VectorLimits } from './types.js'
import { checkItems, type CheckedItems } from './item-check.js'
import { planUpload, type Accepted } from './upload-plan.js'
import { optional, readK, readThreshold, readVector, Rejected } from './validate.js'

/** After a graph holding released rows failed: the host restarts and recovers them, or the session moves (cluster). */
const RESTORE_RETRY_MS = 1000

/** The accepted unit vectors, packed: the checked array itself when every item was accepted (the usual case), else a copy. */
function packUnits(items: CheckedItems, accepted: readonly Accepted[], dims: number): Float32Array {
  const all = items.units.subarray(0, items.starts[items.starts.length - 1])
  if (accepted.length === items.ids.length && all.length === accepted.length * dims) return all
  const units = new Float32Array(accepted.length * dims)
  accepted.forEach((a, i) => units.set(a.unit, i * dims))
  return units
}

/** An upload's accepted items, as stored (unit vectors, `dims` values each, packed in `units`): what is journaled and applied. */
export interface VectorBatch {
  replace: boolean
  dims: number
  ids: string[]
  meta: Metadata[]
  units: Float32Array
}

export interface SessionVectors {
  upload(request: Record<string, unknown>): UploadResult
  /**
   * Checks an upload against the state now, changing nothing: the batch to
   * apply, and the items refused. `checked`: its items' stateless checks, run
   * already (on the frame worker) in place of `request.vectors`.
   */
  prepareUpload(request: Record<string, unknown>, checked?: CheckedItems): { batch: VectorBatch; rejected: UploadResult['rejected'] }
  applyUpload(batch: VectorBatch): Omit<UploadResult, 'rejected'>
  /** The ids a deleteVectors names (checked, de-duplicated). */
  prepareDelete(request: Record<string, unknown>): string[]
  applyDelete(ids: readonly string[]): DeleteResult
  /** A consistent view of the stored vectors that later changes do not disturb (store.ts). */
  view(): StoreView
  search(request: Record<string, unknown>): Promise<SearchResult>
  delete(request: Record<string, unknown>): DeleteResult
  clear(): ClearResult
  readonly count: number
  readonly dims: number | null
  readonly bytes: number
  /** True while searches are exhaustive (no HNSW graph serving yet). */
  readonly exactOnly: boolean
  readonly indexState: IndexState
  /** True while the store compacts in the background (slices between turns of the event loop). */
  readonly compacting: boolean
  dispose(): void
}

/** What a session needs from its engine. */
export interface EngineContext extends LifecycleContext {
  readonly limits: VectorLimits
  /** Bytes charged to all sessions (budget.ts), and the host-wide cap. */
  readonly usedBytes: number
  readonly maxVectorBytes: number
  adjustBytes(delta: number): void
  forget(session: SessionVectors): void
}

export class SessionVectorsImpl implements SessionVectors {
  readonly sessionId: string
  readonly #ctx: EngineContext
  readonly #store = new VectorStore()
  readonly #index: IndexLifecycle
  #disposed = false

  constructor(sessionId: string, ctx: EngineContext) {
    this.sessionId = sessionId
    this.#ctx = ctx
    this.#index = new IndexLifecycle(this.#store, ctx, sessionId)
  }

  get count(): number {
    return this.#store.count
  }

  get dims(): number | null {
    return this.#store.dims
  }

  /** What MAX_VECTOR_BYTES charges this session (budget.ts). */
  get bytes(): number {
    return this.#costOf(this.#store.count, this.#store.dims ?? 0)
  }

  #costOf = (count: number, dims: number): number => sessionCost(this.#ctx.tuning, this.#ctx.singleCopy, count, dims)

  get indexState(): IndexState {
    return this.#index.state
  }

  get compacting(): boolean {
    return this.#store.compaction.running
  }

  get exactOnly(): boolean {
    return !(this.#index.index?.serves ?? false) || this.#store.count <= this.#ctx.tuning.exactSearchMaxVectors
  }

  upload(request: Record<string, unknown>): UploadResult {
    const { batch, rejected } = this.prepareUpload(request)
    return { ...this.applyUpload(batch), rejected }
  }

  prepareUpload(request: Record<string, unknown>, checked?: CheckedItems): { batch: VectorBatch; rejected: UploadResult['rejected'] } {
    this.#live()
    const { limits } = this.#ctx
    const replace = optional(request.replace) ?? false
    if (!checked) {
      const items = request.vectors
      if (!Array.isArray(items)) throw badRequest('vectors must be an array')
      if (items.length > limits.maxBatch) throw limitExceeded(`more than ${limits.maxBatch} vectors in one request`)
    }
    if (typeof replace !== 'boolean') throw badRequest('replace must be a boolean')
    const items = checked ?? checkItems(request.vectors as unknown[], limits)
    const store = this.#store
    const budget = { limits, othersBytes: this.#ctx.usedBytes - this.bytes, maxVectorBytes: this.#ctx.maxVectorBytes, costOf: this.#costOf }
    const { accepted, rejected, dims } = planUpload(items, replace, store, budget)
    const d = dims ?? 0
    const batch: VectorBatch = { replace, dims: d, ids: accepted.map((a) => a.id), meta: accepted.map((a) => a.meta), units: packUnits(items, accepted, d) }
    return { batch, rejected }
  }

  applyUpload(batch: VectorBatch): Omit<UploadResult, 'rejected'> {
    this.#live()
    const store = this.#store
    const { replace, dims, ids, meta, units } = batch
    // Growing the arrays is the only step that can fail, so it comes first
    // (after a replace the store is empty and allocates just this batch).
    const before = this.bytes
    if (!replace && ids.length > 0) store.reserve(dims, ids.length)
    store.begin()
    if (replace) store.clear()
    if (replace && ids.length > 0) store.reserve(dims, ids.length)
    for (let i = 0; i < ids.length; i++) store.put(ids[i]!, units.subarray(i * dims, (i + 1) * dims), meta[i]!)
    this.#settle(before)
    return { uploaded: ids.length, total: store.count, dims: store.dims }
  }

  view(): StoreView {
    return this.#store.view()
  }

  async search(request: Record<string, unknown>): Promise<SearchResult> {
    this.#live()
    const { limits } = this.#ctx
    const k = readK(request.k, limits.maxK)
    const threshold = readThreshold(request.threshold)
    const filter = optional(request.filter)
    const predicate = filter === undefined ? undefined : compileFilter(filter)
    if (optional(request.vector) === undefined && optional(request.vector_b64) === undefined) {
      throw badRequest('searchVectors needs vector or vector_b64')
    }
    const q = readVector(request, limits.maxDims)
    if (q instanceof Rejected) throw new ProtocolError(q.code, q.message)

    for (let attempt = 0; ; attempt++) {
      // A snapshot: it stays valid across the awaits below whatever mutations or
      // compaction steps run meanwhile (store.ts).
      const view = this.#store.view()
      try {
        return await this.#searchView(view, { q, k, threshold, predicate })
      } catch (err) {
        if (!(err instanceof RowsUnavailable)) throw err
        // The graph holding the view's released rows went while it was read: the
        // session was emptied or replaced meanwhile (answer from that state), or
        // the graph failed (a host fault: engine.ts; the client retries).
        if (attempt === 0 && this.#store.view().graph !== view.graph) continue
        throw new ProtocolError('unavailable', "the session's vectors are being restored", RESTORE_RETRY_MS)
      }
    }
  }

  async #searchView(view: StoreView, query: SearchQuery): Promise<SearchResult> {
    const { tuning } = this.#ctx
    const { q, k, threshold, predicate } = query
    if (view.count === 0) return { results: [], total: 0, exact: true }
    if (q.length !== view.dims) {
      throw new ProtocolError('dimension_mismatch', `query has ${q.length} values, the session's vectors have ${view.dims}`)
    }
    // The graph serves once ready and, while it is being built, once it holds
    // enough of the session that scanning only the rest pays (graphServes).
    const idx = this.#index.index
    if (idx?.serves && view.labels?.gen === idx.gen && view.count > tuning.exactSearchMaxVectors) {
      const hit = await approximateSearch(view, idx, query, tuning)
      if (hit) return hit
    }
    const top = await exactScan(view, q, k, { threshold, predicate })
    return { results: hits(view, top), total: view.count, exact: true }
  }

  delete(request: Record<string, unknown>): DeleteResult {
    return this.applyDelete(this.prepareDelete(request))
  }

  prepareDelete(request: Record<string, unknown>): string[] {
    this.#live()
    const ids = request.ids
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw badRequest('ids must be an array of strings')
    return [...new Set(ids)]
  }

  applyDelete(ids: readonly string[]): DeleteResult {
    this.#live()
    const store = this.#store
    const before = this.bytes
    store.begin()
    let deleted = 0
    for (const id of ids) if (store.remove(id)) deleted++
    this.#settle(before)
    return { deleted, total: store.count }
  }

  clear(): ClearResult {
    this.#live()
    const before = this.bytes
    this.#store.begin()
    const deleted = this.#store.clear()
    this.#settle(before)
    return { deleted }
  }

  dispose(): void {
    if (this.#disposed) return
    this.#disposed = true
    this.#index.dispose()
    this.#ctx.adjustBytes(-this.bytes)
    this.#store.clear()
    this.#ctx.forget(this)
  }

  #live(): void {
    if (this.#disposed) throw new Error('session vectors were disposed')
  }

  /** After a mutation: budget, compaction, and the index lifecycle. */
  #settle(bytesBefore: number): void {
    this.#ctx.adjustBytes(this.bytes - bytesBefore)
    this.#store.maybeCompact() // starts an incremental compaction when due; it runs on later turns
    this.#index.settle()
  }
}
