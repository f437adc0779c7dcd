// Host-wide owner of every session's vectors: the shared byte budget, the HNSW
// worker, and counters for metrics.
import type { Logger } from 'pino'
import { HnswPool } from './hnsw-pool.js'
import { SessionVectorsImpl, type EngineContext, type SessionVectors } from './session-vectors.js'
import type { IndexTuning, VectorLimits } from './types.js'

export interface VectorEngineOptions {
  limits: VectorLimits
  tuning: IndexTuning
  /** Host-wide budget of vector memory: float32 values, and graphs past the exact threshold (budget.ts). */
  maxVectorBytes: number
  logger: Logger
  /**
   * Let an index's graph hold the only copy of the rows it covers (store.ts):
   * about half the memory of an indexed session. The host turns it on when a
   * journal holds every vector (PERSIST or cluster mode), since a failed graph
   * then takes rows with it that only the journal still has.
   */
  singleCopy?: boolean
  /** A graph holding the only copy of a session's rows failed (logged `vectors.lost` already). */
  onVectorsLost?: (sessionId: string, reason: string) => void
}

export interface VectorEngineStats {
  sessions: number
  vectors: number
  bytes: number
  hnswIndexes: number
  building: number
}

export class VectorEngine {
  readonly #ctx: EngineContext
  readonly #pool = new HnswPool()
  readonly #sessions = new Set<SessionVectors>()
  #usedBytes = 0

  constructor(opts: VectorEngineOptions) {
    const engine = this
    const sessions = this.#sessions
    this.#ctx = {
      limits: { ...opts.limits },
      tuning: { ...opts.tuning },
      logger: opts.logger,
      pool: this.#pool,
      maxVectorBytes: opts.maxVectorBytes,
      singleCopy: opts.singleCopy ?? false,
      vectorsLost(sessionId: string, reason: string) {
        opts.logger.error({ event: 'vectors.lost', session_id: sessionId, reason }, 'a vector graph holding the only copy of indexed rows failed')
        opts.onVectorsLost?.(sessionId, reason)
      },
      get usedBytes() {
        return engine.#usedBytes
      },
      adjustBytes(delta: number) {
        engine.#usedBytes += delta
      },
      forget(session: SessionVectors) {
        sessions.delete(session)
      },
    }
  }

  /** One per session; the session store calls it and calls dispose() when the session is dropped. */
  createSessionIndex(sessionId: string): SessionVectors {
    const s = new SessionVectorsImpl(sessionId, this.#ctx)
    this.#sessions.add(s)
    return s
  }

  stats(): VectorEngineStats {
    let vectors = 0
    let hnswIndexes = 0
    let building = 0
    for (const s of this.#sessions) {
      vectors += s.count
      if (s.indexState !== 'none') hnswIndexes++
      if (s.indexState === 'building') building++
    }
    return { sessions: this.#sessions.size, vectors, bytes: this.#usedBytes, hnswIndexes, building }
  }

  /** Stops the worker. Searches in flight finish exactly; idempotent. */
  close(): Promise<void> {
    return this.#pool.close()
  }
}
