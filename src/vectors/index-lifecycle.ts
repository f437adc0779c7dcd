// When a session has an HNSW generation (hnsw-index.ts): one is started once
// the session holds more than exactSearchMaxVectors; it is dropped when the
// store is emptied (its labels and perhaps its dimension are stale), shrinks to
// half the threshold, or has issued far more labels than it holds vectors
// (the label map only grows within a generation, so a fresh one relabels).
// After a failed generation, the next waits until the data has doubled.
// decideIndex() is the whole policy, as a function of plain numbers;
// IndexLifecycle applies it after every mutation.
import type { Logger } from 'pino'
import type { HnswPool } from './hnsw-pool.js'
import { SessionIndex, type IndexDropReason } from './hnsw-index.js'
import type { VectorStore } from './store.js'
import type { IndexTuning } from './types.js'

export type IndexState = 'none' | 'building' | 'ready'

export interface IndexFacts {
  /** Generation of the session's open index, null when it has none. */
  readonly indexGen: number | null
  /** Generation the store's labels belong to, null when it has none. */
  readonly labelGen: number | null
  /** Labels the store has issued in that generation. */
  readonly labelNext: number
  /** Live vectors. */
  readonly count: number
  readonly exactSearchMaxVectors: number
  /** Vector count when the last generation failed, 0 when none has (or the store emptied since). */
  readonly failedAt: number
  /** The open generation's graph holds the only copy of some rows (store.ts): only emptying the store lets it go. */
  readonly holdsRows: boolean
}

export interface IndexDecision {
  /** Drop the open index, for this reason. */
  readonly drop: IndexDropReason | null
  /** Start a new generation (after the drop, if any). */
  readonly start: boolean
}

/** Label tables this much larger than the live vectors ask for a new generation. */
export function labelsBloated(labelNext: number, count: number): boolean {
  return labelNext > 8 * count + 1_000_000
}

export function decideIndex(f: IndexFacts): IndexDecision {
  let drop: IndexDropReason | null = null
  if (f.indexGen !== null) {
    if (f.labelGen !== f.indexGen) drop = 'emptied'
    else if (f.holdsRows) drop = null
    else if (f.count <= Math.floor(f.exactSearchMaxVectors / 2)) drop = 'shrunk'
    else if (labelsBloated(f.labelNext, f.count)) drop = 'relabel'
  }
  const open = f.indexGen !== null && drop === null
  const start = !open && f.count > f.exactSearchMaxVectors && (f.failedAt === 0 || f.count >= 2 * f.failedAt)
  return { drop, start }
}

export interface LifecycleContext {
  readonly tuning: IndexTuning
  readonly pool: HnswPool
  readonly logger: Logger
  /** Let the graph hold the only copy of indexed rows (engine.ts says when). */
  readonly singleCopy: boolean
  /** A graph holding the only copy of some rows failed. */
  vectorsLost(sessionId: string, reason: string): void
}

export class IndexLifecycle {
  readonly #store: VectorStore
  readonly #ctx: LifecycleContext
  readonly #sessionId: string
  #index: SessionIndex | null = null
  #failedAt = 0

  constructor(store: VectorStore, ctx: LifecycleContext, sessionId: string) {
    this.#store = store
    this.#ctx = ctx
    this.#sessionId = sessionId
  }

  /** The open generation (building or ready), or null. */
  get index(): SessionIndex | null {
    return this.#index
  }

  get state(): IndexState {
    const idx = this.#index
    return !idx ? 'none' : idx.ready ? 'ready' : 'building'
  }

  /** After every mutation of the store: drop, start, then forward the mutation to the open index. */
  settle(): void {
    const store = this.#store
    if (store.count === 0) this.#failedAt = 0
    if (this.#index?.closed) this.#index = null
    const { drop, start } = decideIndex({
      indexGen: this.#index?.gen ?? null,
      labelGen: store.labelGen,
      labelNext: store.labelNext,
      count: store.count,
      exactSearchMaxVectors: this.#ctx.tuning.exactSearchMaxVectors,
      failedAt: this.#failedAt,
      holdsRows: this.#index?.holdsRows ?? false,
    })
    if (drop) this.#drop(drop)
    if (start) this.#start()
    this.#index?.sync()
  }

  dispose(): void {
    this.#drop('disposed')
  }

  #drop(reason: IndexDropReason): void {
    this.#index?.drop(reason)
    this.#index = null
  }

  #start(): void {
    const store = this.#store
    const { tuning, pool, logger, singleCopy } = this.#ctx
    const countAtStart = store.count
    try {
      const onLost = (reason: string): void => {
        // No new generation until the store is emptied: the lost rows keep their labels.
        this.#failedAt = Number.POSITIVE_INFINITY
        if (this.#index === idx) this.#index = null
        this.#ctx.vectorsLost(this.#sessionId, reason)
      }
      const idx: SessionIndex = new SessionIndex(
        store,
        pool,
        tuning,
        logger,
        this.#sessionId,
        () => {
          this.#failedAt = Math.max(1, countAtStart)
          if (this.#index === idx) this.#index = null
        },
        { singleCopy, onLost },
      )
      this.#index = idx
    } catch (err) {
      // e.g. the worker could not start: stay exact, the mutation itself stands.
      store.dropLabels()
      this.#failedAt = Math.max(1, countAtStart)
      const reason = err instanceof Error ? err.message : 'index start failed'
      logger.warn({ event: 'index.failed', session_id: this.#sessionId, reason }, 'vector index failed; searching exactly')
    }
  }
}
