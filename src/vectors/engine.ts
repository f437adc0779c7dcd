// Host-wide owner of every session's vectors: the shared byte budget, the HNSW
// worker, and counters for metrics.
import type { Logger } from 'pino'
import { HnswPool } from './hnsw-pool.js'
import { SessionVectorsImpl, type EngineContext, type SessionVectors } from './session-vectors.js'
import type { IndexTuning, VectorLimits } from './types.js'

export interface VectorEngineOptions {
  limits: VectorLimits
  tuning: IndexTuning
  /** Host-wide budget of stored float32 bytes (vectors x dims x 4). */
  maxVectorBytes: number
  logger: Logger
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
