// Main-thread side of the HNSW worker: starts it lazily, routes its progress
// reports to the index that owns them, and turns searches into promises. If the
// worker dies, every pending search is rejected and every index told it failed
// (callers then answer exactly); the next index starts a fresh worker.
import type { Worker } from 'node:worker_threads'
import type { FromWorker, ToWorker } from './hnsw-protocol.js'
import { startWorker } from '../util/worker-file.js'

export interface IndexListener {
  progress(upTo: number, size: number): void
  rebuilt(size: number, ms: number): void
  failed(message: string): void
}

export interface GraphParams {
  dims: number
  m: number
  efConstruction: number
  capacity: number
}

interface Pending {
  resolve: (labels: number[]) => void
  reject: (err: Error) => void
}

/** A worker slice lasts ~4 ms; if it has not exited well after that, something is stuck: terminate it. */
const STOP_GRACE_MS = 2000

export class HnswPool {
  #worker: Worker | undefined
  #closed = false
  #nextKey = 1
  #nextReq = 1
  readonly #pending = new Map<number, Pending>()
  readonly #listeners = new Map<number, IndexListener>()

  /** Creates an index in the worker; returns its key. */
  open(params: GraphParams, listener: IndexListener): number {
    const key = this.#nextKey++
    this.#listeners.set(key, listener)
    this.#post({ op: 'init', key, ...params })
    return key
  }

  add(key: number, labels: Uint32Array, vectors: Float32Array): void {
    this.#post({ op: 'add', key, labels, vectors }, [labels.buffer as ArrayBuffer, vectors.buffer as ArrayBuffer])
  }

  del(key: number, labels: Uint32Array): void {
    this.#post({ op: 'del', key, labels }, [labels.buffer as ArrayBuffer])
  }

  search(key: number, query: Float32Array, k: number, ef: number): Promise<number[]> {
    if (this.#closed) return Promise.reject(new Error('hnsw pool closed'))
    const req = this.#nextReq++
    return new Promise<number[]>((resolve, reject) => {
      // The worker is unref'd; a pending search must still keep the process alive.
      if (this.#pending.size === 0) this.#ensureWorker().ref()
      this.#pending.set(req, { resolve, reject })
      this.#post({ op: 'search', key, req, query: query.slice(), k, ef })
    })
  }

  drop(key: number): void {
    if (!this.#listeners.delete(key)) return
    if (this.#worker) this.#post({ op: 'drop', key })
  }

  get indexes(): number {
    return this.#listeners.size
  }

  async close(): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#worker = undefined
    // Shutting down is not an index failure: no listener is told; searches in flight fall back to exact.
    this.#listeners.clear()
    this.#failAll(new Error('hnsw pool closed'))
    if (!worker) return
    // Ask the worker to exit between slices; worker.terminate() can land inside
    // hnswlib's addPoint, whose N-API call then aborts the whole process.
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    worker.postMessage({ op: 'stop' } satisfies ToWorker)
    const timer = setTimeout(() => void worker.terminate(), STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
  }

  #post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.#closed) return
    this.#ensureWorker().postMessage(msg, transfer)
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker
    const worker = startWorker(import.meta.url, 'hnsw-worker')
    worker.on('message', (msg: FromWorker) => this.#onMessage(msg))
    const died = (err: Error): void => {
      if (this.#worker !== worker) return
      this.#worker = undefined
      this.#failAll(err)
    }
    worker.on('error', died)
    worker.on('exit', (code) => died(new Error(`hnsw worker exited with code ${code}`)))
    this.#worker = worker
    return worker
  }

  #onMessage(msg: FromWorker): void {
    switch (msg.op) {
      case 'result': {
        const p = this.#pending.get(msg.req)
        if (!p) return
        this.#pending.delete(msg.req)
        if (this.#pending.size === 0) this.#worker?.unref()
        if ('error' in msg) p.reject(new Error(msg.error))
        else p.resolve(msg.labels)
        return
      }
      case 'progress':
        this.#listeners.get(msg.key)?.progress(msg.upTo, msg.size)
        return
      case 'rebuilt':
        this.#listeners.get(msg.key)?.rebuilt(msg.size, msg.ms)
        return
      case 'failed': {
        const l = this.#listeners.get(msg.key)
        this.#listeners.delete(msg.key)
        l?.failed(msg.message)
        return
      }
    }
  }

  #failAll(err: Error): void {
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) p.reject(err)
    const listeners = [...this.#listeners.values()]
    this.#listeners.clear()
    for (const l of listeners) l.failed(err.message)
  }
}
