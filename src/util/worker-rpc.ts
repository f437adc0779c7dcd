// Calls into one worker thread: starts it on first use (worker-file.ts),
// correlates replies with requests by a numeric `id`, and keeps the process
// alive only while a call is pending. When the worker errors or exits without
// being asked to, every pending call is rejected and the next use starts a
// fresh worker. Messages from the worker without an `id` are reports, handed
// to `onReport`.
import { channel } from 'node:diagnostics_channel'
import type { Transferable, Worker } from 'node:worker_threads'
import { startWorker } from './worker-file.js'

/**
 * Every worker start is published here as `{ name, worker }` (diagnostics
 * channel): for observability, and for tests that stop a worker for real.
 */
export const workerStartChannel = channel('rag-session-host:worker.start')

export interface WorkerStart {
  readonly name: string
  readonly worker: Worker
}

export interface WorkerRpcOptions<Report> {
  /** import.meta.url of the module the entry file sits next to, and the entry's base name. */
  callerUrl: string
  baseName: string
  /** Names the worker in errors and on workerStartChannel. */
  name: string
  onReport?: (report: Report) => void
  /** The worker died (not stopped by close()); pending calls were rejected already. */
  onDeath?: (err: Error) => void
  /**
   * A message the worker answers by exiting between two pieces of work, and
   * how long close() waits for that before it terminates the thread. Without
   * it close() terminates at once.
   */
  stop?: { message: unknown; graceMs: number }
}

interface Pending<Reply> {
  resolve: (reply: Reply) => void
  reject: (err: Error) => void
}

/** Omit over each member of a union, so a request union keeps its discriminant. */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

export class WorkerRpc<Request extends { id: number }, Reply extends { id: number }, Report = never> {
  readonly #opts: WorkerRpcOptions<Report>
  #worker: Worker | undefined
  #nextId = 1
  readonly #pending = new Map<number, Pending<Reply>>()

  constructor(opts: WorkerRpcOptions<Report>) {
    this.#opts = opts
  }

  /** True while a worker is started (it may still be loading). */
  get running(): boolean {
    return this.#worker !== undefined
  }

  get pending(): number {
    return this.#pending.size
  }

  /** Posts a request and resolves with the reply carrying its id. Starts the worker if none runs. */
  call(request: WithoutId<Request>, transfer: readonly Transferable[] = []): Promise<Reply> {
    let worker: Worker
    try {
      worker = this.#ensure()
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)))
    }
    const id = this.#nextId++
    return new Promise<Reply>((resolve, reject) => {
      // The worker is unref'd; a pending call must still keep the process alive.
      if (this.#pending.size === 0) worker.ref()
      this.#pending.set(id, { resolve, reject })
      worker.postMessage({ ...request, id }, transfer)
    })
  }

  /** Posts a message that has no reply. Starts the worker if none runs; throws if it cannot start. */
  post(message: unknown, transfer: readonly Transferable[] = []): void {
    this.#ensure().postMessage(message, transfer)
  }

  /**
   * Rejects pending calls and stops the worker; resolves once it has exited.
   * The next call starts a new worker. Idempotent.
   */
  async close(): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    this.#rejectAll(new Error(`${this.#opts.name} worker closed`))
    if (!worker) return
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    const stop = this.#opts.stop
    if (!stop) {
      await worker.terminate()
      return
    }
    worker.postMessage(stop.message)
    const timer = setTimeout(() => void worker.terminate(), stop.graceMs)
    await exited
    clearTimeout(timer)
  }

  #ensure(): Worker {
    if (this.#worker) return this.#worker
    const { callerUrl, baseName, name } = this.#opts
    const worker = startWorker(callerUrl, baseName)
    worker.on('message', (msg: Reply | Report) => this.#onMessage(worker, msg))
    const died = (err: Error): void => {
      // An exit after close(), or a second event of a worker already replaced: nothing to do.
      if (this.#worker !== worker) return
      this.#worker = undefined
      this.#rejectAll(err)
      this.#opts.onDeath?.(err)
    }
    worker.on('error', died)
    worker.on('exit', (code) => died(new Error(`${name} worker exited with code ${code}`)))
    this.#worker = worker
    if (workerStartChannel.hasSubscribers) workerStartChannel.publish({ name, worker } satisfies WorkerStart)
    return worker
  }

  #onMessage(worker: Worker, msg: Reply | Report): void {
    const id = (msg as { id?: unknown }).id
    if (typeof id !== 'number') {
      this.#opts.onReport?.(msg as Report)
      return
    }
    const p = this.#pending.get(id)
    if (!p) return
    this.#pending.delete(id)
    if (this.#pending.size === 0) worker.unref()
    p.resolve(msg as Reply)
  }

  #rejectAll(err: Error): void {
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) p.reject(err)
  }
}
