// A session's conversation history: every message tagged with the attempt it
// belongs to, numbered by a session-wide `seq`. Bounded: past the bound an
// append is refused, never silently dropped.
import { badRequest, limitExceeded } from '../protocol/errors.js'
import type { HistoryMessage, Role } from '@rag-session-host/client/shared'

export type AttemptSelector = 'current' | 'all' | number

export interface HistoryQuery {
  attempt: AttemptSelector
  currentAttempt: number
  limit?: number | undefined
  beforeSeq?: number | undefined
}

export class History {
  readonly #messages: HistoryMessage[] = []
  readonly #perAttempt = new Map<number, number>()
  #nextSeq = 1

  constructor(
    private readonly maxMessages: number,
    private readonly maxChars: number,
  ) {}

  /** Messages stored across all attempts. */
  get total(): number {
    return this.#messages.length
  }

  countFor(attempt: number): number {
    return this.#perAttempt.get(attempt) ?? 0
  }

  /** The seq the next message gets. */
  get nextSeq(): number {
    return this.#nextSeq
  }

  /** Throws what append would, without appending: a change is checked before it is journaled. */
  check(content: string): void {
    // String length is UTF-16 code units, as the contract counts.
    if (content.length > this.maxChars) throw limitExceeded(`content is longer than ${this.maxChars} characters`)
    if (this.#messages.length >= this.maxMessages) throw limitExceeded(`history is full (${this.maxMessages} messages)`)
  }

  append(role: Role, content: string, attempt: number, ts: number): HistoryMessage {
    this.check(content)
    const message: HistoryMessage = { seq: this.#nextSeq, attempt, role, content, ts }
    this.put(message)
    return message
  }

  /** Stores a message as it was numbered (a journaled append, or one restored): no limits are checked. */
  put(message: HistoryMessage): void {
    if (message.seq < this.#nextSeq) throw new Error(`history seq ${message.seq} is behind ${this.#nextSeq}`)
    this.#messages.push(message)
    this.#nextSeq = message.seq + 1
    this.#perAttempt.set(message.attempt, this.countFor(message.attempt) + 1)
  }

  /** Every message, oldest first (a copy; messages themselves are never changed). */
  all(): HistoryMessage[] {
    return this.#messages.slice()
  }

  /** Oldest first; with `limit`, the newest `limit` of the selection. */
  query(q: HistoryQuery): HistoryMessage[] {
    const attempt = q.attempt === 'current' ? q.currentAttempt : q.attempt
    if (attempt !== 'all' && (attempt < 1 || attempt > q.currentAttempt)) {
      throw badRequest(`attempt must be between 1 and the current attempt (${q.currentAttempt})`)
    }
    // Messages are in seq order, so before_seq is a prefix: cut it by binary search.
    const end = q.beforeSeq === undefined ? this.#messages.length : this.#lowerBound(q.beforeSeq)
    const out: HistoryMessage[] = []
    const limit = q.limit ?? Infinity
    for (let i = end - 1; i >= 0 && out.length < limit; i--) {
      const m = this.#messages[i]!
      if (attempt === 'all' || m.attempt === attempt) out.push(m)
    }
    return out.reverse()
  }

  #lowerBound(seq: number): number {
    let lo = 0
    let hi = this.#messages.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#messages[mid]!.seq < seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
