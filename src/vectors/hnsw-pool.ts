// Main-thread side of the HNSW worker: starts it lazily (worker-rpc.ts),
// routes its reports to the index that owns them, and turns searches into
// promises. If the worker dies, every pending search is rejected and every
// index told it failed (callers then answer exactly); the next index starts a
// fresh worker.
import { WorkerRpc } from '../util/worker-rpc.js'
import type { IndexReport, PointRows, SearchReply, SearchRequest, ToWorker } from './hnsw-protocol.js'

export interface IndexListener {
  progress(upTo: number, size: number): void
  rebuilt(size: number, ms: number): void
  failed(message: string): void
}

/** A graph search's answer: labels best first, with hnswlib's scores. */
export interface Candidates {
  labels: number[]
  scores: number[]
}

export interface GraphParams {
  dims: number
  m: number
  efConstruction: number
  capacity: number
}

/** A worker slice lasts ~4 ms; if it has not exited well after that, something is stuck: terminate it. */
const STOP_GRACE_MS = 2000

export class HnswPool {
  readonly #rpc: WorkerRpc<SearchRequest, SearchReply, IndexReport>
  #closed = false
  #nextIndex = 1
  readonly #listeners = new Map<number, IndexListener>()

  constructor() {
    this.#rpc = new WorkerRpc({
      callerUrl: import.meta.url,
      baseName: 'hnsw-worker',
      name: 'hnsw',
      onReport: (report) => this.#onReport(report),
      onDeath: (err) => this.#failAll(err),
      // Ask the worker to exit between slices; worker.terminate() can land inside
      // hnswlib's addPoint, whose N-API call then aborts the whole process.
      stop: { message: { op: 'stop' } satisfies ToWorker, graceMs: STOP_GRACE_MS },
    })
  }

  /** Creates an index in the worker; returns its handle. Throws if the worker cannot start. */
  open(params: GraphParams, listener: IndexListener): number {
    const index = this.#nextIndex++
    this.#listeners.set(index, listener)
    this.#post({ op: 'init', index, ...params })
    return index
  }

  add(index: number, labels: Uint32Array, vectors: Float32Array): void {
    this.#post({ op: 'add', index, labels, vectors }, [labels.buffer as ArrayBuffer, vectors.buffer as ArrayBuffer])
  }

  del(index: number, labels: Uint32Array): void {
    this.#post({ op: 'del', index, labels }, [labels.buffer as ArrayBuffer])
  }

  async search(index: number, query: Float32Array, k: number, ef: number): Promise<Candidates> {
    if (this.#closed) throw new Error('hnsw pool closed')
    const copy = query.slice()
    const reply = await this.#rpc.call({ op: 'search', index, query: copy, k, ef }, [copy.buffer])
    if ('error' in reply) throw new Error(reply.error)
    if (reply.op !== 'result') throw new Error('unexpected reply to a search')
    return { labels: reply.labels, scores: reply.scores }
  }

  /** The points of `labels`, packed (PointRows). */
  async points(index: number, labels: Uint32Array): Promise<PointRows> {
    if (this.#closed) throw new Error('hnsw pool closed')
    const copy = labels.slice()
    const reply = await this.#rpc.call({ op: 'points', index, labels: copy }, [copy.buffer])
    if ('error' in reply) throw new Error(reply.error)
    if (reply.op !== 'points') throw new Error('unexpected reply to a read')
    return { vectors: reply.vectors, found: reply.found }
  }

  drop(index: number): void {
    if (!this.#listeners.delete(index)) return
    // No worker means no graph to free: don't start one to drop nothing.
    if (this.#rpc.running) this.#post({ op: 'drop', index })
  }

  get indexes(): number {
    return this.#listeners.size
  }

  async close(): Promise<void> {
    this.#closed = true
    // Shutting down is not an index failure: no listener is told; searches in flight fall back to exact.
    this.#listeners.clear()
    await this.#rpc.close()
  }

  #post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.#closed) return
    this.#rpc.post(msg, transfer)
  }

  #onReport(report: IndexReport): void {
    const listener = this.#listeners.get(report.index)
    switch (report.op) {
      case 'progress':
        listener?.progress(report.upTo, report.size)
        return
      case 'rebuilt':
        listener?.rebuilt(report.size, report.ms)
        return
      case 'failed':
        this.#listeners.delete(report.index)
        listener?.failed(report.message)
        return
    }
  }

  #failAll(err: Error): void {
    const listeners = [...this.#listeners.values()]
    this.#listeners.clear()
    for (const l of listeners) l.failed(err.message)
  }
}
