// Readiness: whether the host takes new work, and if not, why. `/ready` (the
// balancer's probe) and new WebSocket upgrades are refused while the host is
// starting or shutting down, while the journal refuses writes, and while it
// is under pressure: the mean event-loop delay or the heap in use past
// READY_MAX_EVENT_LOOP_DELAY_MS / READY_MAX_HEAP_USED_BYTES. Connections
// already open are never refused by it; they keep being served.
//
// @fastify/under-pressure measures (the mean event-loop delay of each
// second, the heap in use); this decides. Its own per-request refusal is not
// used: only /ready and new upgrades may be refused, open connections never.
// Each second the latest measure is read, and the start and end of a spell
// are logged once, not per refused request.
import { getHeapStatistics } from 'node:v8'
import type { Logger } from 'pino'

export type NotReadyReason = 'not_ready' | 'shutting_down' | 'journal_unwritable' | 'event_loop_delay' | 'heap'
type PressureReason = Extract<NotReadyReason, 'event_loop_delay' | 'heap'>

export interface Refusal {
  /** The HTTP status to answer (503). */
  status: number
  reason: NotReadyReason
  /** For the Retry-After header, in seconds. */
  retryAfterS: number
}

/** What the routes need: why new work is refused, or undefined while ready. */
export interface ReadinessView {
  refusal(): Refusal | undefined
  ready(): boolean
}

export interface ReadinessOptions {
  log: Logger
  /** Whether the journal takes writes (false between journal.failed and journal.writable). */
  journalWritable: () => boolean
  /** JOURNAL_RETRY_MS: how soon the journal tries again, the Retry-After while it is unwritable. */
  journalRetryMs: number
  /** Mean event-loop delay (ms) past which the host is under pressure; 0: never. */
  maxEventLoopDelayMs: number
  /** Heap in use (bytes) past which the host is under pressure; 0: 90 % of the V8 heap limit. */
  maxHeapUsedBytes: number
  /** The latest measure (under-pressure's `memoryUsage()`): mean event-loop delay in ms (Infinity when the loop did not turn), heap in use. */
  measure: () => { eventLoopDelay: number; heapUsed: number }
  /** How often the measure is read (default 1000 ms, under-pressure's sample interval). */
  sampleIntervalMs?: number
}

export const DEFAULT_SAMPLE_MS = 1000
/** Retry-After under pressure: a few samples' time, so refused clients do not add to the load every second. */
const PRESSURE_RETRY_S = 5
/** Retry-After while starting or shutting down (the contract's 1 s; the balancer moves clients on meanwhile). */
const LIFECYCLE_RETRY_S = 1

export class Readiness implements ReadinessView {
  readonly #o: ReadinessOptions
  readonly #maxHeap: number
  #timer: NodeJS.Timeout | undefined
  #phase: 'starting' | 'ready' | 'stopping' = 'starting'
  #pressure: { reason: PressureReason; since: number } | undefined

  constructor(opts: ReadinessOptions) {
    this.#o = opts
    this.#maxHeap = opts.maxHeapUsedBytes > 0 ? opts.maxHeapUsedBytes : Math.floor(getHeapStatistics().heap_size_limit * 0.9)
  }

  /** The host listens: ready unless something below says otherwise; pressure is sampled from now on. */
  started(): void {
    if (this.#phase !== 'starting') return
    this.#phase = 'ready'
    this.#timer = setInterval(() => this.#sample(), this.#o.sampleIntervalMs ?? DEFAULT_SAMPLE_MS)
    this.#timer.unref()
  }

  /** Shutdown began: refused from now on; sampling stops. */
  stopping(): void {
    this.#phase = 'stopping'
    clearInterval(this.#timer)
  }

  refusal(): Refusal | undefined {
    if (this.#phase === 'stopping') return { status: 503, reason: 'shutting_down', retryAfterS: LIFECYCLE_RETRY_S }
    if (this.#phase === 'starting') return { status: 503, reason: 'not_ready', retryAfterS: LIFECYCLE_RETRY_S }
    if (!this.#o.journalWritable()) return { status: 503, reason: 'journal_unwritable', retryAfterS: Math.max(1, Math.ceil(this.#o.journalRetryMs / 1000)) }
    if (this.#pressure) return { status: 503, reason: this.#pressure.reason, retryAfterS: PRESSURE_RETRY_S }
    return undefined
  }

  ready(): boolean {
    return this.refusal() === undefined
  }

  #sample(): void {
    const now = performance.now()
    const reading = this.#read()
    const was = this.#pressure
    if (reading && reading.reason !== was?.reason) {
      this.#pressure = { reason: reading.reason, since: now }
      this.#o.log.warn(
        { event: 'host.under_pressure', reason: reading.reason, value: reading.value, limit: reading.limit },
        'under pressure: /ready answers 503 and new connections are refused',
      )
    } else if (!reading && was) {
      this.#pressure = undefined
      this.#o.log.info({ event: 'host.pressure_relieved', reason: was.reason, ms: Math.round(now - was.since) }, 'pressure relieved: accepting new connections again')
    }
  }

  /** The first threshold the latest measure passes, if any (delay in ms, heap in bytes). */
  #read(): { reason: PressureReason; value: number; limit: number } | undefined {
    const { eventLoopDelay, heapUsed } = this.#o.measure()
    const maxDelay = this.#o.maxEventLoopDelayMs
    if (maxDelay > 0 && eventLoopDelay > maxDelay) {
      return { reason: 'event_loop_delay', value: Number.isFinite(eventLoopDelay) ? Math.round(eventLoopDelay) : -1, limit: maxDelay }
    }
    if (heapUsed > this.#maxHeap) return { reason: 'heap', value: heapUsed, limit: this.#maxHeap }
    return undefined
  }
}
