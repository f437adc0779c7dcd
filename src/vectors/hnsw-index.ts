// One session's HNSW generation, seen from the main thread. It streams the
// store's labelled vectors to the worker in label order (at most MAX_IN_FLIGHT
// ahead of what the worker has confirmed), forwards tombstones, and keeps the
// watermark: every live label below it is in the worker's graph, every label at
// or above it must be scanned exactly. It counts the live vectors below the
// watermark (coveredLive): searches go to the graph plus that exact tail once
// it holds enough of them, while still building (graphServes in
// approximate-search.ts). "ready" (the graph has covered all the data once)
// is one flag flip; the index state reports 'building' until then.
import type { Logger } from 'pino'
import { graphServes } from './approximate-search.js'
import type { Candidates, HnswPool, IndexListener } from './hnsw-pool.js'
import type { PointRows } from './hnsw-protocol.js'
import type { VectorStore } from './store.js'
import type { IndexTuning } from './types.js'

/** Points sent but not yet confirmed: bounds the copy waiting in the worker. */
const MAX_IN_FLIGHT = 4096
const SEND_BATCH = 512

let nextGen = 1

/** Why a session let its graph go (index-lifecycle.ts); logged as `reason` of index.dropped. */
export type IndexDropReason = 'emptied' | 'shrunk' | 'relabel' | 'disposed'

export class SessionIndex implements IndexListener {
  readonly gen: number
  /** This generation's graph in the pool (the worker). */
  readonly graph: number
  readonly #store: VectorStore
  readonly #pool: HnswPool
  readonly #log: Logger
  readonly #sessionId: string
  readonly #onFailed: () => void
  readonly #tuning: IndexTuning
  readonly #started = performance.now()
  #sentUpTo = 0
  #lastSent = -1
  #watermark = 0
  #indexedLive = 0
  #ready = false
  #closed = false

  readonly #singleCopy: boolean
  readonly #onLost: (reason: string) => void

  constructor(
    store: VectorStore,
    pool: HnswPool,
    tuning: IndexTuning,
    log: Logger,
    sessionId: string,
    onFailed: () => void,
    copy: { singleCopy: boolean; onLost: (reason: string) => void } = { singleCopy: false, onLost: () => undefined },
  ) {
    this.#singleCopy = copy.singleCopy
    this.#onLost = copy.onLost
    this.gen = nextGen++
    this.#store = store
    this.#pool = pool
    this.#log = log
    this.#sessionId = sessionId
    this.#onFailed = onFailed
    this.#tuning = tuning
    store.startLabels(this.gen)
    this.graph = pool.open({ dims: store.dims!, m: tuning.hnswM, efConstruction: tuning.hnswEfConstruction, capacity: Math.ceil(store.count * 1.25) + 1024 }, this)
    this.#pump()
  }

