// The request book of one client: every call not yet answered, in call
// order, with its timer. A request is `pending` from the call until it is
// settled (once, by a reply, a timeout or a failure); `queued` until it is
// sent, and queued again while it waits to be sent again after `unavailable`
// (retry-policy.ts). Nothing here touches a socket.
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
  /** Its place in the queue: call order, with the re-init of a reconnect ahead of everything (negative). */
  order?: number
  /** When its timeout runs out, on the client's monotonic clock (`performance.now()`). */
  deadline?: number
  /** A retry after `unavailable`: not sent again before this time (same clock). */
  notBefore?: number
  /** The `unavailable` answer a retry is waiting out; the request fails with it if its deadline passes first. */
  lastError?: HostError
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

  /**
   * Puts a request that is to be sent again back in its place: ahead of
   * every queued entry with a later `order`, behind the others. The queue
   * stays in call order (re-inits first), so what was called after it is
   * not sent before it.
   */
  requeueInOrder(p: Pending): void {
    if (!this.has(p)) return
    const order = p.order ?? 0
    const i = this.#queue.findIndex((q) => (q.order ?? 0) > order)
    if (i < 0) this.#queue.push(p)
    else this.#queue.splice(i, 0, p)
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

  /** The next queued request still pending, left in the queue (settled entries ahead of it are dropped). */
  peek(): Pending | undefined {
    let p: Pending | undefined
    while ((p = this.#queue[0]) !== undefined) {
      if (this.has(p)) return p
      this.#queue.shift()
    }
    return undefined
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
