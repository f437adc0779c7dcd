// The frame worker's client. Large frames are parsed, opened and read there
// (UTF-8, JSON, base64, secretbox, the request's plaintext: frame-worker.ts),
// and large replies sealed, so that a multi-megabyte upload does not stall
// every other connection; small payloads are done inline (microseconds).
import { openBase64, sealBase64, type OpenResult, type Sealed } from '../crypto/secretbox.js'
import type { Preopened } from '../crypto/frame-preopen.js'
import { FairQueue } from '../util/fair-queue.js'
import { WorkerRpc, type WithoutId } from '../util/worker-rpc.js'
import type { PlaintextLimits, PreparedPlaintext } from './plaintext.js'

type WorkerRequest =
  | { id: number; op: 'open'; ciphertext: string; nonce: Uint8Array; key: Uint8Array }
  | { id: number; op: 'seal'; plaintext: Uint8Array; key: Uint8Array }
  | { id: number; op: 'preopen'; frame: Uint8Array; sessionId: string; key: Uint8Array; limits: PlaintextLimits }
export type WorkerReply = { id: number; open?: OpenResult; sealed?: Sealed; preopened?: Preopened<PreparedPlaintext>; error?: string }
export type { WorkerRequest }

/**
 * Jobs handed to the worker at once: two, so it never waits a round trip for
 * the next, and no more, so the choice of what runs next stays with the fair
 * queue here instead of the worker's first-come message queue.
 */
const IN_FLIGHT = 2

interface Job {
  request: WithoutId<WorkerRequest>
  resolve: (reply: WorkerReply) => void
  reject: (err: Error) => void
}

/**
 * Runs big seals and opens (and large frames' parsing) on one worker thread.
 * What waits for it is served fairly across connections, costed by bytes
 * (util/fair-queue.ts): a connection with a backlog of 2 MB uploads cannot
 * make another connection's request wait behind all of them. The worker is
 * started on first use; if it dies, pending calls fail and the next call
 * starts a new one (worker-rpc.ts).
 */
export class FrameOffload {
  // Requests are copied to the worker, not transferred: the caller keeps its buffers.
  readonly #rpc = new WorkerRpc<WorkerRequest, WorkerReply>({ callerUrl: import.meta.url, baseName: 'frame-worker', name: 'frame' })
  readonly #queue = new FairQueue<Job>()
  #inFlight = 0

  constructor(readonly offloadBytes: number) {}

  /** `lane`: whose work this is (a connection id), for the fair queue. */
  async open(ciphertext: string, nonce: Uint8Array, key: Uint8Array, lane = ''): Promise<OpenResult> {
    // base64 length is 4/3 of the bytes: compare on the text to decide without decoding.
    if (ciphertext.length * 0.75 < this.offloadBytes) return openBase64(ciphertext, nonce, key)
    const reply = await this.#call(lane, ciphertext.length, { op: 'open', ciphertext, nonce, key })
    if (!reply.open) throw new Error(reply.error ?? 'frame worker failed')
    return reply.open
  }

  async seal(plaintext: Uint8Array, key: Uint8Array, lane = ''): Promise<Sealed> {
    if (plaintext.length < this.offloadBytes) return sealBase64(plaintext, key)
    const reply = await this.#call(lane, plaintext.length, { op: 'seal', plaintext, key })
    if (!reply.sealed) throw new Error(reply.error ?? 'frame worker failed')
    return reply.sealed
  }

  /** preopenFrame on the worker, its plaintext prepared there too: for frames big enough that parsing them would stall the event loop. */
  async preopen(frame: Uint8Array, sessionId: string, key: Uint8Array, limits: PlaintextLimits, lane = ''): Promise<Preopened<PreparedPlaintext>> {
    const reply = await this.#call(lane, frame.length, { op: 'preopen', frame, sessionId, key, limits })
    if (!reply.preopened) throw new Error(reply.error ?? 'frame worker failed')
    return reply.preopened
  }

  /** Jobs waiting for the worker (not yet handed to it). */
  get queued(): number {
    return this.#queue.size
  }

  /** Stops the worker; calls in flight reject, and so do those waiting. A later call starts a new one. */
  async close(): Promise<void> {
    for (let job = this.#queue.shift(); job; job = this.#queue.shift()) job.reject(new Error('frame worker closed'))
    await this.#rpc.close()
  }

  #call(lane: string, cost: number, request: WithoutId<WorkerRequest>): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#queue.push(lane, cost, { request, resolve, reject })
      this.#next()
    })
  }

  #next(): void {
    while (this.#inFlight < IN_FLIGHT) {
      const job = this.#queue.shift()
      if (!job) return
      this.#inFlight++
      this.#rpc.call(job.request).then(
        (reply) => this.#done(job.resolve, reply),
        (err: Error) => this.#done(job.reject, err),
      )
    }
  }

  #done<V>(settle: (v: V) => void, v: V): void {
    this.#inFlight--
    settle(v)
    this.#next()
  }
}
