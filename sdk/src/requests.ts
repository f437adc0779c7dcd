// The request book of one client: every call not yet answered, in call
// order, with its timer. A request is `pending` from the call until it is
// settled (once, by a reply, a timeout or a failure); `queued` until it is
// sent. Nothing here touches a socket.
import type { HostError } from './errors.js'

export interface Pending {
  id: string
  kind: 'request' | 'init'
  /** Operation name; 'session_init' for inits. */
  type: string
  /** The session the caller meant. */
  target: string
  fields: Record<string, unknown>
  newAttempt: boolean
  /** Inits: the key K sent with the init. */
  sessionKey: Uint8Array | undefined
  /** Frame bytes once sent; undefined while queued. */
  sentBytes: number | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  resolve: (value: unknown) => void
  reject: (err: HostError) => void
}

export class RequestBook {
  readonly #pending = new Map<string, Pending>()
  /** Not yet sent, in call order; settled entries are skipped when taken. */
  #queue: Pending[] = []

  add(p: Pending, first: boolean): void {
    this.#pending.set(p.id, p)
    if (first) this.#queue.unshift(p)
    else this.#queue.push(p)
  }

  /** Puts a request that could not be sent back at the head of the queue. */
  requeue(p: Pending): void {
    if (this.#pending.has(p.id)) this.#queue.unshift(p)
  }

  get(id: string): Pending | undefined {
    return this.#pending.get(id)
  }

  has(p: Pending): boolean {
    return this.#pending.get(p.id) === p
  }

  get hasQueued(): boolean {
    return this.#queue.length > 0
  }

  /** The next queued request still pending, removed from the queue. */
  next(): Pending | undefined {
    let p: Pending | undefined
    while ((p = this.#queue.shift()) !== undefined) if (this.has(p)) return p
    return undefined
  }

  /** True when an init for `target` is still waiting to be sent. */
  initQueuedFor(target: string): boolean {
    return this.#queue.some((q) => q.kind === 'init' && q.target === target && this.has(q))
  }

  /** Removes `p` from the book and stops its timer; false when it was already settled. */
  settle(p: Pending): boolean {
    if (!this.#pending.delete(p.id)) return false
    clearTimeout(p.timer)
    return true
  }

  /** Requests sent and not answered. */
  sent(): Pending[] {
    return [...this.#pending.values()].filter((p) => p.sentBytes !== undefined)
  }

  all(): Pending[] {
    return [...this.#pending.values()]
  }

  clearQueue(): void {
    this.#queue = []
  }
}