  get ready(): boolean {
    return this.#ready
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Labels below this were in the graph when last reported. */
  get watermark(): number {
    return this.#watermark
  }

  /** Live vectors the graph holds: labels below the watermark whose vectors are still stored. */
  get coveredLive(): number {
    return this.#indexedLive
  }

  /** Searches go to the graph (plus the exact tail): once ready, or while building once it covers enough (graphServes). */
  get serves(): boolean {
    return !this.#closed && graphServes(this, this.#tuning)
  }

  /** Call after every mutation of the store: forwards tombstones and new vectors. */
  sync(): void {
    if (this.#closed) return
    const dead = this.#store.takeDeadLabels()
    if (dead.length > 0) {
      const sent: number[] = []
      for (const label of dead) {
        if (label < this.#watermark) this.#indexedLive--
        if (label < this.#sentUpTo) sent.push(label)
      }
      if (sent.length > 0) this.#pool.del(this.graph, Uint32Array.from(sent))
    }
    this.#pump()
    this.#checkReady()
  }

  search(query: Float32Array, k: number, ef: number): Promise<Candidates> {
    return this.#pool.search(this.graph, query, k, ef)
  }

  /** Reads points back: the store's RowReader for the rows it released to this graph. */
  points(labels: Uint32Array): Promise<PointRows> {
    return this.#pool.points(this.graph, labels)
  }

  drop(reason: IndexDropReason): void {
    if (this.#closed) return
    this.#closed = true
    this.#pool.drop(this.graph)
    // Only a disposal drops a graph that holds rows, and the store is cleared right after.
    if (this.#store.labelGen === this.gen && this.#store.released === 0) this.#store.dropLabels()
    this.#log.info({ event: 'index.dropped', session_id: this.#sessionId, reason }, 'vector index dropped')
  }

  // ---- IndexListener (reports from the worker) ----

  progress(upTo: number): void {
    if (this.#closed || upTo <= this.#watermark) return
    for (let label = this.#watermark; label < upTo; label++) {
      if (this.#store.liveSlotOf(label) >= 0) this.#indexedLive++
    }
    this.#watermark = upTo
    this.#pump()
    this.#checkReady()
    this.#release()
  }

  /** Once searches go to the graph, the store lets go of the rows the graph holds (the single copy, store.ts). */
  #release(): void {
    if (this.#singleCopy && this.serves) this.#store.release(this.#watermark, this)
  }

  /** True once the graph holds the only copy of some rows: then it must not be dropped while they live. */
  get holdsRows(): boolean {
    return !this.#closed && this.#store.released > 0 && this.#store.labelGen === this.gen
  }

  #checkReady(): void {
    if (this.#ready || this.#closed || this.#indexedLive < this.#store.count) return
    this.#ready = true
    const ms = Math.round(performance.now() - this.#started)
    this.#log.info({ event: 'index.built', session_id: this.#sessionId, size: this.#indexedLive, ms }, 'vector index built')
  }

  rebuilt(size: number, ms: number): void {
    if (this.#closed) return
    this.#log.info({ event: 'index.rebuilt', session_id: this.#sessionId, size, ms }, 'vector index rebuilt')
  }

  failed(message: string): void {
    if (this.#closed) return
    if (this.holdsRows) {
      // The only copy of released rows went with the graph: a fault of the host
      // (the journal still holds them all; engine.ts says what happens next).
      this.#closed = true
      this.#onLost(message)
      return
    }
    this.#closed = true
    if (this.#store.labelGen === this.gen) this.#store.dropLabels()
    // hnswlib messages name sizes and labels, never vectors or metadata.
    this.#log.warn({ event: 'index.failed', session_id: this.#sessionId, reason: message }, 'vector index failed; searching exactly')
    this.#onFailed()
  }

  #pump(): void {
    const store = this.#store
    const dims = store.dims
    if (dims === null) return
    for (;;) {
      const end = Math.min(store.labelNext, this.#watermark + MAX_IN_FLIGHT)
      if (this.#sentUpTo >= end) return
      while (this.#sentUpTo < end) {
        const labels: number[] = []
        const slots: number[] = []
        while (this.#sentUpTo < end && labels.length < SEND_BATCH) {
          const label = this.#sentUpTo++
          const slot = store.liveSlotOf(label)
          if (slot < 0) continue // died before it was sent
          labels.push(label)
          slots.push(slot)
        }
        if (labels.length === 0) continue
        const vectors = new Float32Array(labels.length * dims)
        for (let i = 0; i < slots.length; i++) store.copyRow(slots[i]!, vectors, i * dims)
        this.#pool.add(this.graph, Uint32Array.from(labels), vectors)
        this.#lastSent = labels[labels.length - 1]!
      }
      // Nothing in flight means everything skipped was dead: the worker will
      // never report those labels, so move the watermark past them ourselves.
      if (this.#lastSent >= this.#watermark) return
      this.#watermark = this.#sentUpTo
    }
  }
}
